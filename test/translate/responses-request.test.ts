import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/errors.js';
import { fixResponsesRequest } from '../../src/translate/responses-request.js';

const input = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }];

describe('fixResponsesRequest', () => {
  const cases: [string, Record<string, unknown>, { body: Record<string, unknown>; dropped: string[]; clientWantsStream: boolean }][] = [
    ['already valid streaming body passes unchanged', { model: 'gpt-5', input, stream: true, store: false },
      { body: { model: 'gpt-5', input, stream: true, store: false }, dropped: [], clientWantsStream: true }],
    ['string input becomes a user message', { model: 'gpt-5', input: 'hi', stream: true },
      { body: { model: 'gpt-5', input, stream: true, store: false }, dropped: [], clientWantsStream: true }],
    ['no stream → upstream streams, client does not', { model: 'gpt-5', input },
      { body: { model: 'gpt-5', input, stream: true, store: false }, dropped: [], clientWantsStream: false }],
    ['stream:false → same', { model: 'gpt-5', input, stream: false },
      { body: { model: 'gpt-5', input, stream: true, store: false }, dropped: [], clientWantsStream: false }],
    ['stream:"true" (not a boolean) is not a stream', { model: 'gpt-5', input, stream: 'true' },
      { body: { model: 'gpt-5', input, stream: true, store: false }, dropped: [], clientWantsStream: false }],
    ['store:true is forced to false and reported', { model: 'gpt-5', input, store: true, stream: true },
      { body: { model: 'gpt-5', input, stream: true, store: false }, dropped: ['store'], clientWantsStream: true }],
    ['rejected sampling/limit params are stripped', {
      model: 'gpt-5', input, stream: true, temperature: 0.1, top_p: 0.5, max_output_tokens: 99, max_tokens: 9, max_completion_tokens: 9,
      service_tier: 'flex', truncation: 'auto', metadata: { a: 'b' }, top_logprobs: 1, max_tool_calls: 2, background: false, safety_identifier: 's', prompt_cache_retention: '24h',
    }, {
      body: { model: 'gpt-5', input, stream: true, store: false },
      dropped: ['background', 'max_completion_tokens', 'max_output_tokens', 'max_tokens', 'max_tool_calls', 'metadata', 'prompt_cache_retention', 'safety_identifier', 'service_tier', 'temperature', 'top_logprobs', 'top_p', 'truncation'],
      clientWantsStream: true,
    }],
    ['null rejected params are stripped silently', { model: 'gpt-5', input, temperature: null, previous_response_id: null },
      { body: { model: 'gpt-5', input, stream: true, store: false }, dropped: [], clientWantsStream: false }],
    ['user becomes prompt_cache_key when none is given', { model: 'gpt-5', input, user: 'u1' },
      { body: { model: 'gpt-5', input, prompt_cache_key: 'u1', stream: true, store: false }, dropped: ['user'], clientWantsStream: false }],
    ['prompt_cache_key wins over user', { model: 'gpt-5', input, user: 'u1', prompt_cache_key: 'k' },
      { body: { model: 'gpt-5', input, prompt_cache_key: 'k', stream: true, store: false }, dropped: ['user'], clientWantsStream: false }],
    ['everything the Codex CLI sends is kept', {
      model: 'gpt-5-codex', instructions: 'sys', input, tools: [{ type: 'function', name: 'shell', parameters: {} }], tool_choice: 'auto', parallel_tool_calls: false,
      reasoning: { effort: 'high', summary: 'auto' }, store: false, stream: true, include: ['reasoning.encrypted_content'], prompt_cache_key: 'sess', text: { verbosity: 'low' }, client_metadata: { a: 1 },
    }, {
      body: {
        model: 'gpt-5-codex', instructions: 'sys', input, tools: [{ type: 'function', name: 'shell', parameters: {} }], tool_choice: 'auto', parallel_tool_calls: false,
        reasoning: { effort: 'high', summary: 'auto' }, store: false, stream: true, include: ['reasoning.encrypted_content'], prompt_cache_key: 'sess', text: { verbosity: 'low' }, client_metadata: { a: 1 },
      },
      dropped: [],
      clientWantsStream: true,
    }],
    ['missing input becomes an empty list', { model: 'gpt-5', instructions: 'x' },
      { body: { model: 'gpt-5', instructions: 'x', input: [], stream: true, store: false }, dropped: [], clientWantsStream: false }],
  ];
  it.each(cases)('%s', (_name, body, expected) => {
    expect(fixResponsesRequest(body)).toEqual(expected);
  });

  it('does not mutate its argument', () => {
    const body = { model: 'gpt-5', input: 'hi', temperature: 1 };
    fixResponsesRequest(body);
    expect(body).toEqual({ model: 'gpt-5', input: 'hi', temperature: 1 });
  });

  const rejected: [string, Record<string, unknown>, string][] = [
    ['previous_response_id', { model: 'gpt-5', input, previous_response_id: 'resp_1' }, 'previous_response_id'],
    ['conversation', { model: 'gpt-5', input, conversation: 'conv_1' }, 'conversation'],
    ['missing model', { input }, 'model'],
    ['input of the wrong type', { model: 'gpt-5', input: 5 }, 'input'],
  ];
  it.each(rejected)('rejects %s', (_name, body, param) => {
    expect(() => fixResponsesRequest(body)).toThrow(InvalidRequestError);
    expect(() => fixResponsesRequest(body)).toThrow(expect.objectContaining({ param, status: 400 }));
  });
});
