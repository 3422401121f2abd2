/**
 * The account counters are exact: one request per client request, the outcome counted once
 * (a stream that dies mid-way is one failure, not a success and a failure), and the model
 * catalog's /models fetches are not requests.
 */
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { sseData, startStack, type Stack } from './stack.js';

const KEY = 'counters-key-0123456789';
const LONG = 'Return alpha beta gamma delta epsilon zeta eta theta iota kappa.';
let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function start(accounts = 1): Promise<Stack> {
  stack = await startStack({ accounts, apiKeys: [KEY], configure: (c) => (c.requestRetry = 1) });
  return stack;
}

function post(s: Stack, path: string, body: unknown): Promise<Response> {
  return fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** GET /v1/models: makes the catalog fetch the backend's list through the pool. */
async function models(s: Stack): Promise<void> {
  const res = await fetch(`${s.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
  expect(res.status).toBe(200);
  await res.text();
}

function counters(s: Stack): Array<{ requests: number; successes: number; failures: number; inputTokens: number; outputTokens: number }> {
  return s.runtime.pool.snapshot().map(({ requests, successes, failures, inputTokens, outputTokens }) => ({ requests, successes, failures, inputTokens, outputTokens }));
}

describe('account counters', () => {
  it('a chat stream that dies mid-way: requests 1, successes 0, failures 1 (the catalog fetch is not a request)', async () => {
    const s = await start();
    await models(s);
    expect(counters(s)).toEqual([{ requests: 0, successes: 0, failures: 0, inputTokens: 0, outputTokens: 0 }]);
    s.sandbox.addFault({ kind: 'disconnect', afterEvents: 6 });
    const res = await post(s, '/v1/chat/completions', { model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: LONG }] });
    const data = sseData(await res.text());
    expect(data[data.length - 1]).toBe('[DONE]');
    expect(counters(s)).toEqual([{ requests: 1, successes: 0, failures: 1, inputTokens: 0, outputTokens: 0 }]);
  });

  it('a /v1/responses stream that dies mid-way counts the same', async () => {
    const s = await start();
    s.sandbox.addFault({ kind: 'disconnect', afterEvents: 6 });
    const res = await post(s, '/v1/responses', { model: 'gpt-5-codex', stream: true, input: LONG });
    await res.text();
    expect(counters(s)).toEqual([{ requests: 1, successes: 0, failures: 1, inputTokens: 0, outputTokens: 0 }]);
  });

  it('streamed, non-streamed, chat and responses: one request and one success each, tokens from response.completed', async () => {
    const s = await start();
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: 'Return OK.' }] });
    for await (const chunk of stream) void chunk;
    await client.chat.completions.create({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }] });
    await client.responses.create({ model: 'gpt-5-codex', input: 'Return OK.' });
    const rs = await client.responses.create({ model: 'gpt-5-codex', input: 'Return OK.', stream: true });
    for await (const ev of rs) void ev;
    const [c] = counters(s);
    expect(c).toMatchObject({ requests: 4, successes: 4, failures: 0 });
    expect(c!.inputTokens).toBeGreaterThan(0);
    expect(c!.outputTokens).toBe(4); // "OK" is one token, four times
  });

  it('a failure before the first byte is retried on the next account: one failure there, one success here', async () => {
    const s = await start(2);
    await models(s);
    s.sandbox.addFault({ kind: 'status', status: 500, times: 1 });
    const res = await post(s, '/v1/chat/completions', { model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: 'Return OK.' }] });
    expect(res.status).toBe(200);
    await res.text();
    const seen = counters(s).map(({ requests, successes, failures }) => ({ requests, successes, failures }));
    expect(seen).toHaveLength(2);
    expect(seen).toContainEqual({ requests: 1, successes: 0, failures: 1 });
    expect(seen).toContainEqual({ requests: 1, successes: 1, failures: 0 });
  });
});
