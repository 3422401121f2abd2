import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ accounts: 3 });
});
afterAll(async () => {
  await stack?.close();
});

/** /responses requests each account received while `run` ran. */
async function requestsPerAccount(run: () => Promise<void>): Promise<number[]> {
  const before = stack.accounts.map((a) => stack.sandbox.stats(a.accountId).requests);
  await run();
  return stack.accounts.map((a, i) => stack.sandbox.stats(a.accountId).requests - before[i]!);
}

async function post(path: string, body: object, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
}

const chat = (extra: object = {}) => ({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }], ...extra });

async function times(n: number, fn: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < n; i++) await fn(i);
}

describe('session affinity through HTTP (3 accounts, round-robin)', () => {
  it('the same prompt_cache_key on /v1/chat/completions lands on one account every time', async () => {
    const counts = await requestsPerAccount(() => times(6, () => post('/v1/chat/completions', chat({ prompt_cache_key: 'chat-session-1' }))));
    expect(counts.slice().sort()).toEqual([0, 0, 6]);
  });

  it('the same session_id header lands on one account every time', async () => {
    const counts = await requestsPerAccount(() => times(6, () => post('/v1/chat/completions', chat(), { session_id: 'header-session-7' })));
    expect(counts.slice().sort()).toEqual([0, 0, 6]);
  });

  it('the same prompt_cache_key on /v1/responses lands on one account every time', async () => {
    const body = { model: 'gpt-5-codex', input: 'Return OK.', prompt_cache_key: 'responses-session-3' };
    const counts = await requestsPerAccount(() => times(6, () => post('/v1/responses', body)));
    expect(counts.slice().sort()).toEqual([0, 0, 6]);
  });

  it('different conversations without a key rotate across all accounts', async () => {
    const counts = await requestsPerAccount(() => times(6, (i) => post('/v1/chat/completions', chat({ messages: [{ role: 'user', content: `Return ${i}.` }] }))));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(6);
    for (const c of counts) expect(c).toBeGreaterThanOrEqual(1);
  });

  it('one conversation without any key stays on one account (prompt_cache_key derived from its start), and hits the cache', async () => {
    const system = { role: 'system', content: 'You are a careful assistant with a long system prompt.' };
    const turns = [
      [system, { role: 'user', content: 'Return first.' }],
      [system, { role: 'user', content: 'Return first.' }, { role: 'assistant', content: 'first' }, { role: 'user', content: 'Return second.' }],
      [system, { role: 'user', content: 'Return first.' }, { role: 'assistant', content: 'first' }, { role: 'user', content: 'Return second.' }, { role: 'assistant', content: 'second' }, { role: 'user', content: 'Return third.' }],
    ];
    let cached = 0;
    const counts = await requestsPerAccount(async () => {
      for (const messages of turns) {
        const res = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat({ messages })) });
        const body = (await res.json()) as { usage: { prompt_tokens_details: { cached_tokens: number } } };
        cached = body.usage.prompt_tokens_details.cached_tokens;
      }
    });
    expect(counts.slice().sort()).toEqual([0, 0, 3]);
    expect(cached).toBeGreaterThan(0);
    const sent = stack.sandbox.requests().filter((r) => r.path.endsWith('/responses')).slice(-3);
    const keys = sent.map((r) => (r.body as { prompt_cache_key?: string }).prompt_cache_key);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent.map((r) => r.headers['session-id'] ?? r.headers['session_id'])).toEqual(keys);
  });

  it('different keys spread over different accounts', async () => {
    const counts = await requestsPerAccount(() =>
      times(6, (i) => post('/v1/chat/completions', chat({ prompt_cache_key: `spread-${i % 3}` }))),
    );
    expect(counts.filter((c) => c > 0).length).toBeGreaterThanOrEqual(2);
  });
});
