import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/errors.js';
import { chatCompletionRequestSchema, issuePath, parseChatCompletionRequest } from '../../src/translate/chat-schema.js';

const user = { role: 'user', content: 'hi' };
const base = { model: 'gpt-5', messages: [user] };

function rejection(body: unknown): InvalidRequestError {
  try {
    parseChatCompletionRequest(body);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRequestError);
    return err as InvalidRequestError;
  }
  throw new Error('expected the request to be rejected');
}

describe('chatCompletionRequestSchema accepts', () => {
  const accepted: [string, Record<string, unknown>][] = [
    ['minimal', base],
    ['every role', {
      model: 'gpt-5',
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'developer', content: [{ type: 'text', text: 'dev' }] },
        { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'https://x/y.png', detail: 'low' } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'result' },
        { role: 'assistant', content: null, function_call: { name: 'g', arguments: '{}' } },
        { role: 'function', name: 'g', content: 'r' },
        { role: 'assistant', content: [{ type: 'refusal', refusal: 'no' }] },
      ],
    }],
    ['image_url as a bare string', { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: 'data:image/png;base64,AAAA' }] }] }],
    ['input_audio part (rejected later by the translator)', { model: 'm', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA', format: 'wav' } }] }] }],
    ['tools, tool_choice string', { ...base, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }], tool_choice: 'required', parallel_tool_calls: false }],
    ['tool_choice object', { ...base, tool_choice: { type: 'function', function: { name: 'f' } } }],
    ['response_format json_schema', { ...base, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' }, strict: true } } }],
    ['every reasoning_effort', { ...base, reasoning_effort: 'xhigh' }],
    ['stream options', { ...base, stream: true, stream_options: { include_usage: true } }],
    ['dropped numeric params', { ...base, temperature: 0.2, top_p: 1, max_tokens: 10, max_completion_tokens: 10, seed: 1, stop: ['x'], n: 1 }],
    ['nulls everywhere optional', { ...base, temperature: null, tools: null, tool_choice: null, response_format: null, user: null }],
    ['unknown top-level fields pass through', { ...base, some_future_field: { a: 1 } }],
  ];
  it.each(accepted)('%s', (_name, body) => {
    const r = chatCompletionRequestSchema.safeParse(body);
    expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
  });

  it('keeps unknown fields on the parsed value', () => {
    const parsed = parseChatCompletionRequest({ ...base, some_future_field: 1 });
    expect((parsed as Record<string, unknown>)['some_future_field']).toBe(1);
  });
});

describe('parseChatCompletionRequest rejects with param = dotted path', () => {
  const rejected: [string, unknown, string | null, RegExp][] = [
    ['empty messages', { model: 'm', messages: [] }, 'messages', /at least one message/],
    ['missing model', { messages: [user] }, 'model', /Missing required parameter: 'model'/],
    ['missing messages', { model: 'm' }, 'messages', /Missing required parameter: 'messages'/],
    ['unknown role', { model: 'm', messages: [{ role: 'robot', content: 'x' }] }, 'messages.0.role', /'robot'.*'system', 'developer', 'user', 'assistant', 'tool', 'function'/],
    ['missing role', { model: 'm', messages: [{ content: 'x' }] }, 'messages.0.role', /Missing required parameter/],
    ['content of wrong type', { model: 'm', messages: [{ role: 'user', content: 5 }] }, 'messages.0.content', /expected string or array, got number/],
    ['unknown content part type', { model: 'm', messages: [user, { role: 'user', content: [{ type: 'video' }] }] }, 'messages.1.content.0.type', /'video'/],
    ['text part without text', { model: 'm', messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 'messages.0.content.0.text', /Missing required parameter/],
    ['tool message without tool_call_id', { model: 'm', messages: [{ role: 'tool', content: 'x' }] }, 'messages.0.tool_call_id', /Missing required parameter/],
    ['reasoning_effort not a string', { ...base, reasoning_effort: 3 }, 'reasoning_effort', /expected string, got number/],
    ['reasoning not an object', { ...base, reasoning: 'high' }, 'reasoning', /expected object, got string/],
    ['bad tool_choice', { ...base, tool_choice: 'sometimes' }, 'tool_choice', /'sometimes'/],
    ['bad response_format type', { ...base, response_format: { type: 'xml' } }, 'response_format.type', /'xml'/],
    ['temperature as a string', { ...base, temperature: 'hot' }, 'temperature', /expected number, got string/],
    ['stream as a string', { ...base, stream: 'yes' }, 'stream', /expected boolean, got string/],
    ['n = 0', { ...base, n: 0 }, 'n', /Invalid 'n'/],
    ['tool without a name', { ...base, tools: [{ type: 'function', function: {} }] }, 'tools.0.function.name', /Missing required parameter/],
    ['tool call without id', { model: 'm', messages: [{ role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'f', arguments: '' } }] }] }, 'messages.0.tool_calls.0.id', /Missing required/],
  ];
  it.each(rejected)('%s', (_name, body, param, message) => {
    const err = rejection(body);
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
    expect(err.message).toMatch(message);
    expect(err.toBody().error.type).toBe('invalid_request_error');
  });

  it('rejects a body that is not an object', () => {
    expect(rejection([1, 2]).message).toMatch(/JSON object/);
    expect(rejection(null).param).toBeNull();
  });

  it('issuePath joins keys and indices', () => {
    expect(issuePath(['messages', 0, 'content'])).toBe('messages.0.content');
    expect(issuePath([])).toBe('');
  });
});
