import { failureFromEvent } from '../upstream/events.js';
import type { ResponsesEvent } from '../upstream/types.js';
import { itemKey, num, rec, str, type Rec } from './event-readers.js';
import { SIGNATURE_PREFIX, type ThinkingDisplay } from './messages-to-responses.js';

/**
 * Responses SSE events → Anthropic Messages stream events, one upstream event at a time, with all
 * memory in an explicit state object (no I/O). The order is Anthropic's: `message_start`, per
 * block `content_block_start` / `content_block_delta`* / `content_block_stop`, then
 * `message_delta` (stop_reason, stop_sequence, usage) and `message_stop`.
 *
 * - Text → a `text` block per output message (`text_delta`); function calls → `tool_use` blocks
 *   (`input_json_delta`); reasoning → a `thinking` block (`thinking_delta` with the summary,
 *   then `signature_delta` carrying the encrypted reasoning, so a client that sends the block
 *   back gives the upstream its reasoning again) when the request asked for thinking.
 * - The proxy enforces `stop_sequences`: text is held back by (longest sequence − 1) characters
 *   until it cannot start a match; on a match the text before it is sent and the message ends with
 *   stop_reason `stop_sequence`. It enforces `max_tokens` with an estimate of 4 characters per
 *   token over everything sent (text, thinking, tool input): past it the message ends with
 *   `max_tokens`. After such a cut `state.done` is true and the caller stops reading upstream.
 * - `message_start` is produced with the first content, never for response.created /
 *   in_progress, so a caller that has written nothing yet can still answer a failure with a
 *   plain error body.
 */

export type AnthropicStopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';

export type AnthropicStreamEvent = { type: string } & Record<string, unknown>;

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  server_tool_use?: { web_search_requests: number };
}

interface OpenBlock {
  index: number;
  kind: 'text' | 'thinking' | 'tool_use';
  /** The output item it belongs to. */
  item: string;
  /** Text not yet sent (stop-sequence hold-back). */
  held: string;
  /** tool_use: input JSON sent; thinking: summary text sent. */
  sent: boolean;
}

export interface MessagesStreamState {
  readonly id: string;
  readonly model: string;
  readonly thinking: ThinkingDisplay;
  readonly stopSequences: readonly string[];
  /** Characters held back from a text block: the longest stop sequence minus one. */
  readonly holdBack: number;
  /** max_tokens × 4: the characters that may be sent. */
  readonly charBudget: number;
  /** Estimated input tokens for message_start (the real count comes with message_delta). */
  readonly inputTokensEstimate: number;
  started: boolean;
  nextIndex: number;
  open: OpenBlock | null;
  /** Keys of text/summary parts whose deltas were seen (so their .done events add nothing). */
  partsSeen: Set<string>;
  /** Output items already turned into a block, and finished ones. */
  itemsStarted: Set<string>;
  itemsDone: Set<string>;
  charsSent: number;
  sawToolUse: boolean;
  /** Web searches the upstream ran (usage.server_tool_use.web_search_requests). */
  webSearches: number;
  usage: AnthropicUsage | null;
  stopReason: AnthropicStopReason | null;
  stopSequence: string | null;
  done: boolean;
}

export function createMessagesStreamState(init: {
  id: string;
  model: string;
  thinking: ThinkingDisplay;
  maxTokens: number;
  stopSequences: readonly string[];
  inputTokensEstimate: number;
}): MessagesStreamState {
  return {
    id: init.id,
    model: init.model,
    thinking: init.thinking,
    stopSequences: init.stopSequences,
    holdBack: Math.max(0, ...init.stopSequences.map((s) => s.length - 1)),
    charBudget: init.maxTokens * 4,
    inputTokensEstimate: init.inputTokensEstimate,
    started: false,
    nextIndex: 0,
    open: null,
    partsSeen: new Set(),
    itemsStarted: new Set(),
    itemsDone: new Set(),
    charsSent: 0,
    sawToolUse: false,
    webSearches: 0,
    usage: null,
    stopReason: null,
    stopSequence: null,
    done: false,
  };
}

