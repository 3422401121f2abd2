/**
 * The deterministic model behind the sandbox backend. From a Responses request body it
 * decides what the "model" answers (pure; no I/O). Developer messages and user messages made
 * only of `<system-reminder>` parts (Claude Code) are context: "last" below skips them, and
 * reminder parts are left out of the user text.
 *  - last input item is a function_call_output → `Tool result: <output>`
 *  - last user text "Return X." → `X`
 *  - function or custom tools present (tool_choice not "none") and the last item is a user
 *    message → one call to the tool named in the text (else the first): a function_call with
 *    arguments = the first JSON object in the text (else `{}`), or for a custom tool a
 *    custom_tool_call whose free-form input is the text after "input:" (else the whole text)
 *  - a web_search tool and "Search for X" → a web_search_call (query X), then `Found results for: X`
 *  - input_image parts in the last user message → `I see N image(s).`
 *  - otherwise → `Echo: <last user text>`
 * text.format json_object/json_schema wraps a text reply as `{"answer":"<reply>"}`; with
 * reasoning.effort (not none/minimal) a reasoning item comes first: with a summary when
 * reasoning.summary asks for one, else an empty one when include asks for its encrypted content.
 */

/**
 * The default models and the oldest Codex CLI each is listed to (`minimal_client_version`), as
 * on the real backend: `/models?client_version=0.100.0` lists 4, `0.143.0` 6, `0.144.0` 9, and
 * `gpt-6.1-sol` (the Codex CLI 0.169 default) appears at `0.153.0`; `0.8.0` lists none.
 */
export const SANDBOX_MODEL_MINIMAL_VERSIONS: Readonly<Record<string, string>> = {
  'gpt-5': '0.40.0',
  'gpt-5-codex': '0.44.0',
  'gpt-5.1': '0.58.0',
  'gpt-5.1-codex': '0.58.0',
  'gpt-5.1-codex-mini': '0.101.0',
  'codex-mini-latest': '0.120.0',
  'gpt-6': '0.144.0',
  'gpt-6-astra': '0.144.0',
  'gpt-6-codex': '0.144.0',
  'gpt-6.1-sol': '0.153.0',
};

export const SANDBOX_MODELS: readonly string[] = Object.keys(SANDBOX_MODEL_MINIMAL_VERSIONS);

export type PlannedItem =
  | { type: 'reasoning'; summary: string }
  | { type: 'message'; text: string }
  | { type: 'function_call'; name: string; arguments: string }
  | { type: 'custom_tool_call'; name: string; input: string }
  | { type: 'web_search'; query: string };

export interface ReplyPlan {
  items: PlannedItem[];
  /** Text of the last user message (what the reply was derived from). */
  userText: string;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Normalizes `input` (a string or a list of items) into a list of items. */
function inputItems(input: unknown): Json[] {
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: input }];
  if (!Array.isArray(input)) return [];
  return input.filter(isObject);
}

function itemType(item: Json): string {
  if (typeof item.type === 'string') return item.type;
  return typeof item.role === 'string' ? 'message' : '';
}

function contentParts(item: Json): Json[] {
  const c = item.content;
  if (typeof c === 'string') return [{ type: 'input_text', text: c }];
  return Array.isArray(c) ? c.filter(isObject) : [];
}

function partsText(parts: Json[]): string {
  return parts
    .filter((p) => ['input_text', 'output_text', 'text'].includes(String(p.type)) && typeof p.text === 'string')
    .map((p) => p.text as string)
    .join('\n');
}

/** Claude Code puts `<system-reminder>` text parts into user messages: context, not the user's words. */
function isReminder(part: Json): boolean {
  return typeof part.text === 'string' && part.text.trimStart().startsWith('<system-reminder>');
}

/**
 * Items that only give context: developer/system messages and user messages made only of system
 * reminders. The reply answers the last item that is not one of these.
 */
