import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/errors.js';
import { claudeModelTarget, DEFAULT_CLAUDE_MODELS } from '../../src/translate/claude-models.js';
import { parseCountTokensRequest, parseMessagesRequest } from '../../src/translate/messages-schema.js';
import { cacheKeyOf, effortForBudget, messagesToResponses, SIGNATURE_PREFIX } from '../../src/translate/messages-to-responses.js';

const base = { model: 'claude-sonnet-4-5', max_tokens: 100 };

function translate(body: Record<string, unknown>, effort?: 'low' | 'medium' | 'high') {
  return messagesToResponses(parseMessagesRequest({ ...base, ...body }), { model: 'gpt-5.1-codex', effort });
}

function inputOf(body: Record<string, unknown>): unknown[] {
  return translate(body).body['input'] as unknown[];
}

function refused(body: Record<string, unknown>): InvalidRequestError {
  try {
    translate(body);
  } catch (err) {
    if (err instanceof InvalidRequestError) return err;
    throw err;
  }
  throw new Error('expected an InvalidRequestError');
}

const user = (content: unknown) => ({ role: 'user', content });
const text = (t: string) => ({ type: 'input_text', text: t });

describe('messages-to-responses: the fixed parts of the body', () => {
  it('store:false, stream:true, encrypted reasoning included, the mapped model; limits returned, not sent', () => {
    const r = translate({ messages: [user('hi')], stop_sequences: ['X', ''], max_tokens: 77, temperature: 0.2, top_k: 3, context_management: {} });
    expect(r.body).toEqual({
      model: 'gpt-5.1-codex',
      input: [{ type: 'message', role: 'user', content: [text('hi')] }],
      store: false,
      stream: true,
      include: ['reasoning.encrypted_content'],
    });
    expect(r.limits).toEqual({ maxTokens: 77, stopSequences: ['X'] });
    expect(r.dropped).toEqual(['context_management', 'temperature', 'top_k']);
    expect(r.thinking).toBe('none');
  });
});

describe('messages-to-responses: messages', () => {
  it.each([
    ['system string', { system: 'Be terse.', messages: [user('hi')] }, [{ type: 'message', role: 'developer', content: [text('Be terse.')] }, { type: 'message', role: 'user', content: [text('hi')] }]],
    [
      'system blocks with cache_control; the billing header block left out',
      {
        system: [
          { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1; cc_entrypoint=cli;' },
          { type: 'text', text: 'A', cache_control: { type: 'ephemeral' } },
          { type: 'text', text: 'B' },
        ],
        messages: [user('hi')],
      },
      [{ type: 'message', role: 'developer', content: [text('A'), text('B')] }, { type: 'message', role: 'user', content: [text('hi')] }],
    ],
    [
      'a system message inside messages stays in place',
      { messages: [user('hi'), { role: 'system', content: [{ type: 'text', text: 'late', cache_control: { type: 'ephemeral' } }] }] },
      [{ type: 'message', role: 'user', content: [text('hi')] }, { type: 'message', role: 'developer', content: [text('late')] }],
    ],
    [
      'images: base64 and url',
      {
        messages: [
          user([
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
            { type: 'image', source: { type: 'url', url: 'https://x.test/a.jpg' } },
          ]),
        ],
      },
      [
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'auto' },
            { type: 'input_image', image_url: 'https://x.test/a.jpg', detail: 'auto' },
          ],
        },
      ],
    ],
    [
      'documents: PDF, url, text (with title/context), content',
      {
        messages: [
          user([
            { type: 'document', title: 'Report Q3', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBE' } },
            { type: 'document', source: { type: 'url', url: 'https://x.test/a.pdf' } },
            { type: 'document', title: 'T', context: 'C', source: { type: 'text', media_type: 'text/plain', data: 'body' } },
            { type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'p1' }, { type: 'text', text: 'p2' }] } },
          ]),
        ],
      },
      [
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'input_file', filename: 'Report Q3.pdf', file_data: 'data:application/pdf;base64,JVBE' },
            { type: 'input_file', file_url: 'https://x.test/a.pdf' },
            text('T\nC\n\nbody'),
            text('p1\np2'),
          ],
        },
      ],
    ],
    [
      'assistant text + tool_use, then tool_result (string, blocks, is_error, image) with text after it',
      {
        messages: [
          user('go'),
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Let me check.' },
              { type: 'tool_use', id: 'toolu_1', name: 'get', input: { a: 1 } },
              { type: 'tool_use', id: 'toolu_2', name: 'get', input: {} },
              { type: 'tool_use', id: 'toolu_3', name: 'shot', input: {} },
            ],
          },
          user([
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'one' },
            { type: 'tool_result', tool_use_id: 'toolu_4', content: [{ type: 'tool_reference', tool_name: 'Read' }] },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }], is_error: true },
            { type: 'tool_result', tool_use_id: 'toolu_3', content: [{ type: 'text', text: 'see' }, { type: 'image', source: { type: 'url', url: 'https://x.test/s.png' } }] },
            { type: 'text', text: 'and now?' },
          ]),
        ],
      },
      [
        { type: 'message', role: 'user', content: [text('go')] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Let me check.' }] },
        { type: 'function_call', call_id: 'toolu_1', name: 'get', arguments: '{"a":1}' },
        { type: 'function_call', call_id: 'toolu_2', name: 'get', arguments: '{}' },
        { type: 'function_call', call_id: 'toolu_3', name: 'shot', arguments: '{}' },
        { type: 'function_call_output', call_id: 'toolu_1', output: 'one' },
        { type: 'function_call_output', call_id: 'toolu_4', output: "Tool 'Read' is available." },
        { type: 'function_call_output', call_id: 'toolu_2', output: 'Error: a\nb' },
        { type: 'function_call_output', call_id: 'toolu_3', output: [text('see'), { type: 'input_image', image_url: 'https://x.test/s.png', detail: 'auto' }] },
        { type: 'message', role: 'user', content: [text('and now?')] },
      ],
    ],
    [
      'thinking with our signature → reasoning item; foreign signature, redacted thinking and server-tool history dropped',
      {
        messages: [
          user('q'),
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'hmm', signature: `${SIGNATURE_PREFIX}ENC` },
              { type: 'thinking', thinking: 'theirs', signature: 'EqQBCkYIBxgCKkA' },
              { type: 'redacted_thinking', data: 'xyz' },
              { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'q' } },
              { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] },
              { type: 'text', text: 'answer' },
            ],
          },
        ],
      },
      [
        { type: 'message', role: 'user', content: [text('q')] },
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 'hmm' }], encrypted_content: 'ENC' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'answer' }] },
      ],
    ],
  ])('%s', (_name, body, expected) => {
    expect(inputOf(body)).toEqual(expected);
  });
});