/** Responses usage → Anthropic usage (input_tokens excludes the cached part, as Anthropic counts it). */
export function anthropicUsageFrom(usage: unknown, fallbackInput: number, fallbackOutput: number): AnthropicUsage {
  const u = rec(usage);
  const input = num(u?.['input_tokens']) ?? fallbackInput;
  const cached = num(rec(u?.['input_tokens_details'])?.['cached_tokens']) ?? 0;
  return {
    input_tokens: Math.max(0, input - cached),
    output_tokens: num(u?.['output_tokens']) ?? fallbackOutput,
    cache_read_input_tokens: cached,
    cache_creation_input_tokens: 0,
  };
}

// ---- event builders -------------------------------------------------------------------------------

function start(state: MessagesStreamState): AnthropicStreamEvent[] {
  if (state.started) return [];
  state.started = true;
  return [
    {
      type: 'message_start',
      message: {
        id: state.id,
        type: 'message',
        role: 'assistant',
        model: state.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: state.inputTokensEstimate, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
      },
    },
  ];
}

function openBlock(state: MessagesStreamState, kind: OpenBlock['kind'], item: string, contentBlock: Rec): AnthropicStreamEvent[] {
  const out = [...start(state), ...closeBlock(state)];
  if (state.done) return out;
  const index = state.nextIndex++;
  state.open = { index, kind, item, held: '', sent: false };
  state.itemsStarted.add(item);
  out.push({ type: 'content_block_start', index, content_block: contentBlock });
  return out;
}

function closeBlock(state: MessagesStreamState): AnthropicStreamEvent[] {
  const open = state.open;
  if (!open) return [];
  const out: AnthropicStreamEvent[] = [];
  if (open.kind === 'text' && open.held !== '') {
    const held = open.held;
    open.held = '';
    out.push(...sendChars(state, held, (text) => ({ type: 'text_delta', text })));
    if (state.done) return out; // sendChars closed the block and ended the message
  }
  state.open = null;
  out.push({ type: 'content_block_stop', index: open.index });
  return out;
}

/** Sends `text` as a delta within the char budget; past it ends the message with max_tokens. */
function sendChars(state: MessagesStreamState, text: string, delta: (t: string) => Rec): AnthropicStreamEvent[] {
  if (text === '' || !state.open) return [];
  const room = state.charBudget - state.charsSent;
  const fits = text.length <= room;
  const part = fits ? text : text.slice(0, Math.max(0, room));
  const out: AnthropicStreamEvent[] = [];
  if (part !== '') {
    state.charsSent += part.length;
    out.push({ type: 'content_block_delta', index: state.open.index, delta: delta(part) });
  }
  if (!fits) out.push(...end(state, 'max_tokens', null));
  return out;
}

/** Closes the open block and ends the message (message_delta + message_stop). */
function end(state: MessagesStreamState, reason: AnthropicStopReason, sequence: string | null): AnthropicStreamEvent[] {
  const out = [...start(state)];
  if (state.open) {
    out.push({ type: 'content_block_stop', index: state.open.index });
    state.open = null;
  }
  state.done = true;
  state.stopReason = reason;
  state.stopSequence = sequence;
  const estimatedOutput = Math.ceil(state.charsSent / 4);
  const counted = state.usage && reason !== 'max_tokens' && reason !== 'stop_sequence' ? state.usage : { ...(state.usage ?? anthropicUsageFrom(undefined, state.inputTokensEstimate, 0)), output_tokens: estimatedOutput };
  const usage = state.webSearches > 0 ? { ...counted, server_tool_use: { web_search_requests: state.webSearches } } : counted;
  out.push({ type: 'message_delta', delta: { stop_reason: reason, stop_sequence: sequence }, usage });
  out.push({ type: 'message_stop' });
  return out;
}

// ---- text with stop sequences ---------------------------------------------------------------------

function textFor(state: MessagesStreamState, item: string, text: string): AnthropicStreamEvent[] {
  if (text === '') return [];
  const out: AnthropicStreamEvent[] = [];
  if (state.open?.kind !== 'text' || state.open.item !== item) out.push(...openBlock(state, 'text', item, { type: 'text', text: '' }));
  const open = state.open;
  if (state.done || !open) return out;
  open.held += text;
  const match = earliestStop(open.held, state.stopSequences);
  if (match) {
    const before = open.held.slice(0, match.at);
    open.held = '';
    out.push(...sendChars(state, before, (t) => ({ type: 'text_delta', text: t })));
    if (!state.done) out.push(...end(state, 'stop_sequence', match.sequence));
    return out;
  }
  const safe = open.held.length - state.holdBack;
  if (safe > 0) {
    const send = open.held.slice(0, safe);
    open.held = open.held.slice(safe);
    out.push(...sendChars(state, send, (t) => ({ type: 'text_delta', text: t })));
  }
  return out;
}

