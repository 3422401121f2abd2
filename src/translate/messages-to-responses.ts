import { createHash } from 'node:crypto';
import { InvalidRequestError } from '../errors.js';
import type { ReasoningEffort } from './claude-models.js';
import type { ContentBlock, MessageParam, MessagesRequest, ToolParam } from './messages-schema.js';

/**
 * Anthropic Messages request → the Responses body the Codex backend accepts (protocol.md §4).
 * Pure. What the backend cannot do itself (`stop_sequences`, `max_tokens`) is returned as
 * `limits` for the response translator (responses-to-messages) to enforce on the way back.
 *
 * - `system` (string or text blocks) and `role: "system"` messages → `developer` messages, in
 *   place (as chat-to-responses does); `cache_control` is ignored everywhere. The
 *   `x-anthropic-billing-header: …` block Claude Code puts first in `system` is Anthropic
 *   billing metadata, not an instruction: it is left out.
 * - user text / image (base64 → data URL, url) / document (PDF → input_file, url → file_url,
 *   text and content sources → input_text); tool_result → function_call_output (text joined to a
 *   string, with images a list of parts; `is_error` prefixes "Error: ").
 * - assistant text → output_text, tool_use → function_call, thinking with a signature this proxy
 *   issued → reasoning item with its encrypted_content; other thinking / redacted_thinking and
 *   server-tool history are not replayed.
 * - tools: custom tools → function tools; `web_search_*` → web_search; other Anthropic-defined
 *   tools (bash, text_editor, computer, code_execution, web_fetch, memory, …) → 400.
 * - tool_choice auto/any/tool/none → auto/required/{function}/none; parallel_tool_calls =
 *   !disable_parallel_tool_use.
 * - reasoning effort: `thinking.enabled` by budget_tokens (≤4096 low, ≤16384 medium, else high),
 *   else `output_config.effort` (max → high), else the model mapping's effort.
 * - metadata.user_id → prompt_cache_key (hashed when longer than 64 characters) and the affinity key.
 */

/** Top-level parameters the translator reads; anything else is reported as dropped. */
const TRANSLATED_PARAMETERS = new Set([
  'model',
  'messages',
  'max_tokens',
  'system',
  'stream',
  'stop_sequences',
  'tools',
  'tool_choice',
  'thinking',
  'metadata',
  'output_config',
]);

/** Parameters that ask for a service the Codex backend cannot provide: refused rather than silently ignored. */
const REFUSED_PARAMETERS: Readonly<Record<string, string>> = {
  mcp_servers: 'remote MCP servers (mcp_servers) are not available through the Codex backend; run the MCP tools in your client instead.',
  container: 'code-execution containers are not available through the Codex backend.',
};

/** Prefix of the `signature` of thinking blocks this proxy issued: the rest is the upstream's encrypted reasoning. */
export const SIGNATURE_PREFIX = 'cliproxy.reasoning.v1:';

const BILLING_HEADER_PREFIX = 'x-anthropic-billing-header:';

export type ThinkingDisplay = 'none' | 'summarized' | 'omitted';

export interface MessagesToResponsesResult {
  body: Record<string, unknown>;
  /** Names of request parameters that were present and not forwarded (log them at debug). */
  dropped: string[];
  /** What the proxy enforces on the way back. */
  limits: { maxTokens: number; stopSequences: string[] };
  /** Whether the client gets thinking blocks: none (thinking off), summarized, or omitted (empty text, signature only). */
  thinking: ThinkingDisplay;
  /** For session affinity: the cache key derived from metadata.user_id, if any. */
  affinityKey: string | undefined;
}

type Item = Record<string, unknown>;

