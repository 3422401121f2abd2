/** What real chat clients send beyond the basics: reasoning objects, built-in and custom tools, images in tool results, orphans, cache keys. */
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/errors.js';
import { parseChatCompletionRequest } from '../../src/translate/chat-schema.js';
import { chatToResponses, derivedPromptCacheKey, type ChatToResponsesOptions } from '../../src/translate/chat-to-responses.js';

function translate(body: Record<string, unknown>, opts: Partial<ChatToResponsesOptions> = {}) {
  return chatToResponses(parseChatCompletionRequest({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }], ...body }), { model: 'gpt-5', ...opts });
}
const fn = (name: string) => ({ type: 'function', function: { name, parameters: { type: 'object' } } });
const flatFn = (name: string) => ({ type: 'function', name, parameters: { type: 'object' }, strict: false });

describe('reasoning', () => {
  const cases: [string, Record<string, unknown>, Partial<ChatToResponsesOptions>, unknown][] = [
    ['nothing asked: summaries on (auto), model default effort', {}, {}, { summary: 'auto' }],
    ['reasoning_effort', { reasoning_effort: 'high' }, {}, { effort: 'high', summary: 'auto' }],
    ['reasoning object', { reasoning: { effort: 'low', summary: 'detailed' } }, {}, { effort: 'low', summary: 'detailed' }],
    ['reasoning object without summary', { reasoning: { effort: 'low' } }, {}, { effort: 'low', summary: 'auto' }],
    ['reasoning object wins over reasoning_effort', { reasoning: { effort: 'low' }, reasoning_effort: 'high' }, {}, { effort: 'low', summary: 'auto' }],
    ['an effort the project does not know is forwarded', { reasoning_effort: 'max' }, {}, { effort: 'max', summary: 'auto' }],
    ['configured default summary', {}, { reasoningSummary: 'concise' }, { summary: 'concise' }],
    ['configured none: no summary', { reasoning_effort: 'high' }, { reasoningSummary: 'none' }, { effort: 'high' }],
    ['summary none in the request', { reasoning: { effort: 'high', summary: 'none' } }, {}, { effort: 'high' }],
    ['effort none: no summary', { reasoning_effort: 'none' }, {}, { effort: 'none' }],
    ['the model suffix wins', { reasoning_effort: 'low', reasoning: { effort: 'medium' } }, { effort: 'xhigh' }, { effort: 'xhigh', summary: 'auto' }],
  ];
  it.each(cases)('%s', (_name, body, opts, expected) => {
    const r = translate(body, opts);
    expect(r.body['reasoning']).toEqual(expected);
    expect(r.dropped).not.toContain('reasoning');
  });

  it('nothing at all when no effort is asked and summaries are off', () => {
    expect(translate({}, { reasoningSummary: 'none' }).body).not.toHaveProperty('reasoning');
  });
});

describe('built-in and custom tools', () => {
  const custom = { type: 'custom', custom: { name: 'apply_patch', description: 'Apply a patch', format: { type: 'grammar', syntax: 'lark', definition: 'start: /.+/' } } };
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['web_search passes through', { tools: [{ type: 'web_search', search_context_size: 'low' }] }, { tools: [{ type: 'web_search', search_context_size: 'low' }] }],
    ['web_search_preview is renamed', { tools: [{ type: 'web_search_preview' }] }, { tools: [{ type: 'web_search' }] }],
    ['dated web_search_preview is renamed', { tools: [{ type: 'web_search_preview_2025_03_11', user_location: { type: 'approximate' } }] }, { tools: [{ type: 'web_search', user_location: { type: 'approximate' } }] }],
    ['other built-in tools pass through', { tools: [{ type: 'image_generation' }] }, { tools: [{ type: 'image_generation' }] }],
    ['functions and built-ins together', { tools: [fn('f'), { type: 'web_search' }] }, { tools: [flatFn('f'), { type: 'web_search' }] }],
    ['custom tool (OpenAI shape) flattened', { tools: [custom] }, { tools: [{ type: 'custom', name: 'apply_patch', description: 'Apply a patch', format: custom.custom.format }] }],
    ['custom tool (flat shape)', { tools: [{ type: 'custom', name: 'sql', format: { type: 'text' } }] }, { tools: [{ type: 'custom', name: 'sql', format: { type: 'text' } }] }],
    ['tool_choice web_search', { tools: [{ type: 'web_search' }], tool_choice: { type: 'web_search' } }, { tool_choice: { type: 'web_search' } }],
    ['tool_choice web_search_preview renamed', { tools: [{ type: 'web_search_preview' }], tool_choice: { type: 'web_search_preview' } }, { tool_choice: { type: 'web_search' } }],
    ['tool_choice custom', { tools: [custom], tool_choice: { type: 'custom', custom: { name: 'apply_patch' } } }, { tool_choice: { type: 'custom', name: 'apply_patch' } }],
    ['allowed_tools with function, custom and built-in', {
      tools: [fn('f'), custom, { type: 'web_search' }],
      tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'f' } }, { type: 'custom', custom: { name: 'apply_patch' } }, { type: 'web_search' }] } },
    }, { tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [{ type: 'function', name: 'f' }, { type: 'custom', name: 'apply_patch' }, { type: 'web_search' }] } }],
  ];
  it.each(cases)('%s', (_name, body, expected) => {
    expect(translate(body).body).toMatchObject(expected);
  });

  it('a custom tool without a name is a 400 naming the field', () => {
    const err = (() => {
      try {
        translate({ tools: [{ type: 'custom', custom: { description: 'x' } }] });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect((err as InvalidRequestError).param).toMatch(/^tools\.0/);
  });

  it('custom tool calls come back as custom_tool_call / custom_tool_call_output, in either call shape', () => {
    const { body } = translate({
      tools: [{ type: 'custom', custom: { name: 'apply_patch' } }],
      messages: [
        { role: 'user', content: 'patch it' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'custom', custom: { name: 'apply_patch', input: '*** Begin Patch' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'Done!' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'apply_patch', arguments: 'raw text' } }] },
        { role: 'tool', tool_call_id: 'call_2', content: 'Done again' },
      ],
    });
    expect((body['input'] as unknown[]).slice(1)).toEqual([
      { type: 'custom_tool_call', call_id: 'call_1', name: 'apply_patch', input: '*** Begin Patch' },
      { type: 'custom_tool_call_output', call_id: 'call_1', output: 'Done!' },
      { type: 'custom_tool_call', call_id: 'call_2', name: 'apply_patch', input: 'raw text' },
      { type: 'custom_tool_call_output', call_id: 'call_2', output: 'Done again' },
    ]);
  });
});