function earliestStop(text: string, sequences: readonly string[]): { at: number; sequence: string } | undefined {
  let best: { at: number; sequence: string } | undefined;
  for (const sequence of sequences) {
    const at = text.indexOf(sequence);
    if (at >= 0 && (!best || at < best.at)) best = { at, sequence };
  }
  return best;
}

// ---- thinking and tool use ------------------------------------------------------------------------

function thinkingText(state: MessagesStreamState, item: string, key: string, text: string): AnthropicStreamEvent[] {
  if (state.thinking !== 'summarized' || text === '') return [];
  const out: AnthropicStreamEvent[] = [];
  if (state.open?.kind !== 'thinking' || state.open.item !== item) out.push(...openBlock(state, 'thinking', item, { type: 'thinking', thinking: '', signature: '' }));
  if (state.done || !state.open) return out;
  const separator = state.open.sent && !state.partsSeen.has(key) ? '\n\n' : '';
  state.partsSeen.add(key);
  state.open.sent = true;
  out.push(...sendChars(state, separator + text, (t) => ({ type: 'thinking_delta', thinking: t })));
  return out;
}

function reasoningDone(state: MessagesStreamState, event: ResponsesEvent, item: Rec): AnthropicStreamEvent[] {
  if (state.thinking === 'none') return [];
  const key = itemKey(event);
  const out: AnthropicStreamEvent[] = [];
  const summary = Array.isArray(item['summary']) ? (item['summary'] as unknown[]) : [];
  summary.forEach((p, j) => {
    const pk = `${key}:${j}`;
    if (!state.partsSeen.has(pk)) out.push(...thinkingText(state, key, pk, str(rec(p)?.['text']) ?? ''));
  });
  if (state.done) return out;
  const encrypted = str(item['encrypted_content']);
  if (state.open?.kind !== 'thinking' || state.open.item !== key) {
    if (!encrypted) return out; // nothing to show and nothing to hand back
    out.push(...openBlock(state, 'thinking', key, { type: 'thinking', thinking: '', signature: '' }));
  }
  if (state.done || !state.open) return out;
  if (encrypted) out.push({ type: 'content_block_delta', index: state.open.index, delta: { type: 'signature_delta', signature: SIGNATURE_PREFIX + encrypted } });
  out.push(...closeBlock(state));
  return out;
}

function toolStart(state: MessagesStreamState, key: string, item: Rec): AnthropicStreamEvent[] {
  state.sawToolUse = true;
  return openBlock(state, 'tool_use', key, { type: 'tool_use', id: str(item['call_id']) ?? str(item['id']) ?? key, name: str(item['name']) ?? '', input: {} });
}

function toolInput(state: MessagesStreamState, key: string, json: string): AnthropicStreamEvent[] {
  if (json === '' || state.open?.kind !== 'tool_use' || state.open.item !== key) return [];
  state.open.sent = true;
  return sendChars(state, json, (t) => ({ type: 'input_json_delta', partial_json: t }));
}

// ---- the event handler ----------------------------------------------------------------------------

