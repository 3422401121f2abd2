import { failureFromEvent } from '../upstream/events.js';
import type { ResponsesEvent } from '../upstream/types.js';
import { itemKey, num, rec, str, type Rec } from './event-readers.js';

/**
 * Responses SSE events → chat.completion.chunk objects, one event at a time, with all memory in
 * an explicit state object (no closures, no I/O).
 *
 * - The first chunk carries `delta.role: "assistant"` together with the first content; nothing
 *   is produced for response.created / in_progress, so a caller that has written nothing yet can
 *   still answer a response.failed with a plain JSON error.
 * - Text → `delta.content`; reasoning summary (and raw reasoning text) → `delta.reasoning_content`,
 *   parts separated by a blank line; refusals → `delta.refusal`.
 * - Function calls: on output_item.added one chunk with {index, id: call_id, type, function:{name,
 *   arguments:""}}, then argument deltas as {index, function:{arguments}}. Custom (free-form)
 *   tool calls the same way as {index, id, type:"custom", custom:{name, input}} / {index,
 *   custom:{input}}. A legacy `functions` client (state.legacyFunctions) gets `delta.function_call`
 *   ({name, arguments:""}, then {arguments}) and finish_reason "function_call" instead.
 * - `.done` events only produce output when no delta was seen for that part (a backend that
 *   skips deltas still yields the full text).
 * - Exactly one finish_reason: response.completed → "tool_calls" if a function call was made,
 *   else "stop"; response.incomplete → "content_filter" for that reason, else "length".
 * - With include_usage, a final chunk with `choices: []` and `usage`.
 * - response.failed / error → throws UpstreamFailure('response_failed'); the caller sends
 *   chatErrorChunk() and `[DONE]` (or a JSON error if nothing was written yet).
 */

export type ChatFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export type ChatToolCallDelta =
  | { index: number; id?: string; type?: 'function'; function: { name?: string; arguments: string } }
  | { index: number; id?: string; type?: 'custom'; custom: { name?: string; input: string } };

export interface ChatDelta {
  role?: 'assistant';
  content?: string;
  reasoning_content?: string;
  refusal?: string;
  tool_calls?: ChatToolCallDelta[];
  /** Legacy function calling (the request used `functions`). */
  function_call?: { name?: string; arguments: string };
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: number; delta: ChatDelta; logprobs: null; finish_reason: ChatFinishReason | null }[];
  usage?: ChatUsage;
}

interface ToolCallTrack {
  index: number;
  callId: string;
  name: string;
  /** custom_tool_call items carry free-form `input` instead of JSON `arguments`. */
  kind: 'function' | 'custom';
  argumentsSent: boolean;
}

export interface ChatStreamState {
  readonly id: string;
  readonly model: string;
  readonly created: number;
  readonly includeUsage: boolean;
  /** The request used legacy `functions`: function calls go out as `function_call`. */
  readonly legacyFunctions: boolean;
  roleSent: boolean;
  /** Function calls by item id and by `#<output_index>`. */
  toolCalls: Map<string, ToolCallTrack>;
  toolCallCount: number;
  /** `<item>:<content_index>` of text / refusal parts that produced output. */
  textPartsSent: Set<string>;
  /** `<item>:<summary_index>` (or `<item>:c<content_index>`) of reasoning parts that produced output. */
  reasoningPartsSent: Set<string>;
  lastReasoningPart: string | null;
  usage: ChatUsage | null;
  finishReason: ChatFinishReason | null;
  /** The finish chunk (and usage chunk) went out, or the stream failed: later events are ignored. */
  done: boolean;
}

export function createChatStreamState(init: { id: string; model: string; created: number; includeUsage: boolean; legacyFunctions?: boolean }): ChatStreamState {
  return {
    id: init.id,
    model: init.model,
    created: init.created,
    includeUsage: init.includeUsage,
    legacyFunctions: init.legacyFunctions ?? false,
    roleSent: false,
    toolCalls: new Map(),
    toolCallCount: 0,
    textPartsSent: new Set(),
    reasoningPartsSent: new Set(),
    lastReasoningPart: null,
    usage: null,
    finishReason: null,
    done: false,
  };
}