export function messagesToResponses(req: MessagesRequest, opts: { model: string; effort?: ReasoningEffort }): MessagesToResponsesResult {
  for (const [key, why] of Object.entries(REFUSED_PARAMETERS)) {
    if ((req as Record<string, unknown>)[key] != null) throw new InvalidRequestError(`'${key}' is not supported: ${why}`, { param: key, code: 'unsupported_parameter' });
  }
  if (req.messages.length === 0) {
    throw new InvalidRequestError('messages: at least one message is required.', { param: 'messages', code: 'invalid_value' });
  }

  const input: Item[] = [];
  const system = systemParts(req.system);
  if (system.length > 0) input.push(message('developer', system));
  req.messages.forEach((msg, i) => input.push(...messageItems(msg, `messages.${i}`)));

  const body: Record<string, unknown> = { model: opts.model, input };

  const tools = (req.tools ?? []).map((t, i) => toolFor(t, `tools.${i}`));
  if (tools.length > 0) body['tools'] = tools;
  const choice = req.tool_choice;
  if (choice) body['tool_choice'] = toolChoiceFor(choice);
  if (tools.length > 0) body['parallel_tool_calls'] = !(choice && 'disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use === true);

  const thinking = thinkingDisplay(req);
  const effort = effortFor(req, opts.effort);
  if (effort !== undefined || thinking === 'summarized') {
    const reasoning: Record<string, unknown> = {};
    if (effort !== undefined) reasoning['effort'] = effort;
    if (thinking === 'summarized') reasoning['summary'] = 'auto';
    body['reasoning'] = reasoning;
  }

  const format = req.output_config?.format;
  if (format?.type === 'json_schema') {
    body['text'] = { format: { type: 'json_schema', name: 'output', schema: format.schema ?? { type: 'object', properties: {} }, strict: false } };
  }

  const affinityKey = cacheKeyOf(req.metadata?.user_id);
  if (affinityKey) body['prompt_cache_key'] = affinityKey;

  body['store'] = false;
  body['stream'] = true;
  // Not 'web_search_call.action.sources': the Codex CLI never asks for it and some Responses
  // backends reject it; sources the backend sends anyway still become web_search_result entries.
  body['include'] = ['reasoning.encrypted_content'];

  return {
    body,
    dropped: droppedParameters(req),
    limits: { maxTokens: req.max_tokens, stopSequences: (req.stop_sequences ?? []).filter((s) => s !== '') },
    thinking,
    affinityKey,
  };
}

function droppedParameters(req: MessagesRequest): string[] {
  return Object.entries(req)
    .filter(([key, value]) => value != null && !TRANSLATED_PARAMETERS.has(key))
    .map(([key]) => key)
    .sort();
}

// ---- messages -------------------------------------------------------------------------------------

function message(role: 'developer' | 'user' | 'assistant', content: Item[]): Item {
  return { type: 'message', role, content };
}

function systemParts(system: MessagesRequest['system']): Item[] {
  if (system == null) return [];
  if (typeof system === 'string') return system === '' ? [] : [{ type: 'input_text', text: system }];
  return system.filter((b) => !b.text.startsWith(BILLING_HEADER_PREFIX)).map((b) => ({ type: 'input_text', text: b.text }));
}

function blocksOf(msg: MessageParam): ContentBlock[] {
  return typeof msg.content === 'string' ? [{ type: 'text', text: msg.content }] : msg.content;
}

function unsupportedBlock(block: ContentBlock, role: string, at: string): InvalidRequestError {
  return new InvalidRequestError(`A '${block.type}' block is not allowed in a ${role} message.`, { param: `${at}.type`, code: 'invalid_value' });
}

function messageItems(msg: MessageParam, at: string): Item[] {
  const items: Item[] = [];
  const blocks = blocksOf(msg);
  if (msg.role === 'system') {
    const parts = blocks.map((b, j) => {
      if (b.type !== 'text') throw unsupportedBlock(b, 'system', `${at}.content.${j}`);
      return { type: 'input_text', text: b.text };
    });
    if (parts.length > 0) items.push(message('developer', parts));
    return items;
  }

  const role = msg.role;
  let parts: Item[] = [];
  const flush = () => {
    if (parts.length > 0) items.push(message(role, parts));
    parts = [];
  };
  blocks.forEach((block, j) => {
    const where = `${at}.content.${j}`;
    if (role === 'user') {
      switch (block.type) {
        case 'text':
          parts.push({ type: 'input_text', text: block.text });
          return;
        case 'image':
          parts.push(imagePart(block, where));
          return;
        case 'document':
          parts.push(documentPart(block, where));
          return;
        case 'tool_result':
          flush();
          items.push({ type: 'function_call_output', call_id: block.tool_use_id, output: toolResultOutput(block, where) });
          return;
        default:
          throw unsupportedBlock(block, 'user', where);
      }
    }
    switch (block.type) {
      case 'text':
        if (block.text !== '') parts.push({ type: 'output_text', text: block.text });
        return;
      case 'tool_use':
        flush();
        items.push({ type: 'function_call', call_id: block.id, name: block.name, arguments: JSON.stringify(block.input ?? {}) });
        return;
      case 'thinking': {
        const encrypted = block.signature?.startsWith(SIGNATURE_PREFIX) ? block.signature.slice(SIGNATURE_PREFIX.length) : undefined;
        if (!encrypted) return; // Anthropic's own (or an empty) signature: nothing the upstream could read
        flush();
        items.push({ type: 'reasoning', summary: block.thinking ? [{ type: 'summary_text', text: block.thinking }] : [], encrypted_content: encrypted });
        return;
      }
      case 'redacted_thinking':
      case 'server_tool_use':
      case 'web_search_tool_result':
        return;
      default:
        throw unsupportedBlock(block, 'assistant', where);
    }
  });
  flush();
  return items;
}

type ImageBlock = Extract<ContentBlock, { type: 'image' }>;
type DocumentBlock = Extract<ContentBlock, { type: 'document' }>;
type ToolResultBlock = Extract<ContentBlock, { type: 'tool_result' }>;

function filesApiRefused(where: string): InvalidRequestError {
  return new InvalidRequestError("Sources of type 'file' (Anthropic Files API ids) are not available through the Codex backend; send the data inline (base64) or as a URL.", {
    param: `${where}.source`,
    code: 'unsupported_content_type',
  });
}

function imagePart(block: ImageBlock, where: string): Item {
  const src = block.source;
  if (src.type === 'base64') return { type: 'input_image', image_url: `data:${src.media_type};base64,${src.data}`, detail: 'auto' };
  if (src.type === 'url') {
    if (!/^https?:\/\/\S+$/i.test(src.url)) {
      throw new InvalidRequestError('Invalid image URL: expected an http(s) URL.', { param: `${where}.source.url`, code: 'invalid_image_url' });
    }
    return { type: 'input_image', image_url: src.url, detail: 'auto' };
  }
  throw filesApiRefused(where);
}

function documentPart(block: DocumentBlock, where: string): Item {
  const src = block.source;
  const heading = [block.title, block.context].filter((s): s is string => typeof s === 'string' && s !== '').join('\n');
  const withHeading = (text: string) => ({ type: 'input_text', text: heading ? `${heading}\n\n${text}` : text });
  switch (src.type) {
    case 'base64':
      if (src.media_type !== 'application/pdf') {
        throw new InvalidRequestError(`Unsupported document media_type '${src.media_type}': base64 documents must be application/pdf (use a text source for plain text).`, {
          param: `${where}.source.media_type`,
          code: 'unsupported_content_type',
        });
      }
      return { type: 'input_file', filename: pdfName(block.title), file_data: `data:application/pdf;base64,${src.data}` };
    case 'url':
      return { type: 'input_file', file_url: src.url };
    case 'text':
      return withHeading(src.data);
    case 'content':
      return withHeading(typeof src.content === 'string' ? src.content : src.content.map((c) => c.text ?? '').join('\n'));
    case 'file':
      throw filesApiRefused(where);
  }
}

function pdfName(title: string | null | undefined): string {
  const base = (title ?? '').replace(/[^\w.\- ]+/g, '').trim() || 'document';
  return base.toLowerCase().endsWith('.pdf') ? base : `${base}.pdf`;
}

type ToolResultPart = Exclude<NonNullable<ToolResultBlock['content']>, string>[number];

/** A tool_reference (tool search result) names a tool; every tool is sent upstream anyway, so it reads as text. */
function toolResultText(c: Extract<ToolResultPart, { type: 'text' | 'tool_reference' }>): string {
  return c.type === 'text' ? c.text : `Tool '${c.tool_name}' is available.`;
}

function toolResultOutput(block: ToolResultBlock, where: string): string | Item[] {
  const prefix = block.is_error ? 'Error: ' : '';
  const content = block.content ?? '';
  if (typeof content === 'string') return prefix + content;
  const isText = (c: ToolResultPart): c is Extract<ToolResultPart, { type: 'text' | 'tool_reference' }> => c.type === 'text' || c.type === 'tool_reference';
  if (content.every(isText)) return prefix + content.map(toolResultText).join('\n');
  const parts: Item[] = content.map((c, k) => {
    if (isText(c)) return { type: 'input_text', text: toolResultText(c) };
    if (c.type === 'image') return imagePart(c, `${where}.content.${k}`);
    return documentPart(c, `${where}.content.${k}`);
  });
  return prefix ? [{ type: 'input_text', text: prefix.trim() }, ...parts] : parts;
}

// ---- tools ----------------------------------------------------------------------------------------

function toolFor(tool: ToolParam, at: string): Item {
  const type = tool.type ?? 'custom';
  if (type === 'custom') {
    const fn: Item = { type: 'function', name: tool.name };
    if (tool.description != null) fn['description'] = tool.description;
    fn['parameters'] = tool.input_schema ?? { type: 'object', properties: {} };
    fn['strict'] = false;
    return fn;
  }
  if (/^web_search_\d+$/.test(type)) {
    if (tool.blocked_domains?.length) {
      throw new InvalidRequestError('blocked_domains is not supported by the Codex web_search tool; list the domains to search with allowed_domains instead.', {
        param: `${at}.blocked_domains`,
        code: 'unsupported_parameter',
      });
    }
    const search: Item = { type: 'web_search' };
    if (tool.allowed_domains?.length) search['filters'] = { allowed_domains: tool.allowed_domains };
    const loc = tool.user_location;
    if (loc) {
      const location: Item = { type: 'approximate' };
      for (const k of ['city', 'region', 'country', 'timezone']) if (typeof loc[k] === 'string') location[k] = loc[k];
      search['user_location'] = location;
    }
    return search;
  }
  throw new InvalidRequestError(
    `Tool '${tool.name}' has type '${type}': this Anthropic-defined tool has no equivalent on the Codex backend. Supported: custom tools (with input_schema) and web_search_* (mapped to web_search).`,
    { param: `${at}.type`, code: 'unsupported_tool' },
  );
}

function toolChoiceFor(choice: NonNullable<MessagesRequest['tool_choice']>): unknown {
  switch (choice.type) {
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      return { type: 'function', name: choice.name };
  }
}

// ---- reasoning ------------------------------------------------------------------------------------

function thinkingDisplay(req: MessagesRequest): ThinkingDisplay {
  const t = req.thinking;
  if (!t || t.type === 'disabled') return 'none';
  return t.display === 'omitted' ? 'omitted' : 'summarized';
}

/** thinking.budget_tokens → effort (documented in the README). */
export function effortForBudget(budget: number): ReasoningEffort {
  if (budget <= 4096) return 'low';
  if (budget <= 16384) return 'medium';
  return 'high';
}

const OUTPUT_EFFORTS: Readonly<Record<string, ReasoningEffort>> = { low: 'low', medium: 'medium', high: 'high', max: 'high' };

function effortFor(req: MessagesRequest, fallback: ReasoningEffort | undefined): ReasoningEffort | undefined {
  if (req.thinking?.type === 'enabled') return effortForBudget(req.thinking.budget_tokens);
  const asked = req.output_config?.effort;
  if (asked) {
    const mapped = OUTPUT_EFFORTS[asked];
    if (!mapped) {
      throw new InvalidRequestError(`Invalid output_config.effort '${asked}': expected low, medium, high or max.`, { param: 'output_config.effort', code: 'invalid_value' });
    }
    return mapped;
  }
  return fallback;
}

// ---- caching / affinity ---------------------------------------------------------------------------

/** metadata.user_id → a prompt_cache_key: as is up to 64 safe characters, else a stable hash of it. */
export function cacheKeyOf(userId: string | null | undefined): string | undefined {
  if (!userId) return undefined;
  if (userId.length <= 64 && /^[\w.:@-]+$/.test(userId)) return userId;
  return `claude-${createHash('sha256').update(userId).digest('hex').slice(0, 40)}`;
}
