import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sseData, startStack, type Stack } from './stack.js';

let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({ accounts: 2, configure: (c) => (c.modelAliases = { 'gpt-4-code': 'gpt-5-codex' }) });
  client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'unused-no-keys-configured', maxRetries: 0 });
});
afterAll(async () => {
  await stack?.close();
});

describe('failures before the first byte are retried on another account', () => {
  it('an upstream 500 on one account → the stream is served by the other', async () => {
    stack.sandbox.addFault({ kind: 'status', status: 500, times: 1 });
    const stream = await client.chat.completions.create({ model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: 'Return OK.' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('OK');
    expect(stack.sandbox.stats().failures + stack.sandbox.stats().requests).toBeGreaterThanOrEqual(2);
  });

  it('a stream that drops before any content → retried, the client sees one clean stream', async () => {
    stack.sandbox.addFault({ kind: 'disconnect', afterEvents: 1, times: 1 });
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: 'Return all good.' }] }),
    });
    const data = sseData(await res.text());
    expect(data[data.length - 1]).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { error?: unknown; choices: { delta: { content?: string } }[] });
    expect(chunks.some((c) => c.error)).toBe(false);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('all good');
  });

  it('a non-stream request that breaks mid-way is retried whole', async () => {
    stack.sandbox.addFault({ kind: 'disconnect', afterEvents: 6, times: 1 });
    const r = await client.chat.completions.create({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return alpha beta gamma delta epsilon zeta.' }] });
    expect(r.choices[0]!.message.content).toBe('alpha beta gamma delta epsilon zeta');
  });
});

describe('model aliases', () => {
  it('lists the alias and serves it with the target model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(expect.arrayContaining(['gpt-5-codex', 'gpt-4-code']));
    const r = await client.chat.completions.create({ model: 'gpt-4-code', messages: [{ role: 'user', content: 'Return aliased.' }] });
    expect(r.model).toBe('gpt-4-code');
    expect(r.choices[0]!.message.content).toBe('aliased');
  });
});

describe('client going away', () => {
  it('a non-stream request aborted by the client leaves the server healthy', async () => {
    stack.sandbox.addFault({ kind: 'slow', delayMs: 300, times: 1 });
    const controller = new AbortController();
    const pending = fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return slow answer here.' }] }),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toThrow();
    const r = await client.chat.completions.create({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return still fine.' }] });
    expect(r.choices[0]!.message.content).toBe('still fine');
  });
});