function isContextOnly(item: Json): boolean {
  if (itemType(item) !== 'message') return false;
  if (item.role === 'developer' || item.role === 'system') return true;
  const parts = contentParts(item);
  return item.role === 'user' && parts.length > 0 && parts.every(isReminder);
}

function lastUserMessage(items: Json[]): Json | undefined {
  for (let i = items.length - 1; i >= 0; i--) {
    const it = items[i]!;
    if (itemType(it) === 'message' && it.role === 'user') return it;
  }
  return undefined;
}

/** Stringifies a function_call_output's `output` (string, or a list of content parts). */
function toolOutputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output)) return partsText(output.filter(isObject));
  if (isObject(output) && typeof output.content === 'string') return output.content;
  return JSON.stringify(output ?? '');
}

/** The first balanced {...} that parses as a JSON object, re-serialized compactly. */
export function firstJsonObject(text: string): string | undefined {
  for (let start = text.indexOf('{'); start >= 0; start = text.indexOf('{', start + 1)) {
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i++) {
      const ch = text[i];
      if (inString) {
        if (ch === '\\') i++;
        else if (ch === '"') inString = false;
        continue;
      }
      if (ch === '"') inString = true;
      else if (ch === '{') depth++;
      else if (ch === '}') {
        depth--;
        if (depth === 0) {
          try {
            const parsed: unknown = JSON.parse(text.slice(start, i + 1));
            if (isObject(parsed)) return JSON.stringify(parsed);
          } catch {
            // not JSON: try the next "{"
          }
          break;
        }
      }
    }
  }
  return undefined;
}

/** Names of the custom (free-form input) tools. */
function customToolNames(tools: unknown): string[] {
  if (!Array.isArray(tools)) return [];
  return tools.filter((t): t is Json => isObject(t) && t.type === 'custom' && typeof t.name === 'string').map((t) => t.name as string);
}

function functionToolNames(tools: unknown): string[] {
  if (!Array.isArray(tools)) return [];
  const names: string[] = [];
  for (const t of tools) {
    if (!isObject(t) || t.type !== 'function') continue;
    const name = typeof t.name === 'string' ? t.name : isObject(t.function) && typeof t.function.name === 'string' ? t.function.name : undefined;
    if (name) names.push(name);
  }
  return names;
}

function chooseTool(names: string[], toolChoice: unknown, userText: string): string | undefined {
  if (names.length === 0 || toolChoice === 'none') return undefined;
  if (isObject(toolChoice) && (toolChoice.type === 'function' || toolChoice.type === 'custom')) {
    const forced = typeof toolChoice.name === 'string' ? toolChoice.name : isObject(toolChoice.function) ? String(toolChoice.function.name) : undefined;
    if (forced && names.includes(forced)) return forced;
  }
  return names.find((n) => userText.includes(n)) ?? names[0];
}

/** "Search for X" / "Search the web for X" with a web_search tool → a web_search_call, then a text citing it. */
const SEARCH_RE = /^\s*Search(?: the web)? for\s+([\s\S]*?)\.?\s*$/;

function hasWebSearchTool(tools: unknown): boolean {
  return Array.isArray(tools) && tools.some((t) => isObject(t) && t.type === 'web_search');
}

/** The URL the sandbox "finds" for a query. */
export function searchResultUrl(query: string): string {
  return `https://search.sandbox.test/?q=${encodeURIComponent(query)}`;
}

const RETURN_RE = /^\s*Return\s+([\s\S]*?)\.?\s*$/;

function wantsJson(body: Json): boolean {
  const text = body.text;
  if (!isObject(text) || !isObject(text.format)) return false;
  return text.format.type === 'json_object' || text.format.type === 'json_schema';
}

/**
 * Whether a reasoning item comes first, and with what summary: with effort above minimal, a
 * summary when one is asked for; without one, an item with an empty summary when the client can
 * see it at all (include reasoning.encrypted_content), as the real backend reasons either way.
 */