function partKey(event: ResponsesEvent, indexField: 'content_index' | 'summary_index'): string {
  return `${itemKey(event)}:${num(event[indexField]) ?? 0}`;
}

/** The part key of a text delta read from raw bytes (what partKey gives for the parsed event). */
export function textDeltaPartKey(itemId: string | undefined, outputIndex: number | undefined, contentIndex: number | undefined): string {
  return `${itemId ?? `#${outputIndex ?? 0}`}:${contentIndex ?? 0}`;
}

/**
 * What chatChunksForEvent does to the state for a `response.output_text.delta`, for a caller
 * that writes the chunk itself from the upstream's bytes (ChatChunkSse.contentPrefix/Suffix
 * around the delta's JSON literal): true when that chunk is to be sent ({content: delta}, no
 * role, no finish_reason); false when the event must take the ordinary path instead (the role
 * chunk is not out yet, or the stream is done), with the state unchanged.
 */
export function acceptRawTextDelta(state: ChatStreamState, key: string, empty: boolean): boolean {
  if (state.done || !state.roleSent) return false;
  if (!empty) noteTextPart(state, key);
  return true;
}

/** A text or refusal part produced output: its `.done` event will not repeat it. */
function noteTextPart(state: ChatStreamState, key: string): void {
  state.textPartsSent.add(key);
}

// ---- chunk builders -------------------------------------------------------------------------------

function chunk(state: ChatStreamState, delta: ChatDelta, finishReason: ChatFinishReason | null = null): ChatCompletionChunk {
  if (!state.roleSent) {
    state.roleSent = true;
    delta = { role: 'assistant', ...delta };
  }
  return {
    id: state.id,
    object: 'chat.completion.chunk',
    created: state.created,
    model: state.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
}

/**
 * The opening chunk (`delta: {role:"assistant", content:""}`), sent as soon as the stream is
 * committed, before the model produced anything: a client sees the answer start at once.
 */
export function roleChunk(state: ChatStreamState): ChatCompletionChunk[] {
  if (state.roleSent || state.done) return [];
  return [chunk(state, { content: '' })];
}

function usageChunk(state: ChatStreamState, usage: ChatUsage): ChatCompletionChunk {
  return { id: state.id, object: 'chat.completion.chunk', created: state.created, model: state.model, choices: [], usage };
}

/** Chat `usage` with every count zero: what a completion reports when the upstream sent none. */
export function emptyChatUsage(): ChatUsage {
  return chatUsageFrom({})!;
}

/** Responses `usage` → chat `usage` (zeros where the upstream gave nothing). */
export function chatUsageFrom(usage: unknown): ChatUsage | null {
  const u = rec(usage);
  if (!u) return null;
  const prompt = num(u['input_tokens']) ?? 0;
  const completion = num(u['output_tokens']) ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: num(u['total_tokens']) ?? prompt + completion,
    prompt_tokens_details: { cached_tokens: num(rec(u['input_tokens_details'])?.['cached_tokens']) ?? 0 },
    completion_tokens_details: { reasoning_tokens: num(rec(u['output_tokens_details'])?.['reasoning_tokens']) ?? 0 },
  };
}

function findToolCall(state: ChatStreamState, event: ResponsesEvent): ToolCallTrack | undefined {
  const item = rec(event['item']);
  const id = str(event['item_id']) ?? str(item?.['id']);
  const byId = id === undefined ? undefined : state.toolCalls.get(id);
  if (byId) return byId;
  const index = num(event['output_index']);
  return index === undefined ? undefined : state.toolCalls.get(`#${index}`);
}

