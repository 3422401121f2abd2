import { describe, expect, it } from 'vitest';
import {
  chatChunksForEvent,
  chatErrorChunk,
  ChatChunkSse,
  chatUsageFrom,
  createChatStreamState,
  finishChatStream,
} from '../../src/translate/responses-to-chat.js';
import type { ChatCompletionChunk, ChatDelta, ChatStreamState } from '../../src/translate/responses-to-chat.js';
import { UpstreamFailure } from '../../src/upstream/types.js';
import type { ResponsesEvent } from '../../src/upstream/types.js';
import { completed, created, failed, functionCallItem, inProgress, incomplete, messageItem, reasoningItem, usage } from './events.fixture.js';

const ID = 'chatcmpl-test';
const CREATED = 1_700_000_123;
const MODEL = 'gpt-5';

function state(includeUsage = false): ChatStreamState {
  return createChatStreamState({ id: ID, model: MODEL, created: CREATED, includeUsage });
}
function run(events: ResponsesEvent[], includeUsage = false): ChatCompletionChunk[] {
  const s = state(includeUsage);
  const out = events.flatMap((e) => chatChunksForEvent(s, e));
  return [...out, ...finishChatStream(s)];
}
function c(delta: ChatDelta, finish: ChatCompletionChunk['choices'][number]['finish_reason'] = null): ChatCompletionChunk {
  return { id: ID, object: 'chat.completion.chunk', created: CREATED, model: MODEL, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
}
const chatUsage = {
  prompt_tokens: 20,
  completion_tokens: 12,
  total_tokens: 32,
  prompt_tokens_details: { cached_tokens: 8 },
  completion_tokens_details: { reasoning_tokens: 5 },
};
const usageChunk: ChatCompletionChunk = { id: ID, object: 'chat.completion.chunk', created: CREATED, model: MODEL, choices: [], usage: chatUsage };

describe('chatChunksForEvent: whole streams', () => {
  const cases: [string, ResponsesEvent[], boolean, ChatCompletionChunk[]][] = [
    ['plain text', [created, inProgress, ...messageItem('msg_1', 0, ['Hello', ' world']), completed()], false,
      [c({ role: 'assistant', content: 'Hello' }), c({ content: ' world' }), c({}, 'stop')]],
    ['plain text with usage', [created, inProgress, ...messageItem('msg_1', 0, ['OK']), completed()], true,
      [c({ role: 'assistant', content: 'OK' }), c({}, 'stop'), usageChunk]],
    ['one tool call', [created, inProgress, ...functionCallItem('fc_1', 'call_1', 'get_weather', 0, ['{"city":', '"Paris"}']), completed()], false, [
      c({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
      c({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      c({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
      c({}, 'tool_calls'),
    ]],
    ['tool call with no arguments', [created, ...functionCallItem('fc_1', 'call_1', 'now', 0, []), completed()], false, [
      c({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'now', arguments: '' } }] }),
      c({}, 'tool_calls'),
    ]],
    ['two tool calls get indices 0 and 1', [
      created,
      ...functionCallItem('fc_1', 'call_a', 'a', 0, ['{}']),
      ...functionCallItem('fc_2', 'call_b', 'b', 1, ['{"x"', ':1}']),
      completed(),
    ], true, [
      c({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '' } }] }),
      c({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] }),
      c({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'b', arguments: '' } }] }),
      c({ tool_calls: [{ index: 1, function: { arguments: '{"x"' } }] }),
      c({ tool_calls: [{ index: 1, function: { arguments: ':1}' } }] }),
      c({}, 'tool_calls'),
      usageChunk,
    ]],
    ['text then a tool call', [created, ...messageItem('msg_1', 0, ['Checking.']), ...functionCallItem('fc_1', 'call_1', 'f', 1, ['{}']), completed()], false, [
      c({ role: 'assistant', content: 'Checking.' }),
      c({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }] }),
      c({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] }),
      c({}, 'tool_calls'),
    ]],
    ['reasoning + text', [created, inProgress, ...reasoningItem('rs_1', 0, [['Thinking', ' about']]), ...messageItem('msg_1', 1, ['Answer']), completed()], true, [
      c({ role: 'assistant', reasoning_content: 'Thinking' }),
      c({ reasoning_content: ' about' }),
      c({ content: 'Answer' }),
      c({}, 'stop'),
      usageChunk,
    ]],
    ['two reasoning summary parts are separated by a blank line', [created, ...reasoningItem('rs_1', 0, [['One.'], ['Two.']]), ...messageItem('m', 1, ['x']), completed()], false, [
      c({ role: 'assistant', reasoning_content: 'One.' }),
      c({ reasoning_content: '\n\nTwo.' }),
      c({ content: 'x' }),
      c({}, 'stop'),
    ]],
    ['incomplete: max_output_tokens → length', [created, ...messageItem('m', 0, ['cut']), incomplete('max_output_tokens')], true,
      [c({ role: 'assistant', content: 'cut' }), c({}, 'length'), usageChunk]],
    ['incomplete: content_filter → content_filter', [created, ...messageItem('m', 0, ['cut']), incomplete('content_filter')], false,
      [c({ role: 'assistant', content: 'cut' }), c({}, 'content_filter')]],
    ['empty completion still has one finish chunk carrying the role', [created, inProgress, completed()], false,
      [c({ role: 'assistant' }, 'stop')]],
    ['usage requested but none sent: no usage chunk', [created, ...messageItem('m', 0, ['a']), completed([], null)], true,
      [c({ role: 'assistant', content: 'a' }), c({}, 'stop')]],
    ['unknown and no-content events are ignored', [
      created, inProgress, { type: 'response.queued' }, { type: 'response.something_new', x: 1 },
      { type: 'response.web_search_call.in_progress', item_id: 'ws', output_index: 0 },
      ...messageItem('m', 0, ['a']), completed(),
    ], false, [c({ role: 'assistant', content: 'a' }), c({}, 'stop')]],
    ['events after the terminal one are ignored', [created, ...messageItem('m', 0, ['a']), completed(), ...messageItem('m2', 1, ['late'])], false,
      [c({ role: 'assistant', content: 'a' }), c({}, 'stop')]],
    ['refusal', [created,
      { type: 'response.refusal.delta', item_id: 'm', output_index: 0, content_index: 0, delta: 'I can' },
      { type: 'response.refusal.delta', item_id: 'm', output_index: 0, content_index: 0, delta: 'not.' },
      { type: 'response.refusal.done', item_id: 'm', output_index: 0, content_index: 0, refusal: 'I cannot.' },
      completed()], false,
      [c({ role: 'assistant', refusal: 'I can' }), c({ refusal: 'not.' }), c({}, 'stop')]],
    ['raw reasoning text deltas also become reasoning_content', [created,
      { type: 'response.reasoning_text.delta', item_id: 'rs', output_index: 0, content_index: 0, delta: 'hmm' },
      { type: 'response.reasoning_text.done', item_id: 'rs', output_index: 0, content_index: 0, text: 'hmm' },
      completed()], false,
      [c({ role: 'assistant', reasoning_content: 'hmm' }), c({}, 'stop')]],
  ];
  it.each(cases)('%s', (_name, events, includeUsage, expected) => {
    expect(run(events, includeUsage)).toEqual(expected);
  });

  it('exactly one chunk has a finish_reason in every case', () => {
    for (const [, events, includeUsage] of cases) {
      const finishes = run(events, includeUsage).filter((ch) => ch.choices.some((x) => x.finish_reason !== null));
      expect(finishes).toHaveLength(1);
    }
  });

  it('the role is only on the first chunk', () => {
    for (const [, events] of cases) {
      const chunks = run(events);
      expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
      expect(chunks.slice(1).filter((ch) => ch.choices[0]?.delta.role)).toHaveLength(0);
    }
  });
});

