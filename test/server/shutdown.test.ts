import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryAccountStore } from '../../src/accounts/memory-store.js';
import { createRuntime, type Runtime } from '../../src/app/runtime.js';
import { credentialFromTokens } from '../../src/auth/credential-from-tokens.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { startServer, type ServerHandle } from '../../src/server/run.js';
import { sseData, testConfig } from './stack.js';

let sandbox: Sandbox;
let dir: string;
let runtime: Runtime;
let handle: ServerHandle;

beforeEach(async () => {
  sandbox = await startSandbox({ quiet: true });
  dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-shutdown-test-'));
  const store = new MemoryAccountStore();
  const m = sandbox.mintAccount({ email: 'shutdown@example.com' });
  const tokens = { idToken: m.idToken, accessToken: m.accessToken, refreshToken: m.refreshToken, tokenType: 'Bearer', expiresIn: m.expiresIn };
  await store.save(credentialFromTokens(tokens, 'import', Date.now()));
  const config = testConfig(sandbox, dir);
  runtime = await createRuntime(config, { store });
  handle = await startServer(config, { runtime, stdout: new PassThrough(), stderr: new PassThrough(), logs: false });
});
afterEach(async () => {
  await handle?.close();
  await runtime?.close();
  await sandbox?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a streaming request and resolves once the first SSE data arrived; `rest()` reads the remainder. */
async function startStream(pathname: string, body: object): Promise<{ first: string; rest(): Promise<string> }> {
  const res = await fetch(`${handle.url}${pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let first = '';
  while (!first.includes('\n\n')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before any event: ${first}`);
    first += decoder.decode(value, { stream: true });
  }
  return {
    first,
    async rest() {
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return text + decoder.decode();
        text += decoder.decode(value, { stream: true });
      }
    },
  };
}

/** close() must not wait for the (slow) upstream stream to finish: it has ~1 s for streams. */
async function closeWithin(ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const tooSlow = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`close() took more than ${ms} ms`)), ms)));
  try {
    await Promise.race([handle.close(), tooSlow]);
  } finally {
    clearTimeout(timer);
  }
}

const LONG_TEXT = 'Return one two three four five six seven eight nine ten eleven twelve.';

describe('shutdown with streams in progress', () => {
  it('a chat stream gets an error chunk (server_shutdown) and [DONE] before the connection closes', async () => {
    sandbox.addFault({ kind: 'slow', delayMs: 400, times: 1 });
    const stream = await startStream('/v1/chat/completions', { model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: LONG_TEXT }] });
    const rest = stream.rest();
    await closeWithin(3000);
    const data = sseData(stream.first + (await rest));
    expect(data.at(-1)).toBe('[DONE]');
    const last = JSON.parse(data.at(-2)!) as { choices: unknown[]; error?: { message: string; type: string; code: string } };
    expect(last.error).toEqual({ message: 'server shutting down', type: 'server_error', code: 'server_shutdown', param: null });
    expect(last.choices).toEqual([]);
    // the stream was cut short: not all of the reply arrived
    const text = data
      .slice(0, -2)
      .map((d) => (JSON.parse(d) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '')
      .join('');
    expect(text).not.toContain('twelve');
  });

  it('a /v1/responses stream ends with a response.failed event', async () => {
    sandbox.addFault({ kind: 'slow', delayMs: 400, times: 1 });
    const stream = await startStream('/v1/responses', { model: 'gpt-5-codex', stream: true, input: LONG_TEXT });
    const rest = stream.rest();
    await closeWithin(3000);
    const events = sseData(stream.first + (await rest)).map((d) => JSON.parse(d) as { type: string; response?: { status: string; error: { code: string; message: string } } });
    const last = events.at(-1)!;
    expect(last.type).toBe('response.failed');
    expect(last.response).toMatchObject({ status: 'failed', error: { code: 'server_shutdown', message: 'server shutting down' } });
    expect(events.some((e) => e.type === 'response.completed')).toBe(false);
  });

  it('a /v1/messages stream ends with an Anthropic error event (overloaded_error)', async () => {
    sandbox.addFault({ kind: 'slow', delayMs: 400, times: 1 });
    const stream = await startStream('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 1000, stream: true, messages: [{ role: 'user', content: LONG_TEXT }] });
    const rest = stream.rest();
    await closeWithin(3000);
    const events = sseData(stream.first + (await rest)).map((d) => JSON.parse(d) as { type: string; error?: { type: string; message: string } });
    expect(events[0]!.type).toBe('message_start');
    expect(events.at(-1)).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'server shutting down' } });
    expect(events.some((e) => e.type === 'message_stop')).toBe(false);
  });

  it('close() with no stream in progress resolves and the port stops answering', async () => {
    const url = handle.url;
    await closeWithin(3000);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
