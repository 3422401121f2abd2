import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

const KEY = 'http-key-0123456789';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ accounts: 2, apiKeys: [KEY], configure: (c) => (c.claudeModels = { 'claude-custom-1': { model: 'gpt-5', effort: 'low' } }) });
});
afterAll(async () => {
  await stack?.close();
});

const ANTHROPIC = { 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };
const hello = { model: 'claude-custom-1', max_tokens: 50, messages: [{ role: 'user', content: 'Return OK.' }] };

describe('/v1/messages over plain HTTP', () => {
  it('Authorization: Bearer works as well as x-api-key; an exact claude-models entry maps the model', async () => {
    const res = await fetch(`${stack.url}/v1/messages`, { method: 'POST', headers: { ...ANTHROPIC, authorization: `Bearer ${KEY}` }, body: JSON.stringify(hello) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ type: 'message', model: 'claude-custom-1', content: [{ type: 'text', text: 'OK' }] });
  });

  it.each([
    ['no key', {}, '{}', 401, 'authentication_error'],
    ['bad JSON', { 'x-api-key': KEY }, '{"model":', 400, 'invalid_request_error'],
    ['a missing field', { 'x-api-key': KEY }, JSON.stringify({ model: 'claude-x', messages: [] }), 400, 'invalid_request_error'],
    ['an unknown Codex model', { 'x-api-key': KEY }, JSON.stringify({ ...hello, model: 'gpt-4o' }), 404, 'not_found_error'],
  ])('%s → Anthropic error body', async (_name, headers, body, status, type) => {
    const res = await fetch(`${stack.url}/v1/messages?beta=true`, { method: 'POST', headers: { ...ANTHROPIC, ...headers }, body });
    expect(res.status).toBe(status);
    const json = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(json.type).toBe('error');
    expect(json.error.type).toBe(type);
    expect(json.error.message).not.toContain(KEY);
  });

  it('an upstream 500 before the first output is retried through the pool like any request', async () => {
    const total = () => {
      const all = stack.accounts.map((a) => stack.sandbox.stats(a.email));
      return { requests: all.reduce((n, s) => n + s.requests, 0), failures: all.reduce((n, s) => n + s.failures, 0) };
    };
    const before = total();
    stack.sandbox.addFault({ kind: 'status', status: 500 });
    const res = await fetch(`${stack.url}/v1/messages`, { method: 'POST', headers: { ...ANTHROPIC, 'x-api-key': KEY }, body: JSON.stringify({ ...hello, stream: true }) });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('"text":"OK"');
    const after = total();
    expect(after.requests - before.requests).toBe(2);
    expect(after.failures - before.failures).toBe(1);
  });

  it('the same metadata.user_id stays on one account (session affinity)', async () => {
    const requestsPer = () => stack.accounts.map((a) => stack.sandbox.stats(a.email).requests);
    const before = requestsPer();
    for (let i = 0; i < 4; i++) {
      const body = { ...hello, metadata: { user_id: JSON.stringify({ device_id: 'd'.repeat(64), session_id: 'one-session' }) } };
      const res = await fetch(`${stack.url}/v1/messages`, { method: 'POST', headers: { ...ANTHROPIC, 'x-api-key': KEY }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
    }
    const delta = requestsPer().map((n, i) => n - before[i]!);
    expect(delta.sort()).toEqual([0, 4]);
  });

  it('Anthropic clients get Anthropic errors elsewhere too: GET /v1/models with anthropic-version, unknown /v1/messages routes', async () => {
    const models = await fetch(`${stack.url}/v1/models`, { headers: { ...ANTHROPIC, 'x-api-key': 'wrong-key-0123456789' } });
    expect(models.status).toBe(401);
    expect(await models.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const unknown = await fetch(`${stack.url}/v1/messages/batches`, { method: 'POST', headers: { ...ANTHROPIC, 'x-api-key': KEY }, body: '{}' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    const openai = await fetch(`${stack.url}/v1/models`, { headers: { 'x-api-key': 'wrong-key-0123456789' } });
    expect(await openai.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
  });

  it('a stream is SSE with event: lines naming each data type', async () => {
    const res = await fetch(`${stack.url}/v1/messages`, { method: 'POST', headers: { ...ANTHROPIC, 'x-api-key': KEY }, body: JSON.stringify({ ...hello, stream: true }) });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const blocks = (await res.text()).trim().split('\n\n');
    for (const block of blocks) {
      const [eventLine, dataLine] = block.split('\n');
      expect(eventLine).toMatch(/^event: /);
      expect(JSON.parse(dataLine!.slice('data: '.length)).type).toBe(eventLine!.slice('event: '.length));
    }
    expect(blocks.at(-1)).toMatch(/^event: message_stop/);
  });

  it('GET /v1/models and /v1/models/{id}: Anthropic shape with anthropic-version, OpenAI shape without', async () => {
    const anth = (await (await fetch(`${stack.url}/v1/models`, { headers: { ...ANTHROPIC, 'x-api-key': KEY } })).json()) as { data: { id: string; type: string; display_name: string; created_at: string }[]; has_more: boolean; first_id: string };
    expect(anth.data.map((m) => m.id).slice(0, 4)).toEqual(['claude-custom-1', 'opus', 'sonnet', 'haiku']);
    expect(anth.has_more).toBe(false);
    expect(anth.first_id).toBe('claude-custom-1');
    expect(anth.data[0]).toMatchObject({ type: 'model', display_name: 'claude-custom-1' });
    expect(Number.isNaN(Date.parse(anth.data[0]!.created_at))).toBe(false);
    const one = await (await fetch(`${stack.url}/v1/models/opus`, { headers: { ...ANTHROPIC, 'x-api-key': KEY } })).json();
    expect(one).toMatchObject({ type: 'model', id: 'opus' });
    const openai = (await (await fetch(`${stack.url}/v1/models`, { headers: { 'x-api-key': KEY } })).json()) as { object: string };
    expect(openai.object).toBe('list');
  });

  it('count_tokens without max_tokens', async () => {
    const res = await fetch(`${stack.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { ...ANTHROPIC, 'x-api-key': KEY },
      body: JSON.stringify({ model: 'claude-custom-1', system: 'x'.repeat(400), messages: [{ role: 'user', content: 'y'.repeat(400) }] }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ input_tokens: 200 });
  });
});

describe('claude-models defaults on accounts whose plans lack the default model', () => {
  let limited: Stack;
  beforeAll(async () => {
    limited = await startStack({ apiKeys: [KEY], sandbox: { modelsByPlan: { plus: ['gpt-5-codex', 'gpt-5'] } } });
  });
  afterAll(async () => {
    await limited?.close();
  });

  it('a built-in default falls back to the first listed model; a configured target is never replaced', async () => {
    const ask = (model: string) =>
      fetch(`${limited.url}/v1/messages`, { method: 'POST', headers: { ...ANTHROPIC, 'x-api-key': KEY }, body: JSON.stringify({ ...hello, model }) });
    const res = await ask('claude-sonnet-4-5');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'OK' }] });
    limited.config.claudeModels['sonnet'] = { model: 'gpt-5.1-codex' };
    const configured = await ask('claude-sonnet-4-5');
    expect(configured.status).toBe(404);
    expect(((await configured.json()) as { error: { message: string } }).error.message).toMatch(/gpt-5\.1-codex/);
  });
});
