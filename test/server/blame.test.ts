/**
 * Blame is assigned, not assumed: a request that cannot be sent as it is (a header value undici
 * refuses, a body nested too deep to serialise) or that the upstream refuses as a bad request
 * (400/413/422) is the client's 4xx, and no account is cooled down or counted as failing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
const MAX_JSON_DEPTH = 64;
import { envelopeOf, rawRequest, requestBytes } from './raw-http.js';
import { startStack, type Stack } from './stack.js';

let stack: Stack;
let port: number;

beforeAll(async () => {
  stack = await startStack({ accounts: 3, configure: (c) => (c.cooldown.transientSeconds = 5) });
  port = Number(new URL(stack.url).port);
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.sandbox.resetStats();
});

/** Every account: not cooling, no failure counted. */
function expectNoAccountBlamed(): void {
  for (const a of stack.runtime.pool.snapshot()) {
    expect({ email: a.email, state: a.state, cooldownReason: a.cooldownReason, failures: a.failures }).toEqual({
      email: a.email,
      state: 'ready',
      cooldownReason: null,
      failures: 0,
    });
  }
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${stack.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

const chat = (extra: Record<string, unknown>) => ({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }], ...extra });

describe('values that end up in the session_id header', () => {
  const hostile: [string, string][] = [
    ['a non-Latin-1 user', '"user":"张三"'],
    ['a non-Latin-1 prompt_cache_key', '"prompt_cache_key":"会话-1"'],
    ['CR/LF in the user', '"user":"a\\r\\nx-injected: 1"'],
    ['NUL in the prompt_cache_key', '"prompt_cache_key":"a\\u0000b"'],
    ['a lone surrogate', '"user":"\\ud800"'],
    ['300 characters', `"user":"${'x'.repeat(300)}"`],
  ];
  for (const [name, field] of hostile) {
    it(`${name}: answered, and no account is cooled or blamed`, async () => {
      const body = `{"model":"gpt-5-codex","messages":[{"role":"user","content":"Return OK."}],${field}}`;
      for (let i = 0; i < 3; i++) {
        const res = await post('/v1/chat/completions', body);
        expect(res.status, await res.clone().text()).toBe(200);
        expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('OK');
      }
      expectNoAccountBlamed();
    });
  }

  it('the same key always gives the same upstream session (affinity keeps working)', async () => {
    for (let i = 0; i < 4; i++) expect((await post('/v1/chat/completions', chat({ user: '张三' }))).status).toBe(200);
    const used = stack.runtime.pool.snapshot().filter((a) => a.lastUsed !== null);
    expect(new Set(stack.accounts.map((a) => stack.sandbox.stats(a.email).requests).filter((n) => n > 0)).size).toBe(1);
    expect(used.length).toBeGreaterThan(0);
    expectNoAccountBlamed();
  });

  it('a session_id header with bytes beyond ASCII, on /v1/responses', async () => {
    const body = JSON.stringify({ model: 'gpt-5-codex', input: 'Return OK.' });
    const bytes = requestBytes('POST', '/v1/responses', { 'content-type': 'application/json', session_id: 'caf\xe9-\xff' }, body, port);
    const res = await rawRequest(port, bytes);
    expect(res.status, res.body).toBe(200);
    expectNoAccountBlamed();
  });
});

describe('deep nesting', () => {
  const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
  const deepObject = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
  const cases: [string, string, string][] = [
    ['/v1/chat/completions', 'tools', `{"model":"gpt-5-codex","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${deepObject(10_000)}}}]}`],
    ['/v1/chat/completions', 'response_format', `{"model":"gpt-5-codex","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":${deepObject(10_000)}}}}`],
    ['/v1/responses', 'input', `{"model":"gpt-5-codex","input":${deep(10_000)}}`],
    ['/v1/responses', 'tools', `{"model":"gpt-5-codex","input":"hi","tools":[{"type":"function","name":"f","parameters":${deepObject(10_000)}}]}`],
    ['/backend-api/codex/responses', 'input', `{"model":"gpt-5-codex","input":[{"type":"message","role":"user","content":${deep(5_000)}}]}`],
  ];
  for (const [path, field, body] of cases) {
    it(`${path} with 10,000 levels in ${field}: 400 naming the field, no account blamed`, async () => {
      const res = await post(path, body);
      expect(res.status).toBe(400);
      const err = envelopeOf(await res.text());
      if (typeof err === 'string') throw new Error(err);
      expect(err).toMatchObject({ code: 'nesting_too_deep', param: field, type: 'invalid_request_error' });
      expect(err.message).toContain(String(MAX_JSON_DEPTH));
      expect(err.message.length).toBeLessThan(600);
      expectNoAccountBlamed();
      expect(stack.sandbox.stats().requests).toBe(0);
    });
  }

  it(`exactly ${MAX_JSON_DEPTH} levels is accepted`, async () => {
    // body (1) → tools (2) → [0] (3) → function (4) → parameters and the objects inside it
    const levels = MAX_JSON_DEPTH - 4;
    const schema = deepObject(levels);
    const body = `{"model":"gpt-5-codex","messages":[{"role":"user","content":"Return OK."}],"tools":[{"type":"function","function":{"name":"f","parameters":${schema}}}]}`;
    const res = await post('/v1/chat/completions', body);
    expect(res.status, await res.clone().text()).toBe(200);
    const over = `{"model":"gpt-5-codex","messages":[{"role":"user","content":"Return OK."}],"tools":[{"type":"function","function":{"name":"f","parameters":${deepObject(levels + 1)}}}]}`;
    expect((await post('/v1/chat/completions', over)).status).toBe(400);
  });
});

describe('the upstream refusing the request itself', () => {
  for (const status of [400, 413, 422] as const) {
    it(`upstream ${status}: the client's 4xx, not retried on other accounts, no account blamed`, async () => {
      stack.sandbox.addFault({ kind: 'status', status });
      const res = await post('/v1/chat/completions', chat({}));
      expect(res.status).toBe(status === 413 ? 413 : 400);
      const err = envelopeOf(await res.text());
      if (typeof err === 'string') throw new Error(err);
      expect(err.type).toBe('invalid_request_error');
      expect(stack.sandbox.stats().requests).toBe(1);
      expectNoAccountBlamed();
    });
  }

  it('a response.failed that blames the input (context_length_exceeded): 400, no account blamed', async () => {
    stack.sandbox.addFault({ kind: 'response_failed', code: 'context_length_exceeded', message: 'Your input exceeds the context window.' });
    const res = await post('/v1/responses', { model: 'gpt-5-codex', input: 'hi' });
    expect(res.status).toBe(400);
    expectNoAccountBlamed();
  });

  it('an upstream 500 still cools the account (upstream-attributable)', async () => {
    stack.sandbox.addFault({ kind: 'status', status: 500 });
    const res = await post('/v1/chat/completions', chat({}));
    expect(res.status).toBe(200); // retried on another account
    const cooled = stack.runtime.pool.snapshot().filter((a) => a.cooldownReason === 'server');
    expect(cooled).toHaveLength(1);
    expect(cooled[0]!.failures).toBe(1);
  });
});
