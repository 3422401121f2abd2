/**
 * The sandbox backend's SSE stream read by a real client: the openai npm SDK's Responses
 * stream helper, which rebuilds the response from the events and rejects inconsistent ones.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';

let sb: Sandbox;
let client: OpenAI;

beforeAll(async () => {
  sb = await startSandbox({ quiet: true });
  const acct = sb.mintAccount({ email: 'sdk@example.com' });
  client = new OpenAI({ baseURL: sb.baseUrl, apiKey: acct.accessToken, defaultHeaders: { 'ChatGPT-Account-ID': acct.accountId }, maxRetries: 0 });
});
afterAll(async () => {
  await sb.close();
});

describe('openai SDK against the sandbox backend', () => {
  it('streams text and assembles the final response', async () => {
    const stream = client.responses.stream({ model: 'gpt-5-codex', input: [{ role: 'user', content: 'Return OK.' }], store: false, reasoning: { effort: 'low', summary: 'auto' } });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    expect(deltas.join('')).toBe('OK');
    expect(final.output_text).toBe('OK');
    expect(final.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    expect(final.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('streams a function call whose argument deltas add up to the final arguments', async () => {
    const stream = client.responses.stream({
      model: 'gpt-5.1-codex',
      store: false,
      input: [{ role: 'user', content: 'call lookup with {"id": 7, "tags": ["a", "b"]}' }],
      tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object', properties: {} }, strict: false }],
    });
    let args = '';
    stream.on('response.function_call_arguments.delta', (e) => (args += e.delta));
    const final = await stream.finalResponse();
    const call = final.output.find((o) => o.type === 'function_call');
    expect(call).toMatchObject({ name: 'lookup', arguments: '{"id":7,"tags":["a","b"]}' });
    expect(args).toBe('{"id":7,"tags":["a","b"]}');
  });

  it('surfaces the 400 detail for an unsupported model', async () => {
    await expect(client.responses.create({ model: 'gpt-4o', input: 'hi', store: false, stream: true })).rejects.toMatchObject({ status: 400 });
  });
});
