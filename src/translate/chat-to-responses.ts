import { createHash } from 'node:crypto';
import { InvalidRequestError } from '../errors.js';
import { clip } from '../util/quote.js';
import type { ChatCompletionRequest, ChatMessage, ChatToolCall } from './chat-schema.js';

/**
 * chat.completions request → the Responses body the Codex backend accepts (protocol.md §4).
 *
 * System prompt placement: `system` and `developer` messages become `developer` messages in
 * `input`, in their original position, and `instructions` is never set. The backend accepts the
 * system prompt either way ("instructions: optional today"), but only the message form keeps
 * the order of several system messages interleaved with the conversation, and it keeps the
 * body identical whether a client uses `system` or `developer` (OpenAI treats them alike for
 * reasoning models). `instructions` would also be a second place a pass-through client could
 * collide with.
 */

/** Fields the translator reads; anything else in the request is unknown and reported as dropped. */
const TRANSLATED_PARAMETERS = new Set([
  'model',
  'messages',
  'stream',
  'stream_options',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'functions',
  'function_call',
  'response_format',
  'reasoning_effort',
  'reasoning',
  'verbosity',
  'user',
  'prompt_cache_key',
  'n',
]);

export interface ChatToResponsesResult {
  body: Record<string, unknown>;
  /** Names of request parameters that were present and not forwarded (log them at debug). */
  dropped: string[];
  /** Parts of the conversation left out, and why (log them at debug), e.g. a tool result with no call. */
  notes: string[];
}

type InputItem = Record<string, unknown>;

export interface ChatToResponsesOptions {
  /** The backend model (aliases and suffixes resolved). */
  model: string;
  /** The effort a model-name suffix asked for (`gpt-5-high`); it wins over the body's. */
  effort?: string;
  /** The summary to ask for when the request names none (`codex.reasoning-summary`, default auto). */
  reasoningSummary?: string;
  /** The client's session id header: the prompt_cache_key when the body has none. */
  sessionId?: string;
}

export function chatToResponses(req: ChatCompletionRequest, opts: ChatToResponsesOptions): ChatToResponsesResult {
  if (req.n != null && req.n > 1) {
    throw new InvalidRequestError('n > 1 is not supported: the Codex backend returns exactly one choice.', {
      param: 'n',
      code: 'unsupported_parameter',
    });
  }
  if (!Array.isArray(req.messages) || req.messages.length === 0) {
    throw new InvalidRequestError('messages must contain at least one message.', { param: 'messages', code: 'invalid_value' });
  }

  const notes: string[] = [];
  const body: Record<string, unknown> = {
    model: opts.model,
    input: messagesToInput(req.messages, customToolNames(req), notes),
  };

  const tools = toolsFor(req);
  if (tools.length > 0) body['tools'] = tools;
  const toolChoice = toolChoiceFor(req);
  if (toolChoice !== undefined) body['tool_choice'] = toolChoice;
  if (req.parallel_tool_calls != null) body['parallel_tool_calls'] = req.parallel_tool_calls;
  // a legacy `functions` client understands one function_call per answer
  else if (usesLegacyFunctions(req)) body['parallel_tool_calls'] = false;

  const text = textFor(req);
  if (text) body['text'] = text;

  const reasoning = reasoningFor(req, opts);
  if (reasoning) body['reasoning'] = reasoning;

  const cacheKey = req.prompt_cache_key || req.user || opts.sessionId || derivedPromptCacheKey(req.messages);
  if (cacheKey) body['prompt_cache_key'] = cacheKey;

  body['store'] = false;
  body['stream'] = true;
  body['include'] = ['reasoning.encrypted_content'];

  return { body, dropped: droppedParameters(req), notes };
}

/** Whether the client speaks legacy function calling (`functions`, no `tools`): answers then use `function_call`. */
export function usesLegacyFunctions(req: ChatCompletionRequest): boolean {
  return (req.functions?.length ?? 0) > 0 && (req.tools?.length ?? 0) === 0;
}

/**
 * A stable prompt_cache_key for a client that sends none (and no `user` or session header):
 * a hash of the first system/developer text and the first user message, formatted as a UUID.
 * The same conversation gets the same key on every turn, so the backend's prompt cache and
 * the pool's session affinity work for clients that know nothing of them.
 */