function plannedReasoning(body: Json, userText: string): PlannedItem | undefined {
  const r = body.reasoning;
  if (!isObject(r)) return undefined;
  const effort = r.effort;
  if (typeof effort !== 'string' || effort === 'none' || effort === 'minimal') return undefined;
  if (typeof r.summary === 'string' && r.summary !== 'none') return { type: 'reasoning', summary: `Thinking about: ${userText.slice(0, 40)}` };
  const encrypted = Array.isArray(body.include) && body.include.includes('reasoning.encrypted_content');
  return encrypted ? { type: 'reasoning', summary: '' } : undefined;
}

export function planReply(body: Json): ReplyPlan {
  const items = inputItems(body.input).filter((it) => !isContextOnly(it));
  const user = lastUserMessage(items);
  const userParts = user ? contentParts(user).filter((p) => !isReminder(p)) : [];
  const userText = partsText(userParts);
  const last = items[items.length - 1];
  const planned: PlannedItem[] = [];
  const reasoning = plannedReasoning(body, userText);
  if (reasoning) planned.push(reasoning);

  let text: string | undefined;
  const lastType = last ? itemType(last) : '';
  const returned = RETURN_RE.exec(userText);
  if (last && (lastType === 'function_call_output' || lastType === 'custom_tool_call_output')) {
    text = `Tool result: ${toolOutputText(last.output)}`;
  } else if (returned) {
    text = returned[1] ?? '';
  } else if (last === user && hasWebSearchTool(body.tools) && SEARCH_RE.test(userText)) {
    const query = SEARCH_RE.exec(userText)![1]!.trim();
    planned.push({ type: 'web_search', query });
    text = `Found results for: ${query}`;
  } else {
    const custom = customToolNames(body.tools);
    const tool = last && last === user ? chooseTool([...functionToolNames(body.tools), ...custom], body.tool_choice, userText) : undefined;
    if (tool && custom.includes(tool)) {
      const marker = userText.indexOf('input:');
      planned.push({ type: 'custom_tool_call', name: tool, input: marker >= 0 ? userText.slice(marker + 'input:'.length).trim() : userText });
      return { items: planned, userText };
    }
    if (tool) {
      planned.push({ type: 'function_call', name: tool, arguments: firstJsonObject(userText) ?? '{}' });
      return { items: planned, userText };
    }
    const images = userParts.filter((p) => p.type === 'input_image').length;
    text = images > 0 ? `I see ${images} image(s).` : `Echo: ${userText}`;
  }
  planned.push({ type: 'message', text: wantsJson(body) ? JSON.stringify({ answer: text }) : text });
  return { items: planned, userText };
}

/** Splits text into deltas before each space ("a b c" → "a", " b", " c"). */
export function textDeltas(text: string): string[] {
  if (text === '') return [];
  return text.split(/(?= )/);
}

/** Splits function arguments into at least two deltas. */
export function argumentDeltas(args: string): string[] {
  const n = Math.max(2, Math.ceil(args.length / 16));
  const size = Math.max(1, Math.ceil(args.length / n));
  const out: string[] = [];
  for (let i = 0; i < args.length; i += size) out.push(args.slice(i, i + size));
  while (out.length < 2) out.push('');
  return out;
}

/** Rough token count (4 characters per token, at least 1). */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

const REASONING_CIPHER_PREFIX = 'sandbox-reasoning:';

/** The sandbox's stand-in for encrypted reasoning: base64 of a marker and the summary. */
export function encryptReasoning(summary: string): string {
  return Buffer.from(`${REASONING_CIPHER_PREFIX}${summary}`).toString('base64');
}

/** Whether encrypted_content is one the sandbox issued (what the real backend can decrypt). */
export function isIssuedReasoning(encrypted: string): boolean {
  return Buffer.from(encrypted, 'base64').toString('utf8').startsWith(REASONING_CIPHER_PREFIX);
}
