/**
 * Sign-ins started through the management API and run in the server, against the sandbox
 * issuer: device code (approved in the sandbox) and browser (the sandbox approves the
 * authorize page; the callback comes back to the server's callback port). The new account
 * serves at once.
 */
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

const MGMT = 'logins-mgmt-key-0001';
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function start(): Promise<Stack> {
  stack = await startStack({
    accounts: 1,
    configure: (c) => {
      c.management = { secretKey: MGMT, keyFrom: 'env', allowRemote: false };
    },
  });
  return stack;
}

function call(s: Stack, method: string, p: string, body?: unknown): Promise<Response> {
  return fetch(`${s.url}/v0/management${p}`, {
    method,
    headers: { authorization: `Bearer ${MGMT}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

interface View {
  id: string;
  method: string;
  status: 'pending' | 'done' | 'failed';
  url: string;
  user_code?: string;
  account?: { id: string; accountId: string; email: string; state: string };
  error?: string;
}

async function settle(s: Stack, id: string): Promise<View> {
  const end = Date.now() + 10_000;
  for (;;) {
    const view = (await (await call(s, 'GET', `/logins/${id}`)).json()) as View;
    if (view.status !== 'pending' || Date.now() > end) return view;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('POST /v0/management/logins', () => {
  it('device: answers the code and the link; once approved the account is stored and serves at once', async () => {
    const s = await start();
    const res = await call(s, 'POST', '/logins', { method: 'device' });
    expect(res.status).toBe(201);
    const view = (await res.json()) as View;
    expect(view).toMatchObject({ method: 'device', status: 'pending', url: `${s.sandbox.issuer}/codex/device`, user_code: expect.stringMatching(/^[A-Z0-9]{4}-[A-Z0-9]{4,5}$/) });
    expect((await call(s, 'GET', `/logins/${view.id}`).then((r) => r.json())) as View).toMatchObject({ status: 'pending' });

    s.sandbox.approveDevice(view.user_code!, { email: 'added@example.com', plan: 'pro' });
    const done = await settle(s, view.id);
    expect(done.status).toBe('done');
    expect(done.user_code).toBeUndefined();
    expect(done.account).toMatchObject({ email: 'a***@example.com', state: 'ready' });
    const added = done.account!.accountId;
    expect(s.runtime.pool.snapshot().map((a) => a.accountId)).toContain(added);

    // the old account disabled: the next request goes to the new one
    await call(s, 'POST', `/accounts/${s.accounts[0]!.accountId}/disable`);
    s.sandbox.resetStats();
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${s.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'Return OK.' }] });
    expect(s.sandbox.stats(added).requests).toBe(1);
  });

  it('browser: answers the authorize URL; the callback on the server completes it', async () => {
    const s = await start();
    const res = await call(s, 'POST', '/logins', { method: 'browser', port: 0 });
    expect(res.status).toBe(201);
    const view = (await res.json()) as View;
    const authorize = new URL(view.url);
    expect(authorize.origin + authorize.pathname).toBe(`${s.sandbox.issuer}/oauth/authorize`);
    expect(authorize.searchParams.get('redirect_uri')).toMatch(/^http:\/\/localhost:\d+\/auth\/callback$/);
    expect(view.user_code).toBeUndefined();
    s.sandbox.queueAccount({ email: 'browser@example.com' });
    s.sandbox.setAutoApprove(true);
    const landed = await fetch(view.url);
    expect(landed.status).toBe(200);
    const done = await settle(s, view.id);
    expect(done).toMatchObject({ status: 'done', account: { email: 'b***@example.com' } });
    expect(s.runtime.pool.size().total).toBe(2);
  });

  it('a denied browser sign-in is failed with the reason; cancel; bad input, unknown ids and too many at once', async () => {
    const s = await start();
    const view = (await (await call(s, 'POST', '/logins', { method: 'browser', port: 0 })).json()) as View;
    const redirect = new URL(new URL(view.url).searchParams.get('redirect_uri')!);
    redirect.hostname = '127.0.0.1';
    redirect.search = new URLSearchParams({ error: 'access_denied', error_description: 'The user said no', state: new URL(view.url).searchParams.get('state')! }).toString();
    await fetch(redirect);
    expect(await settle(s, view.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('The user said no (access_denied)') });

    expect((await call(s, 'POST', '/logins', { method: 'carrier-pigeon' })).status).toBe(400);
    expect((await call(s, 'POST', '/logins', { method: 'device', port: 1455 })).status).toBe(400);
    expect((await call(s, 'GET', '/logins/login_nope')).status).toBe(404);

    const pending: View[] = [];
    for (let i = 0; i < 4; i++) pending.push((await (await call(s, 'POST', '/logins', { method: 'device' })).json()) as View);
    const fifth = await call(s, 'POST', '/logins', { method: 'device' });
    expect(fifth.status).toBe(429);
    expect(((await fifth.json()) as { error: { code: string } }).error.code).toBe('too_many_logins');
    for (const p of pending) expect((await call(s, 'DELETE', `/logins/${p.id}`)).status).toBe(200);
    expect(await settle(s, pending[0]!.id)).toMatchObject({ status: 'failed', error: expect.stringMatching(/cancel/i) });
    expect((await call(s, 'DELETE', `/logins/${pending[0]!.id}`)).status).toBe(404);
  });
});
