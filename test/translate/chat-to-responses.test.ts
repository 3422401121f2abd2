import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/errors.js';
import { parseChatCompletionRequest } from '../../src/translate/chat-schema.js';
import { chatToResponses } from '../../src/translate/chat-to-responses.js';

function translate(body: Record<string, unknown>, model = 'gpt-5') {
  return chatToResponses(parseChatCompletionRequest({ model: 'alias', ...body }), { model });
}
const userText = (text: string) => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text }] });
const fixed = { store: false, stream: true, include: ['reasoning.encrypted_content'] };

describe('chatToResponses: messages → input', () => {
  const cases: [string, unknown[], unknown[]][] = [
    ['user string', [{ role: 'user', content: 'hi' }], [userText('hi')]],
    ['system → developer message (not instructions)', [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }],
      [{ type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'be brief' }] }, userText('hi')]],
    ['developer with text parts', [{ role: 'developer', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }, { role: 'user', content: 'x' }],
      [{ type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'a' }, { type: 'input_text', text: 'b' }] }, userText('x')]],
    ['interleaved system messages keep their order', [{ role: 'user', content: 'a' }, { role: 'system', content: 's' }, { role: 'user', content: 'b' }],
      [userText('a'), { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 's' }] }, userText('b')]],
    ['user text + image parts (http and data URLs, detail kept)', [{ role: 'user', content: [
      { type: 'text', text: 'what is this' },
      { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'high' } },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      { type: 'image_url', image_url: 'data:image/jpeg;base64,/9j/' },
    ] }],
    [{ type: 'message', role: 'user', content: [
      { type: 'input_text', text: 'what is this' },
      { type: 'input_image', image_url: 'https://example.com/cat.png', detail: 'high' },
      { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=' },
      { type: 'input_image', image_url: 'data:image/jpeg;base64,/9j/' },
    ] }]],
    ['file part with inline data', [{ role: 'user', content: [{ type: 'file', file: { file_data: 'data:application/pdf;base64,JVBE', filename: 'a.pdf' } }] }],
      [{ type: 'message', role: 'user', content: [{ type: 'input_file', file_data: 'data:application/pdf;base64,JVBE', filename: 'a.pdf' }] }]],
    ['assistant text → output_text', [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }, { role: 'user', content: 'q2' }],
      [userText('q'), { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'a' }] }, userText('q2')]],
    ['assistant parts and refusal', [{ role: 'assistant', content: [{ type: 'text', text: 'x' }, { type: 'refusal', refusal: 'no' }] }, { role: 'user', content: 'q' }],
      [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'x' }, { type: 'output_text', text: 'no' }] }, userText('q')]],
    ['assistant refusal field without content', [{ role: 'assistant', content: null, refusal: 'I cannot' }, { role: 'user', content: 'q' }],
      [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'I cannot' }] }, userText('q')]],
    ['assistant tool_calls + tool results (two calls)', [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: null, tool_calls: [
        { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '' } },
      ] },
      { role: 'tool', tool_call_id: 'call_a', content: 'sunny' },
      { role: 'tool', tool_call_id: 'call_b', content: [{ type: 'text', text: '12:' }, { type: 'text', text: '00' }] },
    ], [
      userText('weather?'),
      { type: 'function_call', call_id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call', call_id: 'call_b', name: 'get_time', arguments: '' },
      { type: 'function_call_output', call_id: 'call_a', output: 'sunny' },
      { type: 'function_call_output', call_id: 'call_b', output: '12:00' },
    ]],
    ['assistant text and tool call: message first', [{ role: 'assistant', content: 'let me check', tool_calls: [{ id: 'c1', function: { name: 'f', arguments: '{}' } }] }],
      [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'let me check' }] }, { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' }]],
    ['empty assistant content is skipped', [{ role: 'assistant', content: '' , tool_calls: [{ id: 'c1', function: { name: 'f' } }] }],
      [{ type: 'function_call', call_id: 'c1', name: 'f', arguments: '' }]],
    ['legacy function_call + function message', [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: null, function_call: { name: 'lookup', arguments: '{"q":1}' } },
      { role: 'function', name: 'lookup', content: 'found' },
    ], [
      userText('q'),
      { type: 'function_call', call_id: 'call_legacy_0', name: 'lookup', arguments: '{"q":1}' },
      { type: 'function_call_output', call_id: 'call_legacy_0', output: 'found' },
    ]],
  ];
  it.each(cases)('%s', (_name, messages, input) => {
    const { body } = translate({ messages });
    expect(body['input']).toEqual(input);
    expect(body).not.toHaveProperty('instructions');
  });
});