describe('tool results', () => {
  const call = { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'screenshot', arguments: '{}' } }] };

  it('image parts become input_image in the function output, text parts input_text', () => {
    const { body } = translate({
      messages: [
        { role: 'user', content: 'look' },
        call,
        { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: 'the screen:' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBO', detail: 'low' } }] },
      ],
    });
    expect((body['input'] as unknown[])[2]).toEqual({
      type: 'function_call_output',
      call_id: 'call_1',
      output: [{ type: 'input_text', text: 'the screen:' }, { type: 'input_image', image_url: 'data:image/png;base64,iVBO', detail: 'low' }],
    });
  });

  it('text-only parts stay a string', () => {
    const { body } = translate({ messages: [{ role: 'user', content: 'x' }, call, { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }] });
    expect((body['input'] as unknown[])[2]).toEqual({ type: 'function_call_output', call_id: 'call_1', output: 'ab' });
  });

  it('an image URL the backend cannot fetch is a 400 with its path', () => {
    expect(() =>
      translate({ messages: [{ role: 'user', content: 'x' }, call, { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'image_url', image_url: { url: 'file:///etc/passwd' } }] }] }),
    ).toThrow(expect.objectContaining({ param: 'messages.2.content.0.image_url.url' }));
  });

  it('a result with no matching call earlier is left out, with a note', () => {
    const r = translate({
      messages: [
        { role: 'user', content: 'x' },
        { role: 'tool', tool_call_id: 'call_ghost', content: 'nobody asked' },
        call,
        { role: 'tool', tool_call_id: 'call_1', content: 'ok' },
        { role: 'tool', tool_call_id: 'call_2', content: 'later orphan' },
      ],
    });
    const types = (r.body['input'] as { type: string; call_id?: string }[]).map((i) => `${i.type}${i.call_id ? `:${i.call_id}` : ''}`);
    expect(types).toEqual(['message', 'function_call:call_1', 'function_call_output:call_1']);
    expect(r.notes).toHaveLength(2);
    expect(r.notes[0]).toContain("messages.1: a tool result for call 'call_ghost'");
  });
});

describe('legacy functions', () => {
  it('ask for one call at a time (legacy answers carry one function_call)', () => {
    const r = translate({ functions: [{ name: 'f', parameters: { type: 'object' } }] });
    expect(r.body).toMatchObject({ tools: [flatFn('f')], parallel_tool_calls: false });
    expect(translate({ functions: [{ name: 'f' }], parallel_tool_calls: true }).body['parallel_tool_calls']).toBe(true);
  });
});

describe('prompt_cache_key', () => {
  const sys = { role: 'system', content: 'You are terse.' };
  const first = { role: 'user', content: 'Plan a trip.' };
  const key = (body: Record<string, unknown>, opts: Partial<ChatToResponsesOptions> = {}) => translate(body, opts).body['prompt_cache_key'];

  it('is derived from the first system text and first user message, stable across turns', () => {
    const turn1 = key({ messages: [sys, first] });
    const turn2 = key({ messages: [sys, first, { role: 'assistant', content: 'Where to?' }, { role: 'user', content: 'Rome.' }] });
    expect(turn1).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(turn2).toBe(turn1);
    expect(key({ messages: [sys, { role: 'user', content: 'Other.' }] })).not.toBe(turn1);
    expect(key({ messages: [{ role: 'developer', content: 'You are terse.' }, first] })).toBe(turn1);
    expect(key({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Plan a trip.' }] }] })).toBe(key({ messages: [first] }));
  });

  it('an explicit key, user or session header wins; no user message, no key', () => {
    expect(key({ messages: [sys, first], prompt_cache_key: 'pk' })).toBe('pk');
    expect(key({ messages: [sys, first], user: 'u-1' })).toBe('u-1');
    expect(key({ messages: [sys, first] }, { sessionId: 'sess-1' })).toBe('sess-1');
    expect(derivedPromptCacheKey(parseChatCompletionRequest({ model: 'm', messages: [sys] }).messages)).toBeUndefined();
  });
});
