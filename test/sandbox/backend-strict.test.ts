/** The sandbox refuses what the real backend refuses in /responses input, and plays custom tool calls. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type MintedAccount, type Sandbox } from '../../src/sandbox/index.js';
import { callResponses, responsesBody, userMessage } from './helpers.js';

let sb: Sandbox;
let acct: MintedAccount;
beforeAll(async () => {
  sb = await startSandbox({ quiet: true });
  acct = sb.mintAccount({ email: 'strict@example.com' });
});
afterAll(async () => {
  await sb?.close();
});

const call = { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{}' };
const custom = { type: 'custom_tool_call', call_id: 'call_2', name: 'apply_patch', input: 'p' };
const bp = { mode: 'explicit' };

describe('sandbox /responses input rules', () => {
  const refused: [string, unknown[], Record<string, unknown>, unknown][] = [
    ['a system message', [{ type: 'message', role: 'system', content: 'x' }, userMessage('hi')], {}, { detail: "Invalid value: 'system'. Supported values are: 'user', 'assistant' and 'developer'." }],
    ['a function output without its call', [userMessage('hi'), { type: 'function_call_output', call_id: 'call_9', output: 'x' }], {}, { detail: 'No tool call found for function call output with call_id call_9.' }],
    ['a function output before its call', [{ type: 'function_call_output', call_id: 'call_1', output: 'x' }, call], {}, { detail: 'No tool call found for function call output with call_id call_1.' }],
    ['a custom output answering a function call', [call, { type: 'custom_tool_call_output', call_id: 'call_1', output: 'x' }], {}, { detail: 'No tool call found for custom tool call output with call_id call_1.' }],
    ['a cache breakpoint on a content part', [userMessage('hi', [{ type: 'input_text', text: 'x', prompt_cache_breakpoint: bp }])], {},
      { error: { message: 'prompt_cache_breakpoint is not supported on this model', type: 'invalid_request_error' } }],
    ['a cache breakpoint in a function output', [call, { type: 'function_call_output', call_id: 'call_1', output: [{ type: 'input_text', text: 'o', prompt_cache_breakpoint: bp }] }], {},
      { error: { message: 'prompt_cache_breakpoint is not supported on this model', type: 'invalid_request_error' } }],
    ['stream_options', [userMessage('hi')], { stream_options: { include_obfuscation: false } }, { detail: 'Unsupported parameter: stream_options' }],
    ['context_management', [userMessage('hi')], { context_management: [] }, { detail: 'Unsupported parameter: context_management' }],
  ];
  it.each(refused)('refuses %s', async (_name, input, extra, body) => {
    const r = await callResponses(sb.baseUrl, acct, responsesBody(input, extra));
    expect(r.res.status).toBe(400);
    expect(JSON.parse(r.text)).toEqual(body);
  });

  it('accepts answered calls of both kinds, service_tier priority and developer messages', async () => {
    const input = [
      { type: 'message', role: 'developer', content: 'd' },
      userMessage('go'),
      call,
      { type: 'function_call_output', call_id: 'call_1', output: 'one' },
      custom,
      { type: 'custom_tool_call_output', call_id: 'call_2', output: 'two' },
    ];
    const r = await callResponses(sb.baseUrl, acct, responsesBody(input, { service_tier: 'priority' }));
    expect(r.res.status).toBe(200);
  });

  it('answers with a custom_tool_call when only custom tools are offered', async () => {
    const r = await callResponses(sb.baseUrl, acct, responsesBody([userMessage('apply_patch input: *** Begin Patch')], { tools: [{ type: 'custom', name: 'apply_patch' }] }));
    const types = r.events.map((e) => e.data.type);
    expect(types).toContain('response.custom_tool_call_input.delta');
    const done = r.events.find((e) => e.data.type === 'response.output_item.done')!.data.item as Record<string, unknown>;
    expect(done).toMatchObject({ type: 'custom_tool_call', name: 'apply_patch', input: '*** Begin Patch' });
  });
});