describe('chatChunksForEvent: backends that skip deltas', () => {
  const cases: [string, ResponsesEvent[], ChatCompletionChunk[]][] = [
    ['output_text.done without deltas', [
      { type: 'response.output_text.done', item_id: 'm', output_index: 0, content_index: 0, text: 'whole' },
      { type: 'response.output_item.done', output_index: 0, item: { id: 'm', type: 'message', content: [{ type: 'output_text', text: 'whole' }] } },
      completed(),
    ], [c({ role: 'assistant', content: 'whole' }), c({}, 'stop')]],
    ['only output_item.done for a message', [
      { type: 'response.output_item.done', output_index: 0, item: { id: 'm', type: 'message', content: [{ type: 'output_text', text: 'a' }, { type: 'refusal', refusal: 'r' }] } },
      completed(),
    ], [c({ role: 'assistant', content: 'a' }), c({ refusal: 'r' }), c({}, 'stop')]],
    ['function_call_arguments.done without deltas', [
      { type: 'response.output_item.added', output_index: 0, item: { id: 'fc', type: 'function_call', call_id: 'call_9', name: 'f', arguments: '' } },
      { type: 'response.function_call_arguments.done', item_id: 'fc', output_index: 0, arguments: '{"a":1}' },
      { type: 'response.output_item.done', output_index: 0, item: { id: 'fc', type: 'function_call', call_id: 'call_9', name: 'f', arguments: '{"a":1}' } },
      completed(),
    ], [
      c({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'f', arguments: '' } }] }),
      c({ tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] }),
      c({}, 'tool_calls'),
    ]],
    ['only output_item.done for a function call', [
      { type: 'response.output_item.done', output_index: 0, item: { id: 'fc', type: 'function_call', call_id: 'call_9', name: 'f', arguments: '{}' } },
      completed(),
    ], [
      c({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'f', arguments: '{}' } }] }),
      c({}, 'tool_calls'),
    ]],
    ['deltas keyed by output_index only', [
      { type: 'response.output_item.added', output_index: 3, item: { type: 'function_call', call_id: 'call_x', name: 'g', arguments: '' } },
      { type: 'response.function_call_arguments.delta', output_index: 3, delta: '{}' },
      completed(),
    ], [
      c({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_x', type: 'function', function: { name: 'g', arguments: '' } }] }),
      c({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] }),
      c({}, 'tool_calls'),
    ]],
    ['reasoning only in output_item.done', [
      { type: 'response.output_item.done', output_index: 0, item: { id: 'rs', type: 'reasoning', summary: [{ type: 'summary_text', text: 'S' }] } },
      completed(),
    ], [c({ role: 'assistant', reasoning_content: 'S' }), c({}, 'stop')]],
  ];
  it.each(cases)('%s', (_name, events, expected) => {
    expect(run(events)).toEqual(expected);
  });
});