describe('chatToResponses: parameters', () => {
  const msgs = [{ role: 'user', content: 'hi' }];
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['minimal request: model resolved, fixed fields', {}, { model: 'gpt-5', input: [userText('hi')], ...fixed }],
    ['tools', { tools: [
      { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true } },
      { type: 'function', function: { name: 'noop' } },
    ] }, { tools: [
      { type: 'function', name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true },
      { type: 'function', name: 'noop', parameters: { type: 'object', properties: {} }, strict: false },
    ] }],
    ['legacy functions → tools, function_call → tool_choice', { functions: [{ name: 'f', parameters: { type: 'object' } }], function_call: { name: 'f' } },
      { tools: [{ type: 'function', name: 'f', parameters: { type: 'object' }, strict: false }], tool_choice: { type: 'function', name: 'f' } }],
    ['tool_choice auto', { tool_choice: 'auto' }, { tool_choice: 'auto' }],
    ['tool_choice none', { tool_choice: 'none' }, { tool_choice: 'none' }],
    ['tool_choice required', { tool_choice: 'required' }, { tool_choice: 'required' }],
    ['tool_choice named function', { tool_choice: { type: 'function', function: { name: 'get_weather' } } }, { tool_choice: { type: 'function', name: 'get_weather' } }],
    ['tool_choice allowed_tools', { tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'a' } }] } } },
      { tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'a' }] } }],
    ['parallel_tool_calls false', { parallel_tool_calls: false }, { parallel_tool_calls: false }],
    ['response_format json_object', { response_format: { type: 'json_object' } }, { text: { format: { type: 'json_object' } } }],
    ['response_format json_schema', { response_format: { type: 'json_schema', json_schema: { name: 'answer', description: 'd', schema: { type: 'object', properties: { a: { type: 'string' } } }, strict: true } } },
      { text: { format: { type: 'json_schema', name: 'answer', description: 'd', schema: { type: 'object', properties: { a: { type: 'string' } } }, strict: true } } }],
    ['response_format json_schema defaults', { response_format: { type: 'json_schema', json_schema: { name: 'a' } } },
      { text: { format: { type: 'json_schema', name: 'a', schema: { type: 'object', properties: {} }, strict: false } } }],
    ['verbosity', { verbosity: 'low' }, { text: { verbosity: 'low' } }],
    ['reasoning_effort none (no summary)', { reasoning_effort: 'none' }, { reasoning: { effort: 'none' } }],
    ['reasoning_effort minimal', { reasoning_effort: 'minimal' }, { reasoning: { effort: 'minimal', summary: 'auto' } }],
    ['reasoning_effort low', { reasoning_effort: 'low' }, { reasoning: { effort: 'low', summary: 'auto' } }],
    ['reasoning_effort medium', { reasoning_effort: 'medium' }, { reasoning: { effort: 'medium', summary: 'auto' } }],
    ['reasoning_effort high', { reasoning_effort: 'high' }, { reasoning: { effort: 'high', summary: 'auto' } }],
    ['reasoning_effort xhigh', { reasoning_effort: 'xhigh' }, { reasoning: { effort: 'xhigh', summary: 'auto' } }],
    ['user → prompt_cache_key', { user: 'u-1' }, { prompt_cache_key: 'u-1' }],
    ['prompt_cache_key wins over user', { user: 'u-1', prompt_cache_key: 'k-1' }, { prompt_cache_key: 'k-1' }],
    ['client stream:false still streams upstream', { stream: false }, { stream: true, store: false }],
    ['client store:true is overridden', { store: true }, { store: false }],
  ];
  it.each(cases)('%s', (_name, extra, expected) => {
    const { body } = translate({ messages: msgs, ...extra });
    expect(body).toMatchObject(expected);
    expect(body['store']).toBe(false);
    expect(body['stream']).toBe(true);
    expect(body['include']).toEqual(['reasoning.encrypted_content']);
  });

  it('the minimal body has nothing else (reasoning summaries on by default)', () => {
    expect(translate({ messages: msgs }).body).toEqual({
      model: 'gpt-5',
      input: [userText('hi')],
      reasoning: { summary: 'auto' },
      prompt_cache_key: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      ...fixed,
    });
  });

  it('response_format text adds no text.format', () => {
    expect(translate({ messages: msgs, response_format: { type: 'text' } }).body).not.toHaveProperty('text');
  });
});