function startToolCall(state: ChatStreamState, event: ResponsesEvent, item: Rec): ToolCallTrack {
  const track: ToolCallTrack = {
    index: state.toolCallCount++,
    callId: str(item['call_id']) ?? str(item['id']) ?? `call_${state.toolCallCount}`,
    name: str(item['name']) ?? '',
    kind: item['type'] === 'custom_tool_call' ? 'custom' : 'function',
    argumentsSent: false,
  };
  const id = str(item['id']);
  if (id !== undefined) state.toolCalls.set(id, track);
  const index = num(event['output_index']);
  if (index !== undefined) state.toolCalls.set(`#${index}`, track);
  return track;
}

const TOOL_CALL_ITEMS: ReadonlySet<unknown> = new Set(['function_call', 'custom_tool_call']);

/** The first chunk of a call: id, type and name (and the whole arguments when they came at once). */
function toolCallStart(state: ChatStreamState, track: ToolCallTrack, args = ''): ChatCompletionChunk {
  if (track.kind === 'custom') return chunk(state, { tool_calls: [{ index: track.index, id: track.callId, type: 'custom', custom: { name: track.name, input: args } }] });
  if (state.legacyFunctions) return chunk(state, { function_call: { name: track.name, arguments: args } });
  return chunk(state, { tool_calls: [{ index: track.index, id: track.callId, type: 'function', function: { name: track.name, arguments: args } }] });
}

/** More of a call's arguments (or custom input). */
function toolCallMore(state: ChatStreamState, track: ToolCallTrack, args: string): ChatCompletionChunk {
  track.argumentsSent = true;
  if (track.kind === 'custom') return chunk(state, { tool_calls: [{ index: track.index, custom: { input: args } }] });
  if (state.legacyFunctions) return chunk(state, { function_call: { arguments: args } });
  return chunk(state, { tool_calls: [{ index: track.index, function: { arguments: args } }] });
}

function finishReasonForCompleted(state: ChatStreamState): ChatFinishReason {
  if (state.toolCallCount === 0) return 'stop';
  return state.legacyFunctions ? 'function_call' : 'tool_calls';
}

function reasoningChunk(state: ChatStreamState, key: string, text: string): ChatCompletionChunk[] {
  if (text === '') return [];
  const separator = state.lastReasoningPart !== null && state.lastReasoningPart !== key ? '\n\n' : '';
  state.lastReasoningPart = key;
  state.reasoningPartsSent.add(key);
  return [chunk(state, { reasoning_content: separator + text })];
}

function textChunk(state: ChatStreamState, key: string, text: string, field: 'content' | 'refusal'): ChatCompletionChunk[] {
  if (text === '') return [];
  noteTextPart(state, key);
  return [chunk(state, field === 'content' ? { content: text } : { refusal: text })];
}

function finishChunks(state: ChatStreamState, reason: ChatFinishReason): ChatCompletionChunk[] {
  state.done = true;
  state.finishReason = reason;
  const out = [chunk(state, {}, reason)];
  if (state.includeUsage && state.usage) out.push(usageChunk(state, state.usage));
  return out;
}

function finishReasonForIncomplete(response: Rec | undefined): ChatFinishReason {
  const reason = str(rec(response?.['incomplete_details'])?.['reason']);
  return reason === 'content_filter' ? 'content_filter' : 'length';
}

// ---- the event handler --------------------------------------------------------------------------

