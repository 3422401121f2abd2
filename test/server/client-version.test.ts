/**
 * A proxy that claims an old Codex client version sees a short (or empty) model list from the
 * backend, yet still serves every model the backend accepts: the list never blocks a request.
 * Through the real openai SDK; the sandbox gates /models on client_version like the backend.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codexCliVersion } from '../../src/app/version.js';
import { startStack, type Stack } from './stack.js';

const KEY = 'cv-key-0123456789';

describe('an old codex.client-version (0.100.0): the list hides gpt-6.1-sol', () => {
  let stack: Stack;
  let client: OpenAI;
  beforeAll(async () => {
    stack = await startStack({ apiKeys: [KEY], configure: (c) => (c.codex.clientVersion = '0.100.0') });
    client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('/v1/models does not list it, /models was asked with the configured version, headers say so too', async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    expect(ids).toContain('gpt-5-codex');
    expect(ids).not.toContain('gpt-6.1-sol');
    const call = stack.sandbox.requests().find((r) => r.path.endsWith('/models'))!;
    expect(call.query).toEqual({ client_version: '0.100.0' });
    expect(call.headers['version']).toBe('0.100.0');
    expect(call.headers['user-agent']).toMatch(/^codex_cli_rs\/0\.100\.0 \(/);
    expect(call.headers['originator']).toBe('codex_cli_rs');
  });

  it('chat.completions with the hidden model gets its answer', async () => {
    const r = await client.chat.completions.create({ model: 'gpt-6.1-sol', messages: [{ role: 'user', content: 'Return hidden but served.' }] });
    expect(r.choices[0]!.message.content).toBe('hidden but served');
    expect(r.model).toBe('gpt-6.1-sol');
  });

  it('responses.create (streamed) with the hidden model gets its answer', async () => {
    const stream = await client.responses.create({ model: 'gpt-6.1-sol', input: 'Return streamed.', stream: true });
    let text = '';
    for await (const ev of stream) if (ev.type === 'response.output_text.delta') text += ev.delta;
    expect(text).toBe('streamed');
  });

  it("a model the backend refuses is a NotFoundError model_not_found with the backend's sentence", async () => {
    const err = await client.chat.completions.create({ model: 'gpt-nope', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    const e = err as InstanceType<typeof OpenAI.NotFoundError>;
    expect(e.status).toBe(404);
    expect(e.code).toBe('model_not_found');
    expect(e.param).toBe('model');
    expect(e.message).toContain("The 'gpt-nope' model is not supported when using Codex with a ChatGPT account.");
    const viaResponses = await client.responses.create({ model: 'gpt-nope', input: 'hi' }).catch((x: unknown) => x);
    expect(viaResponses).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe('a client version so old the backend lists nothing (0.8.0)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ apiKeys: [KEY], configure: (c) => (c.codex.clientVersion = '0.8.0') });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('still serves requests (before the fix: 404 "Available models: (none)")', async () => {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: KEY, maxRetries: 0 });
    expect((await client.models.list()).data.filter((m) => m.id.startsWith('gpt'))).toEqual([]);
    const r = await client.chat.completions.create({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }] });
    expect(r.choices[0]!.message.content).toBe('OK');
  });
});

describe('the default client version', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ apiKeys: [KEY] });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('is the tested Codex CLI version, on /models and /responses alike', async () => {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: KEY, maxRetries: 0 });
    expect((await client.models.list()).data.map((m) => m.id)).toContain('gpt-6.1-sol');
    await client.chat.completions.create({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }] });
    const version = codexCliVersion();
    const [models, responses] = [stack.sandbox.requests().find((r) => r.path.endsWith('/models'))!, stack.sandbox.requests().find((r) => r.path.endsWith('/responses'))!];
    expect(models.query['client_version']).toBe(version);
    for (const r of [models, responses]) {
      expect(r.headers['version']).toBe(version);
      expect(r.headers['user-agent']).toContain(`codex_cli_rs/${version} (`);
    }
  });
});
