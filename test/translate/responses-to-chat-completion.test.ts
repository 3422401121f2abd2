import { describe, expect, it } from 'vitest';
import { ApiError, InvalidRequestError, UpstreamBadGatewayError } from '../../src/errors.js';
import { chatCompletionFromEvents } from '../../src/translate/responses-to-chat-completion.js';
import type { ResponsesEvent } from '../../src/upstream/types.js';
import { completed, created, failed, functionCallItem, inProgress, incomplete, messageItem, reasoningItem } from './events.fixture.js';

const init = { id: 'chatcmpl-1', model: 'gpt-5', created: 1_700_000_000 };
const usage = {
  prompt_tokens: 20, completion_tokens: 12, total_tokens: 32,
  prompt_tokens_details: { cached_tokens: 8 }, completion_tokens_details: { reasoning_tokens: 5 },
};
const zeroUsage = {
  prompt_tokens: 0, completion_tokens: 0, total_tokens: 0,
  prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 },
};

function completion(message: Record<string, unknown>, finish: string, u: unknown = usage) {
  return { ...init, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', refusal: null, ...message }, logprobs: null, finish_reason: finish }], usage: u };
}

describe('chatCompletionFromEvents', () => {
  const cases: [string, ResponsesEvent[], unknown][] = [
    ['text', [created, inProgress, ...messageItem('m', 0, ['Hello', ' world']), completed()], completion({ content: 'Hello world' }, 'stop')],
    ['tool calls', [created, ...functionCallItem('fc1', 'call_a', 'a', 0, ['{"x"', ':1}']), ...functionCallItem('fc2', 'call_b', 'b', 1, []), completed()],
      completion({ content: null, tool_calls: [
        { id: 'call_a', type: 'function', function: { name: 'a', arguments: '{"x":1}' } },
        { id: 'call_b', type: 'function', function: { name: 'b', arguments: '' } },
      ] }, 'tool_calls')],
    ['reasoning + text', [created, ...reasoningItem('rs', 0, [['Let me', ' think']]), ...messageItem('m', 1, ['42']), completed()],
      completion({ content: '42', reasoning_content: 'Let me think' }, 'stop')],
    ['text + tool call', [created, ...messageItem('m', 0, ['Checking']), ...functionCallItem('fc', 'call_1', 'f', 1, ['{}']), completed()],
      completion({ content: 'Checking', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] }, 'tool_calls')],
    ['incomplete → length', [created, ...messageItem('m', 0, ['cut']), incomplete('max_output_tokens')], completion({ content: 'cut' }, 'length')],
    ['incomplete → content_filter', [created, incomplete('content_filter')], completion({ content: '' }, 'content_filter')],
    ['refusal', [created, { type: 'response.refusal.delta', item_id: 'm', content_index: 0, delta: 'No.' }, completed()], completion({ content: null, refusal: 'No.' }, 'stop')],
    ['no usage → zeros', [created, ...messageItem('m', 0, ['a']), completed([], null)], completion({ content: 'a' }, 'stop', zeroUsage)],
  ];
  it.each(cases)('%s', (_name, events, expected) => {
    expect(chatCompletionFromEvents(events, init)).toEqual(expected);
  });

  const failures: [string, ResponsesEvent[], new (...a: never[]) => ApiError, number, string, RegExp][] = [
    ['server_error → 502', [created, ...messageItem('m', 0, ['a']).slice(0, 3), failed('server_error', 'boom')], UpstreamBadGatewayError, 502, 'server_error', /boom/],
    ['failed without a code → 502 upstream_error', [created, { type: 'response.failed', response: { error: { message: 'x' } } }], UpstreamBadGatewayError, 502, 'upstream_error', /x/],
    ['invalid_image → 400', [created, failed('invalid_image', 'The image could not be decoded')], InvalidRequestError, 400, 'invalid_image', /could not be decoded/],
    ['context_length_exceeded → 400', [failed('context_length_exceeded', 'too long')], InvalidRequestError, 400, 'context_length_exceeded', /too long/],
    ['error event → 502', [created, { type: 'error', code: 'internal', message: 'oops' }], UpstreamBadGatewayError, 502, 'internal', /oops/],
    ['no terminal event → 502 stream_closed', [created, ...messageItem('m', 0, ['a'])], UpstreamBadGatewayError, 502, 'stream_closed', /stream closed before response.completed/],
  ];
  it.each(failures)('%s', (_name, events, cls, status, code, message) => {
    let err: unknown;
    try {
      chatCompletionFromEvents(events, init);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(cls);
    expect(err).toMatchObject({ status, code });
    expect((err as Error).message).toMatch(message);
  });

  it('scrubs tokens from the upstream message', () => {
    expect(() => chatCompletionFromEvents([failed('server_error', 'Authorization: Bearer sk-abcdefghijklmnop')], init)).toThrow('Bearer [redacted]');
  });
});
