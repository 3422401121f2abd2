import * as z from 'zod';
import { InvalidRequestError } from '../errors.js';
import { clip } from '../util/quote.js';

/**
 * The OpenAI chat.completions request, as clients send it. Every object is "loose": fields
 * this schema does not know pass through validation untouched (the translator drops them and
 * reports them in `dropped`), so a newer SDK adding a field does not break requests.
 */

const nullish = <T extends z.ZodType>(t: T) => t.nullish();

// ---- content parts ----------------------------------------------------------------------

const textPartSchema = z.looseObject({ type: z.literal('text'), text: z.string() });

const imageUrlPartSchema = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.union([
    z.string(),
    z.looseObject({ url: z.string(), detail: nullish(z.enum(['auto', 'low', 'high'])) }),
  ]),
});

const inputAudioPartSchema = z.looseObject({
  type: z.literal('input_audio'),
  input_audio: z.looseObject({ data: z.string(), format: z.string() }),
});

const filePartSchema = z.looseObject({
  type: z.literal('file'),
  file: z.looseObject({
    file_data: nullish(z.string()),
    file_id: nullish(z.string()),
    filename: nullish(z.string()),
  }),
});

const refusalPartSchema = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });

const userPartSchema = z.discriminatedUnion('type', [textPartSchema, imageUrlPartSchema, inputAudioPartSchema, filePartSchema]);
const assistantPartSchema = z.discriminatedUnion('type', [textPartSchema, refusalPartSchema]);

const textContent = z.union([z.string(), z.array(textPartSchema)]);

// ---- messages -----------------------------------------------------------------------------

const functionToolCallSchema = z.looseObject({
  id: z.string().min(1),
  type: z.literal('function').optional(),
  function: z.looseObject({ name: z.string().min(1), arguments: nullish(z.string()) }),
});

/** A call of a `custom` (free-form input) tool, as the model returned it. */
const customToolCallSchema = z.looseObject({
  id: z.string().min(1),
  type: z.literal('custom'),
  custom: z.looseObject({ name: z.string().min(1), input: nullish(z.string()) }),
});

const toolCallSchema = z.union([customToolCallSchema, functionToolCallSchema]);

const systemMessageSchema = z.looseObject({
  role: z.literal('system'),
  content: textContent,
  name: nullish(z.string()),
});

const developerMessageSchema = z.looseObject({
  role: z.literal('developer'),
  content: textContent,
  name: nullish(z.string()),
});

const userMessageSchema = z.looseObject({
  role: z.literal('user'),
  content: z.union([z.string(), z.array(userPartSchema)]),
  name: nullish(z.string()),
});

const assistantMessageSchema = z.looseObject({
  role: z.literal('assistant'),
  content: nullish(z.union([z.string(), z.array(assistantPartSchema)])),
  refusal: nullish(z.string()),
  name: nullish(z.string()),
  tool_calls: nullish(z.array(toolCallSchema)),
  /** Legacy (pre-tools) single function call. */
  function_call: nullish(z.looseObject({ name: z.string().min(1), arguments: nullish(z.string()) })),
});

/** Tool results may carry images (a screenshot tool, say) beside text. */
const toolPartSchema = z.discriminatedUnion('type', [textPartSchema, imageUrlPartSchema]);

const toolMessageSchema = z.looseObject({
  role: z.literal('tool'),
  content: z.union([z.string(), z.array(toolPartSchema)]),
  tool_call_id: z.string().min(1),
});

/** Legacy (pre-tools) function result. */
const functionMessageSchema = z.looseObject({
  role: z.literal('function'),
  name: z.string().min(1),
  content: nullish(z.string()),
});

const chatMessageSchema = z.discriminatedUnion('role', [
  systemMessageSchema,
  developerMessageSchema,
  userMessageSchema,
  assistantMessageSchema,
  toolMessageSchema,
  functionMessageSchema,
]);

// ---- tools --------------------------------------------------------------------------------

const functionDefinitionSchema = z.looseObject({
  name: z.string().min(1),
  description: nullish(z.string()),
  parameters: nullish(z.record(z.string(), z.unknown())),
  strict: nullish(z.boolean()),
});

