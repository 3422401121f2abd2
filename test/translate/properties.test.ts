/**
 * Property tests (fast-check) over both translator directions:
 * - any valid chat request translates to a Responses body without throwing, and the body is
 *   what the backend requires (store:false, stream:true, an input list, serialisable);
 * - the stream translator, fed any valid Responses event sequence (reasoning, text, refusal and
 *   function-call items in any order and chunking, ending completed or incomplete), emits
 *   exactly one finish_reason and then ends: nothing after finishChatStream.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseChatCompletionRequest } from '../../src/translate/chat-schema.js';
import { chatToResponses } from '../../src/translate/chat-to-responses.js';
import {
  chatChunksForEvent,
  createChatStreamState,
  finishChatStream,
  type ChatCompletionChunk,
} from '../../src/translate/responses-to-chat.js';
import type { ResponsesEvent } from '../../src/upstream/types.js';
import { completed, created, functionCallItem, inProgress, incomplete, messageItem, reasoningItem } from './events.fixture.js';

const RUNS = 300;

// ---- chat requests -------------------------------------------------------------------------

// printable text and any code unit sequence (lone surrogates, NUL, CR/LF) alike
const text = fc.oneof(fc.string({ maxLength: 40, unit: 'grapheme' }), fc.string({ maxLength: 20, unit: 'binary' }));
const name = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_-]{0,20}$/);
const jsonValue = fc.jsonValue({ maxDepth: 4 });

const textPart = fc.record({ type: fc.constant('text'), text });
const imagePart = fc.record({
  type: fc.constant('image_url'),
  image_url: fc.record({ url: fc.constantFrom('https://example.com/a.png', 'data:image/png;base64,iVBORw0KGgo='), detail: fc.constantFrom('auto', 'low', 'high') }, { requiredKeys: ['url'] }),
});
const userContent = fc.oneof(text, fc.array(fc.oneof(textPart, imagePart), { minLength: 1, maxLength: 3 }));
const toolCall = fc.record({ id: name.map((n) => `call_${n}`), type: fc.constant('function'), function: fc.record({ name, arguments: jsonValue.map((v) => JSON.stringify(v)) }) });

const message = fc.oneof(
  fc.record({ role: fc.constantFrom('system', 'developer'), content: fc.oneof(text, fc.array(textPart, { minLength: 1, maxLength: 2 })) }),
  fc.record({ role: fc.constant('user'), content: userContent, name: fc.option(name, { nil: undefined }) }, { requiredKeys: ['role', 'content'] }),
  fc.record({ role: fc.constant('assistant'), content: fc.option(text, { nil: null }), tool_calls: fc.option(fc.array(toolCall, { minLength: 1, maxLength: 2 }), { nil: undefined }) }, { requiredKeys: ['role', 'content'] }),
  fc.record({ role: fc.constant('tool'), tool_call_id: name.map((n) => `call_${n}`), content: fc.oneof(text, fc.array(textPart, { minLength: 1, maxLength: 2 })) }),
);

const tool = fc.record({
  type: fc.constant('function'),
  function: fc.record(
    { name, description: fc.option(text, { nil: undefined }), parameters: fc.dictionary(name, jsonValue, { maxKeys: 3 }), strict: fc.option(fc.boolean(), { nil: undefined }) },
    { requiredKeys: ['name'] },
  ),
});

const chatRequest = fc.record(
  {
    model: fc.constantFrom('gpt-5', 'gpt-5-codex'),
    messages: fc.array(message, { minLength: 1, maxLength: 6 }),
    stream: fc.boolean(),
    stream_options: fc.record({ include_usage: fc.boolean() }),
    tools: fc.array(tool, { maxLength: 3 }),
    tool_choice: fc.oneof(fc.constantFrom('auto', 'none', 'required'), name.map((n) => ({ type: 'function', function: { name: n } }))),
    parallel_tool_calls: fc.boolean(),
    reasoning_effort: fc.constantFrom('minimal', 'low', 'medium', 'high'),
    response_format: fc.oneof(
      fc.constant({ type: 'text' }),
      fc.constant({ type: 'json_object' }),
      fc.record({ type: fc.constant('json_schema'), json_schema: fc.record({ name, schema: fc.dictionary(name, jsonValue, { maxKeys: 3 }), strict: fc.boolean() }, { requiredKeys: ['name'] }) }),
    ),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    top_p: fc.double({ min: 0, max: 1, noNaN: true }),
    max_tokens: fc.integer({ min: 1, max: 100_000 }),
    user: text,
    prompt_cache_key: text,
    seed: fc.integer(),
    stop: fc.oneof(text, fc.array(text, { maxLength: 4 })),
    metadata: fc.dictionary(name, text, { maxKeys: 3 }),
    n: fc.constant(1),
  },
  { requiredKeys: ['model', 'messages'] },
);

describe('chat → responses (property)', () => {
  it('any valid chat request translates without throwing, into a body the backend accepts', () => {
    fc.assert(
      fc.property(chatRequest, (raw) => {
        const req = parseChatCompletionRequest(JSON.parse(JSON.stringify(raw)));
        const { body } = chatToResponses(req, { model: req.model });
        expect(body['model']).toBe(req.model);
        expect(body['stream']).toBe(true);
        expect(body['store']).toBe(false);
        expect(Array.isArray(body['input'])).toBe(true);
        for (const banned of ['temperature', 'top_p', 'max_tokens', 'max_output_tokens', 'seed', 'stop', 'n']) expect(body).not.toHaveProperty(banned);
        expect(() => JSON.stringify(body)).not.toThrow();
      }),
      { numRuns: RUNS },
    );
  });
});

// ---- responses event streams ---------------------------------------------------------------

type ItemSpec =
  | { kind: 'message'; deltas: string[] }
  | { kind: 'function'; name: string; deltas: string[] }
  | { kind: 'reasoning'; parts: string[][] };

const itemSpec: fc.Arbitrary<ItemSpec> = fc.oneof(
  fc.record({ kind: fc.constant('message' as const), deltas: fc.array(text, { maxLength: 5 }) }),
  fc.record({ kind: fc.constant('function' as const), name, deltas: fc.array(text, { maxLength: 5 }) }),
  fc.record({ kind: fc.constant('reasoning' as const), parts: fc.array(fc.array(text, { maxLength: 3 }), { maxLength: 3 }) }),
);

const streamSpec = fc.record({
  prelude: fc.boolean(),
  items: fc.array(itemSpec, { maxLength: 5 }),
  ending: fc.constantFrom('completed', 'max_output_tokens', 'content_filter'),
  includeUsage: fc.boolean(),
  /** Events the translator does not know, sprinkled in (the backend adds new ones over time). */
  noise: fc.array(fc.nat({ max: 50 }), { maxLength: 3 }),
});

