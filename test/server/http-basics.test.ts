import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

const KEY = 'test-key-0123456789';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ apiKeys: [KEY], configure: (c) => (c.maxBodyMb = 0.01) });
});
afterAll(async () => {
  await stack?.close();
});

function post(path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
    body,
  });
}

async function errorOf(res: Response): Promise<{ message: string; type: string; param: string | null; code: string | null }> {
  const json = (await res.json()) as { error: { message: string; type: string; param: string | null; code: string | null } };
  expect(Object.keys(json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  return json.error;
}

const chat = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }], ...extra });

describe('client auth', () => {
  it('rejects a request without a key with 401 in OpenAI format', async () => {
    const res = await fetch(`${stack.url}/v1/models`);
    expect(res.status).toBe(401);
    const err = await errorOf(res);
    expect(err.code).toBe('invalid_api_key');
    expect(err.message).toMatch(/Authorization: Bearer/);
  });

  it('rejects a wrong key', async () => {
    const res = await fetch(`${stack.url}/v1/models`, { headers: { authorization: 'Bearer wrong-key-123456' } });
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).not.toContain('wrong-key');
  });

  it('accepts Bearer and x-api-key', async () => {
    expect((await fetch(`${stack.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);
    expect((await fetch(`${stack.url}/v1/models`, { headers: { 'x-api-key': KEY } })).status).toBe(200);
  });

  it('serves /healthz without a key, with counts and no secrets', async () => {
    const res = await fetch(`${stack.url}/healthz`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ status: 'ok', accounts: { total: 1, usable: 1 } });
    expect(text).not.toContain(stack.accounts[0]!.email);
  });
});

describe('input safety', () => {
  it('413 for a body over max-body-mb', async () => {
    const res = await post('/v1/chat/completions', chat({ padding: 'x'.repeat(20_000) }));
    expect(res.status).toBe(413);
    expect((await errorOf(res)).type).toBe('invalid_request_error');
  });

  it('400 for invalid JSON', async () => {
    const res = await post('/v1/chat/completions', '{"model": "gpt-5-codex", ');
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('invalid_json');
  });

  it('415 for a non-JSON content type', async () => {
    const res = await post('/v1/chat/completions', 'model=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
    expect((await errorOf(res)).message).toMatch(/application\/json/);
  });

  it('400 with param for a field of the wrong type', async () => {
    const res = await post('/v1/chat/completions', JSON.stringify({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 5 }] }));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).param).toBe('messages.0.content');
  });

  it('400 for n > 1', async () => {
    const res = await post('/v1/chat/completions', chat({ n: 2 }));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).param).toBe('n');
  });

  it('404 model_not_found with the backend\'s sentence and the available models', async () => {
    const res = await post('/v1/chat/completions', chat({ model: 'gpt-9-imaginary' }));
    expect(res.status).toBe(404);
    const err = await errorOf(res);
    expect(err.code).toBe('model_not_found');
    expect(err.param).toBe('model');
    expect(err.message).toContain("The 'gpt-9-imaginary' model is not supported when using Codex with a ChatGPT account.");
    expect(err.message).toContain('gpt-5-codex');
  });

  it('404 in OpenAI format for an unknown route', async () => {
    const res = await fetch(`${stack.url}/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect((await errorOf(res)).message).toContain('/v1/nothing-here');
  });
});

describe('models', () => {
  it('lists the live models in OpenAI list format', async () => {
    const res = await fetch(`${stack.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
    const body = (await res.json()) as { object: string; data: { id: string; object: string; owned_by: string }[] };
    expect(body.object).toBe('list');
    expect(body.data.map((m) => m.id)).toEqual(expect.arrayContaining(['gpt-5', 'gpt-5-codex', 'codex-mini-latest']));
    expect(body.data[0]).toMatchObject({ object: 'model', owned_by: 'openai' });
  });

  it('GET /v1/models/:id, and 404 model_not_found for an unknown one', async () => {
    const ok = await fetch(`${stack.url}/v1/models/gpt-5`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(await ok.json()).toMatchObject({ id: 'gpt-5', object: 'model' });
    const missing = await fetch(`${stack.url}/v1/models/nope`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe('model_not_found');
  });

  it('serves the backend format to Codex clients', async () => {
    const res = await fetch(`${stack.url}/v1/models?client_version=0.169.0`, { headers: { authorization: `Bearer ${KEY}` } });
    const body = (await res.json()) as { models: { slug: string }[] };
    expect(body.models.map((m) => m.slug)).toContain('gpt-5-codex');
    const res2 = await fetch(`${stack.url}/backend-api/codex/models`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(((await res2.json()) as { models: unknown[] }).models.length).toBe(body.models.length);
  });
});

describe('metrics', () => {
  it('exposes request counts and upstream attempts with hashed account labels', async () => {
    await post('/v1/chat/completions', chat());
    const res = await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/cliproxy_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="200"\} \d+/);
    expect(text).toMatch(/cliproxy_upstream_attempts_total\{account="[0-9a-f]{8}",outcome="ok"\} \d+/);
    expect(text).toContain('cliproxy_accounts{state="total"} 1');
    expect(text).not.toContain(stack.accounts[0]!.accountId);
    expect(text).not.toContain(stack.accounts[0]!.email);
  });

  it('requires the API key', async () => {
    expect((await fetch(`${stack.url}/metrics`)).status).toBe(401);
  });
});

