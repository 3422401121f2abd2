import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sseData, startStack, type Stack } from './stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ accounts: 1 });
});
afterAll(async () => {
  await stack?.close();
});

const TOO_LONG = 'Your input exceeds the context window of this model.';

function failNext(code: string, message: string): void {
  stack.sandbox.addFault({ kind: 'response_failed', code, message, times: 1 });
}

async function post(path: string, body: object): Promise<Response> {
  return fetch(`${stack.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

type ErrorBody = { error: { message: string; type: string; code: string | null } };

describe('a response.failed caused by the client input is a 400, not a 502', () => {
  it('chat, non-stream: context_length_exceeded → 400 invalid_request_error with the upstream message', async () => {
    failNext('context_length_exceeded', TOO_LONG);
    const res = await post('/v1/chat/completions', { model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }] });
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorBody;
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'context_length_exceeded', message: TOO_LONG });
  });

  it('chat, stream: the failure comes before any content → a JSON 400, not an SSE stream', async () => {
    failNext('invalid_image', 'The image could not be decoded.');
    const res = await post('/v1/chat/completions', { model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: 'Return OK.' }] });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(((await res.json()) as ErrorBody).error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_image' });
  });

  it('/v1/responses, non-stream and stream: invalid_prompt → 400', async () => {
    failNext('invalid_prompt', 'The prompt was flagged.');
    const plain = await post('/v1/responses', { model: 'gpt-5-codex', input: 'Return OK.' });
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as ErrorBody).error.code).toBe('invalid_prompt');

    failNext('context_length_exceeded', TOO_LONG);
    const streamed = await post('/v1/responses', { model: 'gpt-5-codex', input: 'Return OK.', stream: true });
    expect(streamed.status).toBe(400);
    expect(streamed.headers.get('content-type')).toContain('application/json');
    expect(((await streamed.json()) as ErrorBody).error.code).toBe('context_length_exceeded');
  });

  it('the openai SDK sees a BadRequestError', async () => {
    failNext('context_length_exceeded', TOO_LONG);
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const err = await client.chat.completions.create({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('context_length_exceeded');
  });

  it('a response.failed the upstream caused stays a 502', async () => {
    stack.sandbox.addFault({ kind: 'response_failed', times: 1 });
    const res = await post('/v1/chat/completions', { model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }] });
    expect(res.status).toBe(502);
    expect(((await res.json()) as ErrorBody).error.type).toBe('upstream_error');
  });

  it('the next request is served normally', async () => {
    const res = await post('/v1/chat/completions', { model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: 'Return OK.' }] });
    expect(res.status).toBe(200);
    expect(sseData(await res.text()).at(-1)).toBe('[DONE]');
  });
});