export function chatChunksForEvent(state: ChatStreamState, event: ResponsesEvent): ChatCompletionChunk[] {
  if (state.done) return [];
  switch (event.type) {
    case 'response.output_text.delta':
      return textChunk(state, partKey(event, 'content_index'), str(event['delta']) ?? '', 'content');

    case 'response.output_text.done': {
      const key = partKey(event, 'content_index');
      return state.textPartsSent.has(key) ? [] : textChunk(state, key, str(event['text']) ?? '', 'content');
    }

    case 'response.refusal.delta':
      return textChunk(state, partKey(event, 'content_index'), str(event['delta']) ?? '', 'refusal');

    case 'response.refusal.done': {
      const key = partKey(event, 'content_index');
      return state.textPartsSent.has(key) ? [] : textChunk(state, key, str(event['refusal']) ?? '', 'refusal');
    }

    case 'response.reasoning_summary_text.delta':
      return reasoningChunk(state, partKey(event, 'summary_index'), str(event['delta']) ?? '');

    case 'response.reasoning_summary_text.done': {
      const key = partKey(event, 'summary_index');
      return state.reasoningPartsSent.has(key) ? [] : reasoningChunk(state, key, str(event['text']) ?? '');
    }

    case 'response.reasoning_text.delta':
      return reasoningChunk(state, `${itemKey(event)}:c${num(event['content_index']) ?? 0}`, str(event['delta']) ?? '');

    case 'response.reasoning_text.done': {
      const key = `${itemKey(event)}:c${num(event['content_index']) ?? 0}`;
      return state.reasoningPartsSent.has(key) ? [] : reasoningChunk(state, key, str(event['text']) ?? '');
    }

    case 'response.output_item.added': {
      const item = rec(event['item']);
      if (!item || !TOOL_CALL_ITEMS.has(item['type']) || findToolCall(state, event)) return [];
      return [toolCallStart(state, startToolCall(state, event, item))];
    }

    case 'response.function_call_arguments.delta':
    case 'response.custom_tool_call_input.delta': {
      const track = findToolCall(state, event);
      const delta = str(event['delta']) ?? '';
      if (!track || delta === '') return [];
      return [toolCallMore(state, track, delta)];
    }

    case 'response.function_call_arguments.done':
    case 'response.custom_tool_call_input.done': {
      const track = findToolCall(state, event);
      const args = str(event[event.type === 'response.custom_tool_call_input.done' ? 'input' : 'arguments']) ?? '';
      if (!track || track.argumentsSent || args === '') return [];
      return [toolCallMore(state, track, args)];
    }

    case 'response.output_item.done':
      return outputItemDone(state, event);

    case 'response.completed': {
      const response = rec(event['response']);
      state.usage = chatUsageFrom(response?.['usage']);
      return finishChunks(state, finishReasonForCompleted(state));
    }

    case 'response.incomplete': {
      const response = rec(event['response']);
      state.usage = chatUsageFrom(response?.['usage']);
      return finishChunks(state, finishReasonForIncomplete(response));
    }

    case 'response.failed':
    case 'error': {
      state.done = true;
      throw failureFromEvent(event)!;
    }

    // response.created, response.in_progress, response.queued, content_part.added/done,
    // reasoning_summary_part.added/done and anything unknown carry nothing a chat client shows.
    default:
      return [];
  }
}

/** The whole item arrives at output_item.done: emit whatever its deltas did not already carry. */
function outputItemDone(state: ChatStreamState, event: ResponsesEvent): ChatCompletionChunk[] {
  const item = rec(event['item']);
  if (!item) return [];
  const key = itemKey(event);
  switch (item['type']) {
    case 'function_call':
    case 'custom_tool_call': {
      const args = str(item[item['type'] === 'custom_tool_call' ? 'input' : 'arguments']) ?? '';
      const known = findToolCall(state, event);
      if (!known) {
        const track = startToolCall(state, event, item);
        track.argumentsSent = true;
        return [toolCallStart(state, track, args)];
      }
      if (known.argumentsSent || args === '') return [];
      return [toolCallMore(state, known, args)];
    }
    case 'message': {
      const content = Array.isArray(item['content']) ? (item['content'] as unknown[]) : [];
      const out: ChatCompletionChunk[] = [];
      content.forEach((p, j) => {
        const part = rec(p);
        const pk = `${key}:${j}`;
        if (!part || state.textPartsSent.has(pk)) return;
        if (part['type'] === 'output_text') out.push(...textChunk(state, pk, str(part['text']) ?? '', 'content'));
        if (part['type'] === 'refusal') out.push(...textChunk(state, pk, str(part['refusal']) ?? '', 'refusal'));
      });
      return out;
    }
    case 'reasoning': {
      const summary = Array.isArray(item['summary']) ? (item['summary'] as unknown[]) : [];
      const out: ChatCompletionChunk[] = [];
      summary.forEach((p, j) => {
        const pk = `${key}:${j}`;
        if (state.reasoningPartsSent.has(pk)) return;
        out.push(...reasoningChunk(state, pk, str(rec(p)?.['text']) ?? ''));
      });
      return out;
    }
    default:
      return [];
  }
}

