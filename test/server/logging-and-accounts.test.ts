import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/server/app.js';
import { systemClock } from '../../src/util/clock.js';
import { startStack, type Stack } from './stack.js';

const KEY = 'log-key-0123456789';
let stack: Stack;
let logs = '';
let url: string;
let app: Awaited<ReturnType<typeof buildServer>>;

beforeAll(async () => {
  stack = await startStack({ apiKeys: [KEY] });
  const stream = new PassThrough();
  stream.on('data', (d: Buffer) => (logs += d.toString('utf8')));
  app = await buildServer({
    config: { ...stack.config, debug: true },
    pool: stack.runtime.pool,
    upstream: stack.runtime.upstream,
    clock: systemClock,
    logger: { stream },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  await app?.close();
  await stack?.close();
});

describe('logging', () => {
  it('logs one line per request and dropped parameters at debug, never keys or tokens', async () => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-codex', temperature: 0.3, max_tokens: 10, messages: [{ role: 'user', content: 'Return OK.' }] }),
    });
    expect(res.status).toBe(200);
    await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer wrong-key-abcdefgh' } });
    const lines = logs.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; dropped?: string[]; url?: string; status?: number });
    expect(lines.find((l) => l.msg.startsWith('dropped parameters'))?.dropped).toEqual(expect.arrayContaining(['temperature', 'max_tokens']));
    expect(lines.some((l) => l.msg === 'request' && l.url === '/v1/chat/completions' && l.status === 200)).toBe(true);
    expect(lines.some((l) => l.msg === 'request' && l.status === 401)).toBe(true);
    for (const secret of [KEY, 'wrong-key-abcdefgh', stack.accounts[0]!.accessToken, stack.accounts[0]!.refreshToken]) expect(logs).not.toContain(secret);
  });
});

describe('accounts that can no longer be used', () => {
  it('503 naming `cliproxy login` when the only account needs a new login; /healthz says so', async () => {
    stack.sandbox.revokeRefreshTokens();
    stack.sandbox.expireAccessTokens();
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }] }),
    });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe('service_unavailable');
    expect(body.error.message).toContain('cliproxy login');
    const health = (await (await fetch(`${url}/healthz`)).json()) as { status: string; accounts: { usable: number } };
    expect(health).toMatchObject({ status: 'no_usable_accounts', accounts: { usable: 0 } });
  });
});