const functionToolSchema = z.looseObject({ type: z.literal('function'), function: functionDefinitionSchema });

/** A free-form input tool: OpenAI's shape `{type:"custom", custom:{name, description, format}}`, or flat. */
const customToolSchema = z.looseObject({
  type: z.literal('custom'),
  custom: nullish(z.looseObject({ name: z.string().min(1), description: nullish(z.string()), format: nullish(z.unknown()) })),
  name: nullish(z.string().min(1)),
  description: nullish(z.string()),
  format: nullish(z.unknown()),
});

/** A built-in tool the backend runs itself (`web_search`, `web_search_preview`, …): passed through. */
const builtInToolSchema = z.looseObject({
  type: z.string().min(1).refine((t) => t !== 'function' && t !== 'custom', { message: 'a built-in tool type', abort: true }),
});

const toolSchema = z.union([functionToolSchema, customToolSchema, builtInToolSchema]);

const namedToolChoiceSchema = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({ name: z.string().min(1) }),
});

const namedCustomToolChoiceSchema = z.looseObject({
  type: z.literal('custom'),
  custom: z.looseObject({ name: z.string().min(1) }),
});

/** `{type:"web_search"}` and other built-in tool choices: passed through. */
const builtInToolChoiceSchema = z.looseObject({
  type: z.string().min(1).refine((t) => !['function', 'custom', 'allowed_tools'].includes(t), { message: 'a built-in tool type', abort: true }),
});

const allowedToolsChoiceSchema = z.looseObject({
  type: z.literal('allowed_tools'),
  allowed_tools: z.looseObject({
    mode: z.enum(['auto', 'required']),
    tools: z.array(
      z.union([
        z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string().min(1) }) }),
        z.looseObject({ type: z.literal('custom'), custom: z.looseObject({ name: z.string().min(1) }) }),
        builtInToolChoiceSchema,
      ]),
    ),
  }),
});

const toolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  namedToolChoiceSchema,
  namedCustomToolChoiceSchema,
  allowedToolsChoiceSchema,
  builtInToolChoiceSchema,
]);

// ---- response format ----------------------------------------------------------------------

const responseFormatSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({
      name: z.string().min(1),
      description: nullish(z.string()),
      schema: nullish(z.record(z.string(), z.unknown())),
      strict: nullish(z.boolean()),
    }),
  }),
]);

/**
 * Effort values are not enumerated: one the project does not know yet (a new backend level) is
 * forwarded and the backend decides. `reasoning` is the Responses-style object some clients send
 * instead of `reasoning_effort`.
 */
const reasoningSchema = z.looseObject({
  effort: nullish(z.string().min(1)),
  summary: nullish(z.string().min(1)),
});

// ---- the request --------------------------------------------------------------------------

export const chatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(chatMessageSchema).min(1, 'messages must contain at least one message'),
  stream: nullish(z.boolean()),
  stream_options: nullish(z.looseObject({ include_usage: nullish(z.boolean()) })),
  tools: nullish(z.array(toolSchema)),
  tool_choice: nullish(toolChoiceSchema),
  parallel_tool_calls: nullish(z.boolean()),
  /** Legacy function calling. */
  functions: nullish(z.array(functionDefinitionSchema)),
  function_call: nullish(z.union([z.enum(['none', 'auto']), z.looseObject({ name: z.string().min(1) })])),
  response_format: nullish(responseFormatSchema),
  reasoning_effort: nullish(z.string().min(1)),
  reasoning: nullish(reasoningSchema),
  verbosity: nullish(z.enum(['low', 'medium', 'high'])),
  user: nullish(z.string()),
  prompt_cache_key: nullish(z.string()),
  n: nullish(z.number().int().min(1)),
  // Accepted (type-checked) but dropped: the Codex backend rejects or ignores them.
  temperature: nullish(z.number()),
  top_p: nullish(z.number()),
  max_tokens: nullish(z.number().int()),
  max_completion_tokens: nullish(z.number().int()),
  frequency_penalty: nullish(z.number()),
  presence_penalty: nullish(z.number()),
  logprobs: nullish(z.boolean()),
  top_logprobs: nullish(z.number().int()),
  seed: nullish(z.number().int()),
  stop: nullish(z.union([z.string(), z.array(z.string())])),
  logit_bias: nullish(z.record(z.string(), z.number())),
  service_tier: nullish(z.string()),
  metadata: nullish(z.record(z.string(), z.string())),
  store: nullish(z.boolean()),
});

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
export type ChatMessage = z.infer<typeof chatMessageSchema>;
export type ChatTool = z.infer<typeof toolSchema>;
export type ChatToolCall = z.infer<typeof toolCallSchema>;
export type ChatToolChoice = z.infer<typeof toolChoiceSchema>;
export type ChatResponseFormat = z.infer<typeof responseFormatSchema>;

