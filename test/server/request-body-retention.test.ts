import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

/**
 * While an answer has not started (the upstream is slow to send its first content), nothing of
 * the request's parsed body is kept: the route let go of it (takeBody) and the handler waits on
 * the serialised body alone (UpstreamBody). Checked with a WeakRef to the body fastify parsed and
 * a full garbage collection while the attempt waits.
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const KEY = 'retention-key-0123456789';
let stack: Stack;
const parsed: WeakRef<object>[] = [];

beforeAll(async () => {
  stack = await startStack({
    apiKeys: [KEY],
    configure: (c) => (c.requestRetry = 0),
    beforeListen: (app) =>
      app.addHook('preHandler', async (req) => {
        if (typeof req.body === 'object' && req.body !== null) parsed.push(new WeakRef(req.body));
      }),
  });
});
afterAll(async () => {
  await stack?.close();
});

/** Whether the body of the last request is still reachable after a full collection. */
async function lastBodyKept(): Promise<boolean> {
  // a WeakRef's target stays alive until the job that made or read it ends: collect from a later one
  await new Promise((r) => setTimeout(r, 0));
  gc();
  await new Promise((r) => setTimeout(r, 0));
  return parsed[parsed.length - 1]!.deref() !== undefined;
}

const LONG = `Return ${Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ')}.`;
const cases: Array<[string, string, Record<string, unknown>]> = [
  ['/v1/chat/completions', 'chat', { model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: LONG }] }],
  ['/v1/responses', 'responses', { model: 'gpt-5-codex', stream: true, input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: LONG }] }] }],
  ['/v1/messages', 'messages', { model: 'claude-sonnet-4-5', stream: true, max_tokens: 100, messages: [{ role: 'user', content: LONG }] }],
];

describe('a request waiting for its answer to start keeps nothing of its parsed body', () => {
  it.each(cases)('%s', async (path, _name, body) => {
    // the first event now, the next ones a second apart: the answer starts (content) two seconds in
    stack.sandbox.addFault({ kind: 'slow', delayMs: 1000, times: 1 });
    const controller = new AbortController();
    const answer = fetch(`${stack.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: controller.signal,
    }).catch(() => undefined);
    const before = stack.sandbox.requests().length;
    // until the upstream got the request: the attempt is waiting for its answer
    for (let i = 0; i < 100 && stack.sandbox.requests().length === before; i++) await new Promise((r) => setTimeout(r, 10));
    expect(stack.sandbox.requests().length).toBeGreaterThan(before);
    expect(await lastBodyKept()).toBe(false);
    controller.abort();
    await answer;
  });
});