export function messagesEventsForEvent(state: MessagesStreamState, event: ResponsesEvent): AnthropicStreamEvent[] {
  if (state.done) return [];
  switch (event.type) {
    case 'response.output_text.delta': {
      state.partsSeen.add(`${itemKey(event)}:${num(event['content_index']) ?? 0}`);
      return textFor(state, itemKey(event), str(event['delta']) ?? '');
    }
    case 'response.output_text.done': {
      const key = `${itemKey(event)}:${num(event['content_index']) ?? 0}`;
      if (state.partsSeen.has(key)) return [];
      state.partsSeen.add(key);
      return textFor(state, itemKey(event), str(event['text']) ?? '');
    }
    case 'response.refusal.delta':
      state.partsSeen.add(`${itemKey(event)}:${num(event['content_index']) ?? 0}`);
      return textFor(state, itemKey(event), str(event['delta']) ?? '');

    case 'response.reasoning_summary_text.delta': {
      const key = `${itemKey(event)}:${num(event['summary_index']) ?? 0}`;
      return thinkingText(state, itemKey(event), key, str(event['delta']) ?? '');
    }
    case 'response.reasoning_summary_text.done': {
      const key = `${itemKey(event)}:${num(event['summary_index']) ?? 0}`;
      return state.partsSeen.has(key) ? [] : thinkingText(state, itemKey(event), key, str(event['text']) ?? '');
    }

    case 'response.output_item.added': {
      const item = rec(event['item']);
      if (item?.['type'] !== 'function_call') return [];
      return toolStart(state, itemKey(event), item);
    }
    case 'response.function_call_arguments.delta':
      return toolInput(state, itemKey(event), str(event['delta']) ?? '');
    case 'response.function_call_arguments.done': {
      if (state.open?.kind === 'tool_use' && state.open.item === itemKey(event) && state.open.sent) return [];
      return toolInput(state, itemKey(event), str(event['arguments']) ?? '');
    }

    case 'response.output_item.done':
      return outputItemDone(state, event);

    case 'response.completed': {
      const response = rec(event['response']);
      state.usage = anthropicUsageFrom(response?.['usage'], state.inputTokensEstimate, Math.ceil(state.charsSent / 4));
      const out = closeBlock(state);
      return state.done ? out : [...out, ...end(state, state.sawToolUse ? 'tool_use' : 'end_turn', null)];
    }
    case 'response.incomplete': {
      const response = rec(event['response']);
      state.usage = anthropicUsageFrom(response?.['usage'], state.inputTokensEstimate, Math.ceil(state.charsSent / 4));
      const reason = str(rec(response?.['incomplete_details'])?.['reason']);
      const out = closeBlock(state);
      return state.done ? out : [...out, ...end(state, reason === 'content_filter' ? 'refusal' : 'max_tokens', null)];
    }
    case 'response.failed':
    case 'error':
      state.done = true;
      throw failureFromEvent(event)!;

    // created, in_progress, content_part.*, reasoning_summary_part.*, web_search_call.* and
    // anything unknown carry nothing an Anthropic client shows.
    default:
      return [];
  }
}

/** The whole item arrives at output_item.done: send what its deltas did not, then close its block. */
function outputItemDone(state: MessagesStreamState, event: ResponsesEvent): AnthropicStreamEvent[] {
  const item = rec(event['item']);
  if (!item) return [];
  const key = itemKey(event);
  if (state.itemsDone.has(key)) return [];
  state.itemsDone.add(key);
  switch (item['type']) {
    case 'message': {
      const out: AnthropicStreamEvent[] = [];
      const content = Array.isArray(item['content']) ? (item['content'] as unknown[]) : [];
      content.forEach((p, j) => {
        const part = rec(p);
        const pk = `${key}:${j}`;
        if (!part || state.partsSeen.has(pk)) return;
        state.partsSeen.add(pk);
        out.push(...textFor(state, key, str(part['text']) ?? str(part['refusal']) ?? ''));
      });
      if (state.open?.item === key) out.push(...closeBlock(state));
      return out;
    }
    case 'function_call': {
      const out: AnthropicStreamEvent[] = [];
      if (!state.itemsStarted.has(key)) out.push(...toolStart(state, key, item));
      if (state.open?.item === key) {
        if (!state.open.sent) out.push(...toolInput(state, key, str(item['arguments']) ?? ''));
        out.push(...closeBlock(state));
      }
      return out;
    }
    case 'reasoning':
      return reasoningDone(state, event, item);
    case 'web_search_call':
      return webSearchDone(state, key, item);
    default:
      return [];
  }
}

/**
 * A finished web search → Anthropic's server_tool_use block (name web_search, input {query})
 * and a web_search_tool_result block listing the sources the upstream read (as URLs; the Codex
 * backend gives no titles or page ages).
 */