/**
 * Final chunk(s) when the event stream ended without the translator producing a finish chunk
 * (the caller decides whether that is an error; this only guarantees exactly one finish_reason).
 */
export function finishChatStream(state: ChatStreamState): ChatCompletionChunk[] {
  if (state.done) return [];
  return finishChunks(state, finishReasonForCompleted(state));
}

/**
 * The in-band error a streaming client gets when the upstream fails after chunks were sent;
 * the OpenAI SDKs raise it as an APIError. Send `data: [DONE]` after it.
 */
export function chatErrorChunk(
  state: ChatStreamState,
  err: { message: string; type: string; code: string | null; param?: string | null },
): { id: string; object: 'chat.completion.chunk'; created: number; model: string; choices: []; error: { message: string; type: string; code: string | null; param: string | null } } {
  state.done = true;
  return {
    id: state.id,
    object: 'chat.completion.chunk',
    created: state.created,
    model: state.model,
    choices: [],
    error: { message: err.message, type: err.type, code: err.code, param: err.param ?? null },
  };
}

/** What follows a content chunk's content string (the same for every stream). */
const CONTENT_SUFFIX = Buffer.from('},"logprobs":null,"finish_reason":null}]}\n\n', 'latin1');

/**
 * Chunks → SSE text (`data: {json}\n\n`) from a per-stream template: the part every chunk of a
 * stream shares (id, object, created, model) is serialised once, when the stream starts; per
 * chunk only its delta and finish_reason are. The text is what JSON.stringify(chunk) gives.
 */
export class ChatChunkSse {
  private readonly head: string;
  /** A content chunk's bytes up to its content string, and after it: `prefix + JSON literal + suffix` is the chunk's SSE event. */
  readonly contentPrefix: Buffer;
  readonly contentSuffix: Buffer = CONTENT_SUFFIX;

  constructor(state: Pick<ChatStreamState, 'id' | 'created' | 'model'>) {
    const head = `data: {"id":${JSON.stringify(state.id)},"object":"chat.completion.chunk","created":${JSON.stringify(state.created)},"model":${JSON.stringify(state.model)},"choices":`;
    this.contentPrefix = Buffer.from(`${head}[{"index":0,"delta":{"content":`, 'utf8');
    // read back from those bytes: one flat string, where the template literal leaves V8 a tree of
    // ~14 concatenation nodes that an open stream would keep (~0.45 KiB)
    this.head = this.contentPrefix.toString('utf8', 0, Buffer.byteLength(head, 'utf8'));
  }

  text(chunk: ChatCompletionChunk): string {
    const choice = chunk.choices.length === 1 && chunk.usage === undefined ? chunk.choices[0]! : undefined;
    if (!choice || choice.index !== 0 || choice.logprobs !== null) return `data: ${JSON.stringify(chunk)}\n\n`;
    const finish = choice.finish_reason === null ? 'null' : JSON.stringify(choice.finish_reason);
    return `${this.head}[{"index":0,"delta":${JSON.stringify(choice.delta)},"logprobs":null,"finish_reason":${finish}}]}\n\n`;
  }
}