export function derivedPromptCacheKey(messages: readonly ChatMessage[]): string | undefined {
  const system = messages.find((m) => m.role === 'system' || m.role === 'developer');
  const user = messages.find((m) => m.role === 'user');
  if (!user) return undefined;
  const text = (m: ChatMessage | undefined): string => {
    const content: unknown = m?.content;
    if (typeof content === 'string') return content;
    if (!Array.isArray(content)) return '';
    return content.map((p: { text?: unknown }) => (typeof p.text === 'string' ? p.text : '')).join('');
  };
  const hex = createHash('sha256').update(JSON.stringify([text(system), text(user)])).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * `reasoning`: the effort from the model suffix, else `reasoning.effort`, else `reasoning_effort`
 * (omitted when none is given: the model's default applies). Summaries are on by default, as
 * in the Codex CLI: `reasoning.summary` if given, else the configured default; none when the
 * effort is `none` (no reasoning to summarise) or the summary is `none`.
 */
function reasoningFor(req: ChatCompletionRequest, opts: ChatToResponsesOptions): Record<string, unknown> | undefined {
  const effort = opts.effort ?? req.reasoning?.effort ?? req.reasoning_effort ?? undefined;
  const summary = req.reasoning?.summary ?? opts.reasoningSummary ?? 'auto';
  const reasoning: Record<string, unknown> = {};
  if (effort) reasoning['effort'] = effort;
  if (effort !== 'none' && summary !== 'none') reasoning['summary'] = summary;
  return Object.keys(reasoning).length > 0 ? reasoning : undefined;
}

function droppedParameters(req: ChatCompletionRequest): string[] {
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(req)) {
    if (value === undefined || value === null) continue;
    if (TRANSLATED_PARAMETERS.has(key)) continue;
    dropped.push(key);
  }
  // `user` only travels when it became the cache key.
  if (req.user && req.prompt_cache_key) dropped.push('user');
  return dropped.sort();
}

// ---- messages -----------------------------------------------------------------------------

/** What a call id in the conversation so far refers to: a function call or a custom tool call. */
type CallKind = 'function' | 'custom';

function messagesToInput(messages: readonly ChatMessage[], customTools: ReadonlySet<string>, notes: string[]): InputItem[] {
  const input: InputItem[] = [];
  /** Legacy `function` messages carry no call id: pair them with the assistant's last function_call. */
  const pendingLegacyCalls: { name: string; callId: string }[] = [];
  let legacySeq = 0;
  /** Calls made so far: a tool result must answer one of them (the backend rejects orphans). */
  const calls = new Map<string, CallKind>();

  messages.forEach((msg, i) => {
    const at = `messages.${i}`;
    switch (msg.role) {
      case 'system':
      case 'developer':
        input.push(messageItem('developer', textParts(msg.content, 'input_text')));
        return;
      case 'user':
        input.push(messageItem('user', userParts(msg.content, `${at}.content`)));
        return;
      case 'assistant': {
        const parts = assistantParts(msg);
        if (parts.length > 0) input.push(messageItem('assistant', parts));
        for (const call of (msg.tool_calls ?? []) as ChatToolCall[]) {
          const item = toolCallItem(call, customTools);
          calls.set(call.id, item['type'] === 'custom_tool_call' ? 'custom' : 'function');
          input.push(item);
        }
        if (msg.function_call) {
          const callId = `call_legacy_${legacySeq++}`;
          pendingLegacyCalls.push({ name: msg.function_call.name, callId });
          input.push({ type: 'function_call', call_id: callId, name: msg.function_call.name, arguments: msg.function_call.arguments ?? '' });
        }
        return;
      }
      case 'tool': {
        const kind = calls.get(msg.tool_call_id);
        if (!kind) {
          notes.push(`${at}: a tool result for call '${msg.tool_call_id}', which no earlier assistant message made, was left out (the backend rejects it)`);
          return;
        }
        const output = toolOutput(msg.content, `${at}.content`);
        input.push({ type: kind === 'custom' ? 'custom_tool_call_output' : 'function_call_output', call_id: msg.tool_call_id, output });
        return;
      }
      case 'function': {
        const idx = findLastIndex(pendingLegacyCalls, (c) => c.name === msg.name);
        if (idx < 0) {
          throw new InvalidRequestError(
            `A 'function' message must follow an assistant message whose function_call names '${clip(msg.name)}'.`,
            { param: `${at}.name`, code: 'invalid_value' },
          );
        }
        const [call] = pendingLegacyCalls.splice(idx, 1);
        input.push({ type: 'function_call_output', call_id: call!.callId, output: msg.content ?? '' });
        return;
      }
    }
  });
  return input;
}

/**
 * An assistant tool call → its Responses item. A `custom` call becomes custom_tool_call (free-form
 * `input`); so does a function-shaped call naming a declared custom tool (clients that only know
 * function calls echo custom calls back that way).
 */
function toolCallItem(call: ChatToolCall, customTools: ReadonlySet<string>): InputItem {
  if (call.type === 'custom') {
    const custom = call.custom as { name: string; input?: string | null };
    return { type: 'custom_tool_call', call_id: call.id, name: custom.name, input: custom.input ?? '' };
  }
  const fn = call.function as { name: string; arguments?: string | null };
  if (customTools.has(fn.name)) return { type: 'custom_tool_call', call_id: call.id, name: fn.name, input: fn.arguments ?? '' };
  return { type: 'function_call', call_id: call.id, name: fn.name, arguments: fn.arguments ?? '' };
}

type ToolContent = Extract<ChatMessage, { role: 'tool' }>['content'];

/** A tool result: its text as a string; with image parts, a list of input_text / input_image parts. */
function toolOutput(content: ToolContent, at: string): string | InputItem[] {
  if (typeof content === 'string') return content;
  if (content.every((p) => p.type === 'text')) return content.map((p) => (p.type === 'text' ? p.text : '')).join('');
  return content.map((part, j): InputItem => (part.type === 'text' ? { type: 'input_text', text: part.text } : imagePart(part.image_url, `${at}.${j}`)));
}

function messageItem(role: 'developer' | 'user' | 'assistant', content: InputItem[]): InputItem {
  return { type: 'message', role, content };
}

function textParts(content: string | readonly { text: string }[], type: 'input_text' | 'output_text'): InputItem[] {
  if (typeof content === 'string') return [{ type, text: content }];
  return content.map((p) => ({ type, text: p.text }));
}

type UserContent = Extract<ChatMessage, { role: 'user' }>['content'];

function userParts(content: UserContent, at: string): InputItem[] {
  if (typeof content === 'string') return [{ type: 'input_text', text: content }];
  return content.map((part, j): InputItem => {
    const where = `${at}.${j}`;
    switch (part.type) {
      case 'text':
        return { type: 'input_text', text: part.text };
      case 'image_url':
        return imagePart(part.image_url, where);
      case 'input_audio':
        throw new InvalidRequestError('Audio input (input_audio content parts) is not supported by the Codex backend.', {
          param: `${where}.type`,
          code: 'unsupported_content_type',
        });
      case 'file': {
        if (!part.file.file_data) {
          throw new InvalidRequestError(
            'File parts must carry inline file_data: uploaded file ids are not available through the Codex backend.',
            { param: `${where}.file`, code: 'unsupported_content_type' },
          );
        }
        const item: InputItem = { type: 'input_file', file_data: part.file.file_data };
        if (part.file.filename) item['filename'] = part.file.filename;
        return item;
      }
    }
  });
}

type ImageUrl = string | { url: string; detail?: 'auto' | 'low' | 'high' | null };

/** An `image_url` content part (at `where`) → input_image; 400 for a URL the backend cannot fetch. */
function imagePart(imageUrl: ImageUrl, where: string): InputItem {
  const { url, detail } = typeof imageUrl === 'string' ? { url: imageUrl, detail: undefined } : imageUrl;
  const urlParam = typeof imageUrl === 'string' ? `${where}.image_url` : `${where}.image_url.url`;
  if (!isSupportedImageUrl(url)) {
    throw new InvalidRequestError(`Invalid image URL: expected an http(s) URL or a base64 data URL (data:image/...;base64,...).`, {
      param: urlParam,
      code: 'invalid_image_url',
    });
  }
  const item: InputItem = { type: 'input_image', image_url: url };
  if (detail) item['detail'] = detail;
  return item;
}

function isSupportedImageUrl(url: string): boolean {
  return /^https?:\/\/\S+$/i.test(url) || /^data:image\/[a-z0-9.+-]+;base64,/i.test(url);
}

type AssistantMessage = Extract<ChatMessage, { role: 'assistant' }>;

/** Assistant history: text and refusal parts both become output_text (the backend replays them as prior output). */
function assistantParts(msg: AssistantMessage): InputItem[] {
  const parts: InputItem[] = [];
  const content = msg.content;
  if (typeof content === 'string') {
    if (content !== '') parts.push({ type: 'output_text', text: content });
  } else if (Array.isArray(content)) {
    for (const p of content) parts.push({ type: 'output_text', text: p.type === 'text' ? p.text : p.refusal });
  }
  if (parts.length === 0 && msg.refusal) parts.push({ type: 'output_text', text: msg.refusal });
  return parts;
}

function findLastIndex<T>(arr: readonly T[], pred: (v: T) => boolean): number {
  for (let i = arr.length - 1; i >= 0; i--) if (pred(arr[i]!)) return i;
  return -1;
}

// ---- tools ----------------------------------------------------------------------------------

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Older names of the web search tool; the backend knows it as `web_search`. */
const WEB_SEARCH_ALIASES = new Set(['web_search_preview', 'web_search_preview_2025_03_11']);

/** Names of the request's custom (free-form input) tools. */
function customToolNames(req: ChatCompletionRequest): Set<string> {
  const names = new Set<string>();
  for (const t of req.tools ?? []) {
    const tool = rec(t);
    if (tool['type'] !== 'custom') continue;
    const name = str(rec(tool['custom'])['name']) ?? str(tool['name']);
    if (name) names.add(name);
  }
  return names;
}

/**
 * tools[] → Responses tools: functions flattened (`parameters` defaults to an empty object
 * schema, `strict` to false), custom tools flattened to `{type:"custom", name, description,
 * format}`, built-in tools (`web_search`, …) passed through, `web_search_preview` renamed.
 */
function toolsFor(req: ChatCompletionRequest): InputItem[] {
  const out: InputItem[] = [];
  (req.tools ?? []).forEach((t, i) => {
    const tool = rec(t);
    if (tool['type'] === 'function') out.push(functionTool(rec(tool['function'])));
    else if (tool['type'] === 'custom') out.push(customTool(tool, i));
    else out.push(builtInTool(tool));
  });
  for (const f of req.functions ?? []) out.push(functionTool(rec(f)));
  return out;
}

function functionTool(f: Rec): InputItem {
  const tool: InputItem = { type: 'function', name: f['name'] };
  if (f['description'] != null) tool['description'] = f['description'];
  tool['parameters'] = f['parameters'] ?? { type: 'object', properties: {} };
  tool['strict'] = f['strict'] ?? false;
  return tool;
}

function customTool(tool: Rec, i: number): InputItem {
  const custom = rec(tool['custom']);
  const name = str(custom['name']) ?? str(tool['name']);
  if (!name) throw new InvalidRequestError(`Missing required parameter: 'tools.${i}.custom.name'.`, { param: `tools.${i}.custom.name`, code: 'missing_required_parameter' });
  const out: InputItem = { type: 'custom', name };
  const description = custom['description'] ?? tool['description'];
  if (description != null) out['description'] = description;
  const format = custom['format'] ?? tool['format'];
  if (format != null) out['format'] = format;
  return out;
}

function builtInTool(tool: Rec): InputItem {
  const type = String(tool['type']);
  return WEB_SEARCH_ALIASES.has(type) ? { ...tool, type: 'web_search' } : { ...tool };
}

function toolChoiceFor(req: ChatCompletionRequest): unknown {
  if (req.tool_choice != null) return mapToolChoice(req.tool_choice);
  const legacy = req.function_call;
  if (legacy == null) return undefined;
  return typeof legacy === 'string' ? legacy : { type: 'function', name: legacy.name };
}

/** One named tool (in tool_choice or allowed_tools) → its Responses form. */
function namedTool(t: Rec): InputItem {
  if (t['type'] === 'function') return { type: 'function', name: rec(t['function'])['name'] };
  if (t['type'] === 'custom') return { type: 'custom', name: rec(t['custom'])['name'] };
  return builtInTool(t);
}

function mapToolChoice(choice: unknown): unknown {
  if (typeof choice === 'string') return choice;
  const c = rec(choice);
  if (c['type'] !== 'allowed_tools') return namedTool(c);
  const allowed = rec(c['allowed_tools']);
  const tools = Array.isArray(allowed['tools']) ? (allowed['tools'] as unknown[]) : [];
  return { type: 'allowed_tools', mode: allowed['mode'], tools: tools.map((t) => namedTool(rec(t))) };
}

// ---- text: response_format + verbosity ------------------------------------------------------

function textFor(req: ChatCompletionRequest): Record<string, unknown> | undefined {
  const text: Record<string, unknown> = {};
  const rf = req.response_format;
  if (rf?.type === 'json_object') text['format'] = { type: 'json_object' };
  if (rf?.type === 'json_schema') {
    const js = rf.json_schema;
    const format: Record<string, unknown> = { type: 'json_schema', name: js.name };
    if (js.description != null) format['description'] = js.description;
    format['schema'] = js.schema ?? { type: 'object', properties: {} };
    format['strict'] = js.strict ?? false;
    text['format'] = format;
  }
  if (req.verbosity != null) text['verbosity'] = req.verbosity;
  return Object.keys(text).length > 0 ? text : undefined;
}