function webSearchDone(state: MessagesStreamState, key: string, item: Rec): AnthropicStreamEvent[] {
  const action = rec(item['action']);
  const query = str(action?.['query']) ?? (Array.isArray(action?.['queries']) ? (action['queries'] as unknown[]).filter((q) => typeof q === 'string').join(' ') : '');
  const toolUseId = `srvtoolu_${str(item['id']) ?? key}`;
  const out = openBlock(state, 'tool_use', key, { type: 'server_tool_use', id: toolUseId, name: 'web_search', input: {} });
  if (state.done || !state.open) return out;
  state.webSearches++;
  state.open.sent = true;
  out.push(...sendChars(state, JSON.stringify({ query }), (t) => ({ type: 'input_json_delta', partial_json: t })));
  if (state.done) return out;
  out.push(...closeBlock(state));
  const sources = Array.isArray(action?.['sources']) ? (action['sources'] as unknown[]) : [];
  const results = sources
    .map((src) => str(rec(src)?.['url']))
    .filter((url): url is string => url !== undefined)
    .map((url) => ({ type: 'web_search_result', url, title: url, encrypted_content: '', page_age: null }));
  const index = state.nextIndex++;
  out.push({ type: 'content_block_start', index, content_block: { type: 'web_search_tool_result', tool_use_id: toolUseId, content: results } });
  out.push({ type: 'content_block_stop', index });
  return out;
}

/**
 * Ends a stream whose events ran out without the translator ending the message (the caller
 * decides whether that is an error; this only guarantees a well-formed ending).
 */
export function finishMessagesStream(state: MessagesStreamState): AnthropicStreamEvent[] {
  if (state.done) return [];
  const out = closeBlock(state);
  return state.done ? out : [...out, ...end(state, state.sawToolUse ? 'tool_use' : 'end_turn', null)];
}

/** A keep-alive `ping` (after message_start, which it sends first if it was not sent yet). */
export function messagesPing(state: MessagesStreamState): AnthropicStreamEvent[] {
  if (state.done) return [];
  return [...start(state), { type: 'ping' }];
}

/** Anthropic's in-stream error event: the stream ends after it. */
export function messagesErrorEvent(state: MessagesStreamState | undefined, err: { type: string; message: string }): AnthropicStreamEvent {
  if (state) state.done = true;
  return { type: 'error', error: { type: err.type, message: err.message } };
}

// ---- non-streaming: the events assembled into one Message -----------------------------------------

export interface AnthropicMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: Rec[];
  stop_reason: AnthropicStopReason | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

/** Folds a complete event list (message_start … message_stop) into the Message a non-streaming client gets. */
export function messageFromStreamEvents(events: readonly AnthropicStreamEvent[]): AnthropicMessage {
  let message: AnthropicMessage | undefined;
  const json = new Map<number, string>();
  for (const ev of events) {
    switch (ev.type) {
      case 'message_start':
        message = { ...(ev['message'] as AnthropicMessage), content: [] };
        break;
      case 'content_block_start':
        message?.content.push({ ...(ev['content_block'] as Rec) });
        break;
      case 'content_block_delta': {
        const index = ev['index'] as number;
        const block = message?.content[index];
        const delta = ev['delta'] as Rec;
        if (!block) break;
        if (delta['type'] === 'text_delta') block['text'] = String(block['text'] ?? '') + String(delta['text']);
        else if (delta['type'] === 'thinking_delta') block['thinking'] = String(block['thinking'] ?? '') + String(delta['thinking']);
        else if (delta['type'] === 'signature_delta') block['signature'] = delta['signature'];
        else if (delta['type'] === 'input_json_delta') json.set(index, (json.get(index) ?? '') + String(delta['partial_json']));
        break;
      }
      case 'content_block_stop': {
        const index = ev['index'] as number;
        const block = message?.content[index];
        if (block?.['type'] === 'tool_use' || block?.['type'] === 'server_tool_use') block['input'] = parseToolInput(json.get(index) ?? '');
        break;
      }
      case 'message_delta':
        if (message) {
          const delta = ev['delta'] as { stop_reason: AnthropicStopReason; stop_sequence: string | null };
          message.stop_reason = delta.stop_reason;
          message.stop_sequence = delta.stop_sequence;
          message.usage = { ...message.usage, ...(ev['usage'] as AnthropicUsage) };
        }
        break;
      default:
        break;
    }
  }
  if (!message) throw new Error('messageFromStreamEvents: no message_start');
  return message;
}

/** Tool input JSON → object; a cut (max_tokens) or invalid input gives {} rather than a broken message. */
function parseToolInput(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return rec(parsed) ?? {};
  } catch {
    return {};
  }
}