describe('messages-to-responses: tools and tool_choice', () => {
  const custom = { name: 'get', description: 'Get it', input_schema: { type: 'object', properties: { a: { type: 'string' } } }, cache_control: { type: 'ephemeral' } };

  it('custom tools → function tools; web_search_* → web_search with domains and location', () => {
    const r = translate({
      messages: [user('x')],
      tools: [custom, { name: 'plain', input_schema: { type: 'object' }, defer_loading: true }, { type: 'web_search_20250305', name: 'web_search', allowed_domains: ['a.test'], user_location: { type: 'approximate', city: 'Paris', country: 'FR' } }],
    });
    expect(r.body['tools']).toEqual([
      { type: 'function', name: 'get', description: 'Get it', parameters: custom.input_schema, strict: false },
      { type: 'function', name: 'plain', parameters: { type: 'object' }, strict: false },
      { type: 'web_search', filters: { allowed_domains: ['a.test'] }, user_location: { type: 'approximate', city: 'Paris', country: 'FR' } },
    ]);
    expect(r.body['parallel_tool_calls']).toBe(true);
    expect(r.body['include']).toEqual(['reasoning.encrypted_content']);
  });

  it.each([
    [{ type: 'auto' }, 'auto', true],
    [{ type: 'any', disable_parallel_tool_use: true }, 'required', false],
    [{ type: 'tool', name: 'get' }, { type: 'function', name: 'get' }, true],
    [{ type: 'none' }, 'none', true],
  ])('tool_choice %j → %j (parallel %s)', (choice, expected, parallel) => {
    const r = translate({ messages: [user('x')], tools: [custom], tool_choice: choice });
    expect(r.body['tool_choice']).toEqual(expected);
    expect(r.body['parallel_tool_calls']).toBe(parallel);
  });

  it.each(['bash_20250124', 'text_editor_20250728', 'computer_20250124', 'code_execution_20250825', 'web_fetch_20250910', 'memory_20250818'])('Anthropic-defined tool %s → 400 naming it', (type) => {
    const err = refused({ messages: [user('x')], tools: [{ type, name: 'tool' }] });
    expect(err.message).toContain(type);
    expect(err.param).toBe('tools.0.type');
  });
});