describe('failures', () => {
  it('response.failed mid-stream throws UpstreamFailure(response_failed) with code and message', () => {
    const s = state(true);
    const chunks = [created, ...messageItem('m', 0, ['par', 'tial']).slice(0, 3)].flatMap((e) => chatChunksForEvent(s, e));
    expect(chunks).toEqual([c({ role: 'assistant', content: 'par' })]);
    let err: unknown;
    try {
      chatChunksForEvent(s, failed('server_error', 'The model crashed'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect(err).toMatchObject({ kind: 'response_failed', code: 'server_error', message: 'The model crashed' });
    // the stream is over: nothing more, not even a finish chunk
    expect(finishChatStream(s)).toEqual([]);
    expect(chatChunksForEvent(s, completed())).toEqual([]);
  });

  it('a top-level error event throws too', () => {
    expect(() => chatChunksForEvent(state(), { type: 'error', code: 'rate_limit_exceeded', message: 'slow down' })).toThrow(
      expect.objectContaining({ kind: 'response_failed', code: 'rate_limit_exceeded', message: 'slow down' }),
    );
  });

  it('failure messages are scrubbed of tokens', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    expect(() => chatChunksForEvent(state(), failed('x', `bad token ${jwt}`))).toThrow(/bad token \[redacted-jwt\]/);
  });

  it('response.failed without an error object still has a message', () => {
    expect(() => chatChunksForEvent(state(), { type: 'response.failed', response: {} })).toThrow(/failed without an error message/);
  });

  it('chatErrorChunk: an OpenAI-style error inside a chunk', () => {
    const s = state();
    chatChunksForEvent(s, messageItem('m', 0, ['a'])[2]!);
    expect(chatErrorChunk(s, { message: 'upstream failed', type: 'upstream_error', code: 'server_error' })).toEqual({
      id: ID,
      object: 'chat.completion.chunk',
      created: CREATED,
      model: MODEL,
      choices: [],
      error: { message: 'upstream failed', type: 'upstream_error', code: 'server_error', param: null },
    });
    expect(finishChatStream(s)).toEqual([]);
  });

  it('finishChatStream after a stream that ended without a terminal event closes with one finish chunk', () => {
    const s = state(true);
    const chunks = [created, ...functionCallItem('fc', 'call_1', 'f', 0, ['{}'])].flatMap((e) => chatChunksForEvent(s, e));
    expect([...chunks, ...finishChatStream(s)].at(-1)).toEqual(c({}, 'tool_calls'));
    expect(finishChatStream(s)).toEqual([]);
  });
});

describe('chatUsageFrom', () => {
  it('maps every field', () => {
    expect(chatUsageFrom(usage)).toEqual(chatUsage);
  });
  it('fills zeros and computes the total when fields are missing', () => {
    expect(chatUsageFrom({ input_tokens: 3, output_tokens: 4 })).toEqual({
      prompt_tokens: 3, completion_tokens: 4, total_tokens: 7,
      prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 },
    });
  });
  it('null for no usage', () => {
    expect(chatUsageFrom(null)).toBeNull();
  });
});

describe('ChatChunkSse: SSE text from the per-stream template', () => {
  it('is byte for byte what JSON.stringify gives, for every kind of chunk a stream produces', () => {
    const events = [
      created,
      ...reasoningItem('rs_1', 0, [['Thinking', ' hard']]),
      ...messageItem('msg_1', 1, ['Hello "quoted" \u2028 line', ' \\ world']),
      ...functionCallItem('fc_1', 'call_1', 'get_weather', 2, ['{"city":', '"Paris"}']),
      completed(),
    ];
    const s = createChatStreamState({ id: 'chatcmpl-"odd"', model: 'gpt-5 "x"', created: CREATED, includeUsage: true });
    const chunks = [...events.flatMap((e) => chatChunksForEvent(s, e)), ...finishChatStream(s)];
    const sse = new ChatChunkSse(s);
    expect(chunks.length).toBeGreaterThan(6);
    expect(chunks.some((ch) => ch.usage)).toBe(true);
    for (const ch of chunks) expect(sse.text(ch)).toBe(`data: ${JSON.stringify(ch)}\n\n`);
    const err = chatErrorChunk(s, { message: 'boom', type: 'upstream_error', code: 'stream_closed' });
    expect(sse.text(err as unknown as ChatCompletionChunk)).toBe(`data: ${JSON.stringify(err)}\n\n`);
  });
});
