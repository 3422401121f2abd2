/** /v1/responses: what the Codex backend refuses is fixed before forwarding; Codex's own fields stay. */
import { describe, expect, it } from 'vitest';
import { fixResponsesRequest } from '../../src/translate/responses-request.js';

const user = { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] };
const bp = { mode: 'explicit' };

describe('fixResponsesRequest: normalisation', () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>, string[]][] = [
    ['a system message becomes developer', { input: [{ type: 'message', role: 'system', content: [{ type: 'input_text', text: 's' }] }, user] },
      { input: [{ type: 'message', role: 'developer', content: [{ type: 'input_text', text: 's' }] }, user] }, []],
    ['an easy-form system message (no type) too', { input: [{ role: 'system', content: 's' }, user] },
      { input: [{ role: 'developer', content: 's' }, user] }, []],
    ['developer and user untouched', { input: [{ type: 'message', role: 'developer', content: 'd' }, user] },
      { input: [{ type: 'message', role: 'developer', content: 'd' }, user] }, []],
    ['a function_call item with a role-like field is not a message', { input: [{ type: 'function_call', role: 'system', call_id: 'c', name: 'f', arguments: '{}' }] },
      { input: [{ type: 'function_call', role: 'system', call_id: 'c', name: 'f', arguments: '{}' }] }, []],
    ['stream_options dropped', { input: [user], stream_options: { include_obfuscation: false } }, { input: [user] }, ['stream_options']],
    ['context_management dropped', { input: [user], context_management: [{ type: 'compaction', compact_threshold: 1000 }] }, { input: [user] }, ['context_management']],
    ['top-level prompt_cache_breakpoint dropped', { input: [user], prompt_cache_breakpoint: bp }, { input: [user] }, ['prompt_cache_breakpoint']],
    ['breakpoint on a content part removed', { input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'a', prompt_cache_breakpoint: bp }, { type: 'input_text', text: 'b' }] }] },
      { input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'a' }, { type: 'input_text', text: 'b' }] }] }, ['prompt_cache_breakpoint']],
    ['breakpoint in function_call_output parts and on the item removed', {
      input: [
        { type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c', prompt_cache_breakpoint: bp, output: [{ type: 'input_text', text: 'out', prompt_cache_breakpoint: bp }] },
      ],
    }, {
      input: [
        { type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c', output: [{ type: 'input_text', text: 'out' }] },
      ],
    }, ['prompt_cache_breakpoint']],
    ['service_tier priority kept', { input: [user], service_tier: 'priority' }, { input: [user], service_tier: 'priority' }, []],
    ['other service tiers dropped', { input: [user], service_tier: 'flex' }, { input: [user] }, ['service_tier']],
    ['items the proxy does not know pass unchanged', { input: [user, { type: 'additional_tools', tools: [{ type: 'namespace', name: 'ns' }] }] },
      { input: [user, { type: 'additional_tools', tools: [{ type: 'namespace', name: 'ns' }] }] }, []],
  ];
  it.each(cases)('%s', (_name, extra, expected, dropped) => {
    const r = fixResponsesRequest({ model: 'gpt-5', stream: true, ...extra });
    expect(r.body).toEqual({ model: 'gpt-5', stream: true, store: false, ...expected });
    expect(r.dropped).toEqual(dropped);
  });

  it('does not mutate the client body, and keeps untouched items as they are', () => {
    const system = { type: 'message', role: 'system', content: 's' };
    const body = { model: 'gpt-5', input: [system, user] };
    const r = fixResponsesRequest(body);
    expect(system.role).toBe('system');
    expect((r.body['input'] as unknown[])[1]).toBe(user);
    const clean = { model: 'gpt-5', input: [user] };
    expect(fixResponsesRequest(clean).body['input']).toBe(clean.input);
  });

  it('previous_response_id is a clear 400 (the backend keeps no state)', () => {
    expect(() => fixResponsesRequest({ model: 'gpt-5', input: [user], previous_response_id: 'resp_1' })).toThrow(
      expect.objectContaining({ status: 400, param: 'previous_response_id', code: 'unsupported_parameter', message: expect.stringContaining('send the whole conversation') }),
    );
  });
});