describe('messages-to-responses: reasoning', () => {
  it.each([
    [1024, 'low'],
    [4096, 'low'],
    [10000, 'medium'],
    [16384, 'medium'],
    [31999, 'high'],
  ])('budget %i → %s', (budget, effort) => {
    expect(effortForBudget(budget)).toBe(effort);
    const r = translate({ messages: [user('x')], max_tokens: 40000, thinking: { type: 'enabled', budget_tokens: budget } }, 'low');
    expect(r.body['reasoning']).toEqual({ effort, summary: 'auto' });
    expect(r.thinking).toBe('summarized');
  });

  it('adaptive uses output_config.effort (max → high), else the mapping; display omitted asks for no summary', () => {
    expect(translate({ messages: [user('x')], thinking: { type: 'adaptive' }, output_config: { effort: 'max' } }).body['reasoning']).toEqual({ effort: 'high', summary: 'auto' });
    const omitted = translate({ messages: [user('x')], thinking: { type: 'adaptive', display: 'omitted' } }, 'medium');
    expect(omitted.body['reasoning']).toEqual({ effort: 'medium' });
    expect(omitted.thinking).toBe('omitted');
    expect(translate({ messages: [user('x')] }, 'high').body['reasoning']).toEqual({ effort: 'high' });
    expect(translate({ messages: [user('x')], thinking: { type: 'disabled' } }).body['reasoning']).toBeUndefined();
    expect(refused({ messages: [user('x')], output_config: { effort: 'extreme' } }).param).toBe('output_config.effort');
  });

  it('output_config.format json_schema → text.format', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    expect(translate({ messages: [user('x')], output_config: { format: { type: 'json_schema', schema } } }).body['text']).toEqual({
      format: { type: 'json_schema', name: 'output', schema, strict: false },
    });
  });
});

describe('messages-to-responses: metadata.user_id → prompt_cache_key and affinity', () => {
  it('short ids as they are, long ones (Claude Code sends JSON) hashed stably', () => {
    expect(cacheKeyOf('user-42')).toBe('user-42');
    const long = JSON.stringify({ device_id: 'd'.repeat(64), session_id: '9fec808a-b580-4149-915d-a027cd786e76' });
    expect(cacheKeyOf(long)).toMatch(/^claude-[0-9a-f]{40}$/);
    expect(cacheKeyOf(long)).toBe(cacheKeyOf(long));
    const r = translate({ messages: [user('x')], metadata: { user_id: long } });
    expect(r.body['prompt_cache_key']).toBe(cacheKeyOf(long));
    expect(r.affinityKey).toBe(cacheKeyOf(long));
    expect(translate({ messages: [user('x')] }).affinityKey).toBeUndefined();
  });
});

describe('messages-to-responses: clear 400s', () => {
  it.each([
    ['no messages', { messages: [] }, 'messages'],
    ['an unknown block type', { messages: [user([{ type: 'audio', data: 'x' }])] }, 'messages.0.content.0.type'],
    ['tool_use in a user message', { messages: [user([{ type: 'tool_use', id: 't', name: 'n', input: {} }])] }, 'messages.0.content.0.type'],
    ['an image in an assistant message', { messages: [user('x'), { role: 'assistant', content: [{ type: 'image', source: { type: 'url', url: 'https://x.test/a.png' } }] }] }, 'messages.1.content.0.type'],
    ['a Files API image', { messages: [user([{ type: 'image', source: { type: 'file', file_id: 'file_1' } }])] }, 'messages.0.content.0.source'],
    ['a base64 document that is not a PDF', { messages: [user([{ type: 'document', source: { type: 'base64', media_type: 'text/plain', data: 'eA==' } }])] }, 'messages.0.content.0.source.media_type'],
    ['web_search with blocked_domains', { messages: [user('x')], tools: [{ type: 'web_search_20250305', name: 'web_search', blocked_domains: ['a.test'] }] }, 'tools.0.blocked_domains'],
    ['mcp_servers', { messages: [user('x')], mcp_servers: [{ type: 'url', url: 'https://m.test', name: 'm' }] }, 'mcp_servers'],
    ['a non-http image URL', { messages: [user([{ type: 'image', source: { type: 'url', url: 'file:///etc/passwd' } }])] }, 'messages.0.content.0.source.url'],
  ])('%s', (_name, body, param) => {
    expect(refused(body).param).toBe(param);
  });

  it('max_tokens is required on /v1/messages but not on count_tokens', () => {
    expect(() => parseMessagesRequest({ model: 'claude-x', messages: [user('x')] })).toThrow(/max_tokens/);
    expect(parseCountTokensRequest({ model: 'claude-x', messages: [user('x')] }).messages).toHaveLength(1);
  });
});

describe('claude-models mapping', () => {
  const configured = { 'claude-opus-4-1-20250805': { model: 'gpt-5' }, haiku: { model: 'gpt-5-codex', effort: 'minimal' as const } };
  it.each([
    ['claude-opus-4-1-20250805', { model: 'gpt-5' }],
    ['claude-opus-5-5', DEFAULT_CLAUDE_MODELS.opus],
    ['claude-3-5-haiku-latest', { model: 'gpt-5-codex', effort: 'minimal' }],
    ['sonnet', DEFAULT_CLAUDE_MODELS.sonnet],
    ['claude-instant-1', DEFAULT_CLAUDE_MODELS.sonnet],
    ['gpt-5-codex', undefined],
  ])('%s → %j', (name, target) => {
    expect(claudeModelTarget(name, configured)).toEqual(target);
  });
});
