import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sseData, startStack, type Stack } from './stack.js';

const KEY = 'stream-key-0123456789';
const LONG = 'Return alpha beta gamma delta epsilon zeta eta theta iota kappa.';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ apiKeys: [KEY], configure: (c) => (c.requestRetry = 0) });
});
afterAll(async () => {
  await stack?.close();
});

function post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
}

describe('chat completions streaming', () => {
  it('a raw HTTP client (undici, no SSE library) sees an SSE stream that ends with data: [DONE]', async () => {
    const body = JSON.stringify({ model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: 'Return OK.' }] });
    const res = await request(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body,
      bodyTimeout: 20_000,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const stdout = await res.body.text();
    expect(stdout.endsWith('data: [DONE]\n\n')).toBe(true);
    const chunks = sseData(stdout).slice(0, -1).map((d) => JSON.parse(d) as { choices: { delta: { content?: string }; finish_reason: string | null }[] });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('OK');
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).length).toBe(1);
  });

  it('upstream dies mid-stream → content, then an error chunk, then [DONE]', async () => {
    stack.sandbox.addFault({ kind: 'disconnect', afterEvents: 6 });
    const res = await post('/v1/chat/completions', { model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: LONG }] });
    expect(res.status).toBe(200);
    const data = sseData(await res.text());
    expect(data[data.length - 1]).toBe('[DONE]');
    const errorChunk = JSON.parse(data[data.length - 2]!) as { error?: { message: string; code: string } };
    expect(errorChunk.error?.code).toBe('stream_closed');
    const before = data.slice(0, -2).map((d) => JSON.parse(d) as { choices: { delta: { content?: string } }[] });
    expect(before.some((c) => c.choices[0]?.delta.content)).toBe(true);
  });

  it('the openai SDK raises the in-band error chunk as an APIError after the partial content', async () => {
    stack.sandbox.addFault({ kind: 'disconnect', afterEvents: 6 });
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: LONG }] });
    let text = '';
    const err = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).message).toMatch(/stream/i);
    expect(text.length).toBeGreaterThan(0);
  });

  it('response.failed before any content → a JSON error, not a stream', async () => {
    stack.sandbox.addFault({ kind: 'response_failed' });
    const res = await post('/v1/chat/completions', { model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: 'Return OK.' }] });
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('server_error');
    expect(body.error.message).toContain('response_failed fault');
  });

  it('an upstream 503 before the first byte → JSON 503', async () => {
    stack.sandbox.addFault({ kind: 'status', status: 503 });
    const res = await post('/v1/chat/completions', { model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: 'Return OK.' }] });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('service_unavailable');
  });

  it('client disconnect cancels the upstream stream', async () => {
    stack.sandbox.addFault({ kind: 'slow', delayMs: 400 });
    const controller = new AbortController();
    const res = await post('/v1/chat/completions', { model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: LONG }] }, controller.signal);
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    // without the cancel the sandbox would keep streaming for several more seconds
    let active = -1;
    for (let i = 0; i < 40 && active !== 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const metrics = await (await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).text();
      active = Number(/^cliproxy_active_streams (\d+)/m.exec(metrics)?.[1]);
    }
    expect(active).toBe(0);
  });
});

describe('responses pass-through', () => {
  it('non-stream: assembles the response; store:true and temperature are stripped', async () => {
    const res = await post('/v1/responses', { model: 'gpt-5-codex', input: 'Return OK.', store: true, temperature: 0.2, stream: false });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; status: string; output: { type: string; content?: { type: string; text: string }[] }[] };
    expect(body.object).toBe('response');
    expect(body.status).toBe('completed');
    const message = body.output.find((o) => o.type === 'message');
    expect(message?.content?.[0]?.text).toBe('OK');
  });

  it('stream: forwards the upstream events unchanged, ending in response.completed', async () => {
    const res = await post('/v1/responses', { model: 'gpt-5-codex', input: [{ role: 'user', content: [{ type: 'input_text', text: 'Return OK.' }] }], stream: true });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await res.text();
    const types = sseData(text).map((d) => (JSON.parse(d) as { type: string }).type);
    expect(types[0]).toBe('response.created');
    expect(types).toContain('response.output_text.delta');
    expect(types[types.length - 1]).toBe('response.completed');
    expect(text).toMatch(/^event: response\.created\n/);
  });

  it('stream: an upstream death mid-stream ends with an appended response.failed', async () => {
    stack.sandbox.addFault({ kind: 'disconnect', afterEvents: 6 });
    const res = await post('/backend-api/codex/responses', { model: 'gpt-5-codex', input: LONG, stream: true });
    const events = sseData(await res.text()).map((d) => JSON.parse(d) as { type: string; response?: { id: string; error?: { code: string } } });
    const last = events[events.length - 1]!;
    expect(last.type).toBe('response.failed');
    expect(last.response?.error?.code).toBe('stream_closed');
    expect(last.response?.id).toBe(events[0]!.response?.id);
  });

  it('missing model → 400 missing_required_parameter with param model', async () => {
    const res = await post('/v1/responses', { input: 'hi', stream: true });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; param: string } };
    expect(body.error).toMatchObject({ code: 'missing_required_parameter', param: 'model' });
  });

  it('unknown model → 404 model_not_found', async () => {
    const res = await post('/v1/responses', { model: 'nope-model', input: 'hi' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
  });
});