function eventsOf(spec: { prelude: boolean; items: ItemSpec[]; ending: string; noise: number[] }): ResponsesEvent[] {
  const events: ResponsesEvent[] = spec.prelude ? [created, inProgress] : [created];
  spec.items.forEach((item, i) => {
    if (item.kind === 'message') events.push(...messageItem(`msg_${i}`, i, item.deltas));
    else if (item.kind === 'function') events.push(...functionCallItem(`fc_${i}`, `call_${i}`, item.name, i, item.deltas));
    else events.push(...reasoningItem(`rs_${i}`, i, item.parts));
  });
  for (const at of spec.noise) events.splice(1 + (at % events.length), 0, { type: 'response.some_future_event', payload: at });
  events.push(spec.ending === 'completed' ? completed() : incomplete(spec.ending));
  return events;
}

describe('responses → chat stream (property)', () => {
  it('any valid event sequence gives exactly one finish_reason, then the stream ends', () => {
    fc.assert(
      fc.property(streamSpec, (spec) => {
        const state = createChatStreamState({ id: 'chatcmpl-1', model: 'gpt-5', created: 1, includeUsage: spec.includeUsage });
        const chunks: ChatCompletionChunk[] = [];
        for (const ev of eventsOf(spec)) chunks.push(...chatChunksForEvent(state, ev));
        chunks.push(...finishChatStream(state));
        const finishes = chunks.flatMap((c) => c.choices.filter((ch) => ch.finish_reason !== null));
        expect(finishes).toHaveLength(1);
        const expected = spec.ending === 'max_output_tokens' ? 'length' : spec.ending === 'content_filter' ? 'content_filter' : spec.items.some((i) => i.kind === 'function') ? 'tool_calls' : 'stop';
        expect(finishes[0]!.finish_reason).toBe(expected);
        // the finish chunk is the last chunk with choices; with include_usage one usage chunk follows it
        const lastWithChoices = chunks.map((c) => c.choices.length > 0).lastIndexOf(true);
        expect(chunks[lastWithChoices]!.choices[0]!.finish_reason).toBe(expected);
        expect(chunks.length - 1 - lastWithChoices).toBe(spec.includeUsage ? 1 : 0);
        // it has ended: further events and another finish add nothing
        expect(chatChunksForEvent(state, completed())).toEqual([]);
        expect(finishChatStream(state)).toEqual([]);
        // the text and arguments reach the client whole, in order
        const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
        expect(content).toBe(spec.items.filter((i) => i.kind === 'message').map((i) => (i as { deltas: string[] }).deltas.join('')).join(''));
      }),
      { numRuns: RUNS },
    );
  });
});
