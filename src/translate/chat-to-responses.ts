import { InvalidRequestError } from '../errors.js';
import type { ChatCompletionRequest, ChatMessage, ChatToolChoice } from './chat-schema.js';

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
}

type InputItem = Record<string, unknown>;

export interface ChatToResponsesOptions {
  /** The backend model (aliases and suffixes resolved). */
  model: string;
  /** The effort a model-name suffix asked for (`gpt-5-high`); it wins over the body's. */
  effort?: string;
  /** The summary to ask for when the request names none (`codex.reasoning-summary`, default auto). */
  reasoningSummary?: string;
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

  const body: Record<string, unknown> = {
    model: opts.model,
    input: messagesToInput(req.messages),
  };

  const tools = toolsFor(req);
  if (tools.length > 0) body['tools'] = tools;
  const toolChoice = toolChoiceFor(req);
  if (toolChoice !== undefined) body['tool_choice'] = toolChoice;
  if (req.parallel_tool_calls != null) body['parallel_tool_calls'] = req.parallel_tool_calls;

  const text = textFor(req);
  if (text) body['text'] = text;

  const reasoning = reasoningFor(req, opts);
  if (reasoning) body['reasoning'] = reasoning;

  const cacheKey = req.prompt_cache_key ?? req.user;
  if (cacheKey) body['prompt_cache_key'] = cacheKey;

  body['store'] = false;
  body['stream'] = true;
  body['include'] = ['reasoning.encrypted_content'];

  return { body, dropped: droppedParameters(req) };
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

function messagesToInput(messages: readonly ChatMessage[]): InputItem[] {
  const input: InputItem[] = [];
  /** Legacy `function` messages carry no call id: pair them with the assistant's last function_call. */
  const pendingLegacyCalls: { name: string; callId: string }[] = [];
  let legacySeq = 0;

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
        for (const call of msg.tool_calls ?? []) {
          input.push({ type: 'function_call', call_id: call.id, name: call.function.name, arguments: call.function.arguments ?? '' });
        }
        if (msg.function_call) {
          const callId = `call_legacy_${legacySeq++}`;
          pendingLegacyCalls.push({ name: msg.function_call.name, callId });
          input.push({ type: 'function_call', call_id: callId, name: msg.function_call.name, arguments: msg.function_call.arguments ?? '' });
        }
        return;
      }
      case 'tool':
        input.push({ type: 'function_call_output', call_id: msg.tool_call_id, output: joinText(msg.content) });
        return;
      case 'function': {
        const idx = findLastIndex(pendingLegacyCalls, (c) => c.name === msg.name);
        if (idx < 0) {
          throw new InvalidRequestError(
            `A 'function' message must follow an assistant message whose function_call names '${msg.name}'.`,
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

function messageItem(role: 'developer' | 'user' | 'assistant', content: InputItem[]): InputItem {
  return { type: 'message', role, content };
}

function textParts(content: string | readonly { text: string }[], type: 'input_text' | 'output_text'): InputItem[] {
  if (typeof content === 'string') return [{ type, text: content }];
  return content.map((p) => ({ type, text: p.text }));
}

function joinText(content: string | readonly { text: string }[]): string {
  return typeof content === 'string' ? content : content.map((p) => p.text).join('');
}

type UserContent = Extract<ChatMessage, { role: 'user' }>['content'];

function userParts(content: UserContent, at: string): InputItem[] {
  if (typeof content === 'string') return [{ type: 'input_text', text: content }];
  return content.map((part, j): InputItem => {
    const where = `${at}.${j}`;
    switch (part.type) {
      case 'text':
        return { type: 'input_text', text: part.text };
      case 'image_url': {
        const { url, detail } = typeof part.image_url === 'string' ? { url: part.image_url, detail: undefined } : part.image_url;
        const urlParam = typeof part.image_url === 'string' ? `${where}.image_url` : `${where}.image_url.url`;
        if (!isSupportedImageUrl(url)) {
          throw new InvalidRequestError(
            `Invalid image URL: expected an http(s) URL or a base64 data URL (data:image/...;base64,...).`,
            { param: urlParam, code: 'invalid_image_url' },
          );
        }
        const item: InputItem = { type: 'input_image', image_url: url };
        if (detail) item['detail'] = detail;
        return item;
      }
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

function toolsFor(req: ChatCompletionRequest): InputItem[] {
  const defs = [...(req.tools ?? []).map((t) => t.function), ...(req.functions ?? [])];
  return defs.map((f) => {
    const tool: InputItem = { type: 'function', name: f.name };
    if (f.description != null) tool['description'] = f.description;
    tool['parameters'] = f.parameters ?? { type: 'object', properties: {} };
    tool['strict'] = f.strict ?? false;
    return tool;
  });
}

function toolChoiceFor(req: ChatCompletionRequest): unknown {
  if (req.tool_choice != null) return mapToolChoice(req.tool_choice);
  const legacy = req.function_call;
  if (legacy == null) return undefined;
  return typeof legacy === 'string' ? legacy : { type: 'function', name: legacy.name };
}

function mapToolChoice(choice: ChatToolChoice): unknown {
  if (typeof choice === 'string') return choice;
  if (choice.type === 'function') return { type: 'function', name: choice.function.name };
  return {
    type: 'allowed_tools',
    mode: choice.allowed_tools.mode,
    tools: choice.allowed_tools.tools.map((t) => ({ type: 'function', name: t.function.name })),
  };
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
