import * as z from 'zod';
import { InvalidRequestError } from '../errors.js';
import { invalidRequestFromZod } from './chat-schema.js';

/**
 * The Anthropic Messages request (`POST /v1/messages`), as Claude Code and the Anthropic SDKs
 * send it. Objects are loose: fields this schema does not know pass validation untouched (the
 * translator reports unknown top-level parameters as dropped), so a newer client adding a
 * field does not break requests. Block types are checked exactly: an unknown one is a 400.
 */

const cacheControl = z.unknown().optional(); // accepted everywhere and ignored

const textBlockSchema = z.looseObject({ type: z.literal('text'), text: z.string(), cache_control: cacheControl });

const imageSourceSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('base64'), media_type: z.string().min(1), data: z.string() }),
  z.looseObject({ type: z.literal('url'), url: z.string().min(1) }),
  z.looseObject({ type: z.literal('file'), file_id: z.string() }),
]);

const imageBlockSchema = z.looseObject({ type: z.literal('image'), source: imageSourceSchema, cache_control: cacheControl });

const documentSourceSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('base64'), media_type: z.string().min(1), data: z.string() }),
  z.looseObject({ type: z.literal('url'), url: z.string().min(1) }),
  z.looseObject({ type: z.literal('text'), media_type: z.string().optional(), data: z.string() }),
  z.looseObject({ type: z.literal('content'), content: z.union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() }))]) }),
  z.looseObject({ type: z.literal('file'), file_id: z.string() }),
]);

const documentBlockSchema = z.looseObject({
  type: z.literal('document'),
  source: documentSourceSchema,
  title: z.string().nullish(),
  context: z.string().nullish(),
  cache_control: cacheControl,
});

const toolUseBlockSchema = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.unknown(),
  cache_control: cacheControl,
});

/** Claude Code's tool search answers with references to (deferred) tools by name. */
const toolReferenceBlockSchema = z.looseObject({ type: z.literal('tool_reference'), tool_name: z.string().min(1) });

const toolResultContentSchema = z.union([
  z.string(),
  z.array(z.discriminatedUnion('type', [textBlockSchema, imageBlockSchema, documentBlockSchema, toolReferenceBlockSchema])),
]);

const toolResultBlockSchema = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  content: toolResultContentSchema.optional(),
  is_error: z.boolean().nullish(),
  cache_control: cacheControl,
});

const thinkingBlockSchema = z.looseObject({ type: z.literal('thinking'), thinking: z.string(), signature: z.string().optional() });
const redactedThinkingBlockSchema = z.looseObject({ type: z.literal('redacted_thinking'), data: z.string() });
/** Server-tool history (a web search the model ran): the results are not replayed upstream. */
const serverToolUseBlockSchema = z.looseObject({ type: z.literal('server_tool_use'), id: z.string(), name: z.string() });
const webSearchResultBlockSchema = z.looseObject({ type: z.literal('web_search_tool_result'), tool_use_id: z.string() });

const contentBlockSchema = z.discriminatedUnion('type', [
  textBlockSchema,
  imageBlockSchema,
  documentBlockSchema,
  toolUseBlockSchema,
  toolResultBlockSchema,
  thinkingBlockSchema,
  redactedThinkingBlockSchema,
  serverToolUseBlockSchema,
  webSearchResultBlockSchema,
]);

const messageSchema = z.looseObject({
  // "system" inside messages: Claude Code sends late system reminders this way
  role: z.enum(['user', 'assistant', 'system']),
  content: z.union([z.string(), z.array(contentBlockSchema)]),
});

const toolSchema = z.looseObject({
  type: z.string().nullish(),
  name: z.string().min(1),
  description: z.string().nullish(),
  input_schema: z.record(z.string(), z.unknown()).optional(),
  allowed_domains: z.array(z.string()).nullish(),
  blocked_domains: z.array(z.string()).nullish(),
  user_location: z.record(z.string(), z.unknown()).nullish(),
  cache_control: cacheControl,
});

const toolChoiceSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().nullish() }),
  z.looseObject({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().nullish() }),
  z.looseObject({ type: z.literal('tool'), name: z.string().min(1), disable_parallel_tool_use: z.boolean().nullish() }),
  z.looseObject({ type: z.literal('none') }),
]);

const thinkingSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('enabled'), budget_tokens: z.number().int().min(0), display: z.string().nullish() }),
  z.looseObject({ type: z.literal('adaptive'), display: z.string().nullish() }),
  z.looseObject({ type: z.literal('disabled') }),
]);

export const messagesRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(messageSchema),
  max_tokens: z.number().int().min(1),
  system: z.union([z.string(), z.array(textBlockSchema)]).nullish(),
  stream: z.boolean().nullish(),
  stop_sequences: z.array(z.string()).nullish(),
  tools: z.array(toolSchema).nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  thinking: thinkingSchema.nullish(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).nullish(),
  output_config: z
    .looseObject({
      effort: z.string().nullish(),
      format: z.looseObject({ type: z.string(), schema: z.record(z.string(), z.unknown()).optional() }).nullish(),
    })
    .nullish(),
});

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;
export type MessageParam = MessagesRequest['messages'][number];
export type ContentBlock = Exclude<MessageParam['content'], string>[number];
export type ToolParam = NonNullable<MessagesRequest['tools']>[number];

/** `count_tokens` takes the same body without `max_tokens` (and never streams). */
const countTokensRequestSchema = messagesRequestSchema.extend({ max_tokens: z.number().int().min(1).optional() });

function parseWith<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidRequestError('The request body must be a JSON object.', { code: 'invalid_value' });
  }
  const r = schema.safeParse(input);
  if (!r.success) throw invalidRequestFromZod(r.error, input);
  return r.data;
}

/** Validates a parsed JSON body; throws InvalidRequestError (with `param`) when it does not fit. */
export function parseMessagesRequest(input: unknown): MessagesRequest {
  return parseWith(messagesRequestSchema, input);
}

/** The body of `POST /v1/messages/count_tokens`: a Messages request whose max_tokens is optional. */
export function parseCountTokensRequest(input: unknown): MessagesRequest {
  const parsed = parseWith(countTokensRequestSchema, input);
  return { ...parsed, max_tokens: parsed.max_tokens ?? 1 };
}