describe('chatToResponses: dropped parameters', () => {
  it('lists every present parameter the backend does not take, sorted', () => {
    const { body, dropped } = translate({
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0.5, top_p: 0.9, max_tokens: 100, max_completion_tokens: 100, frequency_penalty: 0, presence_penalty: 0,
      logprobs: true, top_logprobs: 2, seed: 7, stop: ['\n'], logit_bias: { '1': 2 }, service_tier: 'auto', metadata: { a: 'b' },
      store: true, n: 1, stream: true, stream_options: { include_usage: true }, modalities: ['text'], some_future_field: 1,
    });
    expect(dropped).toEqual([
      'frequency_penalty', 'logit_bias', 'logprobs', 'max_completion_tokens', 'max_tokens', 'metadata', 'modalities',
      'presence_penalty', 'seed', 'service_tier', 'some_future_field', 'stop', 'store', 'temperature', 'top_logprobs', 'top_p',
    ]);
    for (const k of dropped) if (k !== 'store') expect(body).not.toHaveProperty(k);
  });

  it('null parameters are not reported', () => {
    expect(translate({ messages: [{ role: 'user', content: 'hi' }], temperature: null, max_tokens: null }).dropped).toEqual([]);
  });

  it('user is reported when prompt_cache_key took its place', () => {
    expect(translate({ messages: [{ role: 'user', content: 'hi' }], user: 'u', prompt_cache_key: 'k' }).dropped).toEqual(['user']);
  });
});

describe('chatToResponses: rejections', () => {
  const bad: [string, Record<string, unknown>, string, RegExp][] = [
    ['n > 1', { messages: [{ role: 'user', content: 'hi' }], n: 2 }, 'n', /n > 1/],
    ['input_audio', { messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'input_audio', input_audio: { data: 'AA', format: 'wav' } }] }] }, 'messages.0.content.1.type', /Audio input/],
    ['file by id', { messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }] }] }, 'messages.0.content.0.file', /file_data/],
    ['image URL that is neither http nor data', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }] }, 'messages.0.content.0.image_url.url', /http\(s\) URL or a base64 data URL/],
    ['bare-string image URL that is not an image', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: 'data:text/plain;base64,AA' }] }] }, 'messages.0.content.0.image_url', /Invalid image URL/],
    ['function message without a matching call', { messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages.0.name', /function_call names 'f'/],
  ];
  it.each(bad)('%s', (_name, body, param, message) => {
    let err: unknown;
    try {
      translate(body);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect((err as InvalidRequestError).param).toBe(param);
    expect((err as InvalidRequestError).message).toMatch(message);
  });

  it('empty messages (bypassing the schema) → 400 param messages', () => {
    expect(() => chatToResponses({ model: 'm', messages: [] } as never, { model: 'm' })).toThrow(
      expect.objectContaining({ status: 400, param: 'messages' }),
    );
  });
});