/** Dotted path of a zod issue: ['messages', 0, 'content'] → 'messages.0.content'. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'symbol' ? p.description ?? '' : String(p))).join('.');
}

/**
 * Finds the issue that best explains a failure: inside a union, the branch whose shape matches
 * the value's type (an array content whose part has a bad `type`, say) rather than "matches nothing".
 */
function innermostIssue(issue: z.core.$ZodIssue, input: unknown): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  const branch = issue.errors.find((errs) => !errs.some((e) => e.code === 'invalid_type' && e.path.length === 0));
  const first = branch?.[0];
  if (!first) return issue;
  return innermostIssue({ ...first, path: [...issue.path, ...first.path] } as z.core.$ZodIssue, input);
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const where = clip(issuePath(issue.path));
  const value = valueAt(input, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return `Missing required parameter: '${where}'.`;
      return `Invalid type for '${where}': expected ${issue.expected}, got ${typeName(value)}.`;
    case 'invalid_union': {
      const options = (issue as { options?: unknown[] }).options;
      if (issue.errors.length === 0 && Array.isArray(options)) {
        if (value === undefined) return `Missing required parameter: '${where}'.`;
        return `Invalid value for '${where}': ${shortValue(value)}. Supported values are: ${options.map((v) => `'${String(v)}'`).join(', ')}.`;
      }
      const expected = issue.errors
        .map((errs) => errs.find((e) => e.code === 'invalid_type' && e.path.length === 0))
        .map((e) => (e && e.code === 'invalid_type' ? e.expected : undefined))
        .filter((e): e is NonNullable<typeof e> => e !== undefined);
      if (expected.length === issue.errors.length) {
        return `Invalid type for '${where}': expected ${[...new Set(expected)].join(' or ')}, got ${typeName(value)}.`;
      }
      return `Invalid value for '${where}': ${shortValue(value)} does not match any accepted shape.`;
    }
    case 'invalid_value':
      return `Invalid value for '${where}': ${shortValue(value)}. Supported values are: ${issue.values.map((v) => `'${String(v)}'`).join(', ')}.`;
    case 'too_small':
      return where ? `Invalid '${where}': ${issue.message}.` : issue.message;
    case 'unrecognized_keys':
      return `Unrecognized parameter(s) in '${where}': ${clip(issue.keys.join(', '))}.`;
    default:
      return `Invalid value for '${where}': ${issue.message}.`;
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function shortValue(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'array' : 'object';
}

/**
 * A zod validation error → the OpenAI-style 400: `param` is the dotted path of the first
 * problem (`messages.0.content`), the message says what is wrong there.
 */
export function invalidRequestFromZod(error: z.ZodError, input: unknown): InvalidRequestError {
  const top = error.issues[0];
  if (!top) return new InvalidRequestError('Invalid request body.');
  const issue = innermostIssue(top, input);
  const param = clip(issuePath(issue.path)) || null;
  const message = describeIssue(issue, input);
  const code = message.startsWith('Missing required parameter') ? 'missing_required_parameter' : 'invalid_value';
  return new InvalidRequestError(message, { param, code });
}

/** Validates a parsed JSON body; throws InvalidRequestError (with `param`) when it does not fit. */
export function parseChatCompletionRequest(input: unknown): ChatCompletionRequest {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidRequestError('The request body must be a JSON object.', { code: 'invalid_value' });
  }
  const r = chatCompletionRequestSchema.safeParse(input);
  if (!r.success) throw invalidRequestFromZod(r.error, input);
  return r.data;
}
