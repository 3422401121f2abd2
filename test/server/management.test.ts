/**
 * The management API against the real server over HTTP (and fastify inject for other source
 * addresses and a manual clock): off without a key, the key check, loopback only, lockout,
 * accounts list / disable / enable / delete, and readiness.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { AccountPool } from '../../src/accounts/pool.js';
import { TokenClient } from '../../src/auth/token-client.js';
import { buildServer } from '../../src/server/app.js';
import { hashManagementKey, ManagementKeyVerifier } from '../../src/server/management/key.js';
import { accountLabel } from '../../src/server/metrics.js';
import { ManualClock } from '../../src/util/clock.js';
import { postForm, CLIENT_ID } from '../sandbox/helpers.js';
import { startStack, type Stack } from './stack.js';

const MGMT = 'management-key-0001';
const API_KEY = 'client-api-key-0001';

let stack: Stack | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await stack?.close();
  stack = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function mgmt(url: string, init: RequestInit = {}, key = MGMT): Promise<Response> {
  return fetch(url, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers as Record<string, string> | undefined) } });
}

interface Account {
  id: string;
  accountId: string;
  email: string;
  state: string;
  disabled: boolean;
  planType: string;
  expiresAt: number | null;
  requests: number;
  location: string;
}

async function withKey(opts: { accounts?: number; store?: FileAccountStore; key?: string } = {}): Promise<Stack> {
  stack = await startStack({
    accounts: opts.accounts ?? 2,
    apiKeys: [API_KEY],
    store: opts.store,
    configure: (c) => {
      c.management = { secretKey: opts.key ?? MGMT, keyFrom: 'env', allowRemote: false };
    },
  });
  return stack;
}

function fileStore(): FileAccountStore {
  const dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-mgmt-'));
  dirs.push(dir);
  return new FileAccountStore({ dir, watchDebounceMs: 20 });
}

describe('management API switched off', () => {
  it('without a key: /v0/management/* and /dashboard are 404s, whatever key is sent', async () => {
    stack = await startStack({ accounts: 1, apiKeys: [API_KEY] });
    for (const p of ['/v0/management/accounts', '/dashboard']) {
      expect((await mgmt(`${stack.url}${p}`, {}, API_KEY)).status).toBe(404);
    }
  });
});

describe('management key', () => {
  it('opens /v0/management only; a client API key does not open it, and it does not open /v1', async () => {
    const s = await withKey();
    const none = await fetch(`${s.url}/v0/management/accounts`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('invalid_management_key');
    expect((await mgmt(`${s.url}/v0/management/accounts`, {}, API_KEY)).status).toBe(401);
    expect((await mgmt(`${s.url}/v0/management/accounts`)).status).toBe(200);
    // the management key is not a client key
    const client = new OpenAI({ apiKey: MGMT, baseURL: `${s.url}/v1`, maxRetries: 0 });
    await expect(client.models.list()).rejects.toMatchObject({ status: 401 });
    const ok = new OpenAI({ apiKey: API_KEY, baseURL: `${s.url}/v1`, maxRetries: 0 });
    expect((await ok.models.list()).data.length).toBeGreaterThan(0);
  });

  it('a stored scrypt hash is accepted as the configured key; the key itself opens, the hash string does not', async () => {
    const hash = await hashManagementKey(MGMT);
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(hash).not.toContain(MGMT);
    const s = await withKey({ key: hash });
    expect((await mgmt(`${s.url}/v0/management/accounts`)).status).toBe(200);
    expect((await mgmt(`${s.url}/v0/management/accounts`, {}, hash)).status).toBe(401);
    const v = await ManagementKeyVerifier.fromConfigured(hash);
    expect(await v.verify(MGMT)).toBe(true);
    expect(await v.verify(`${MGMT}x`)).toBe(false);
    expect(await v.verify(MGMT.slice(0, -1))).toBe(false);
  });

  it('answers only loopback unless allow-remote is on', async () => {
    const s = await withKey();
    const headers = { authorization: `Bearer ${MGMT}` };
    const remote = await s.app.inject({ method: 'GET', url: '/v0/management/accounts', headers, remoteAddress: '10.1.2.3' });
    expect(remote.statusCode).toBe(403);
    expect(remote.json()).toMatchObject({ error: { code: 'management_remote_disabled' } });
    expect((await s.app.inject({ method: 'GET', url: '/v0/management/accounts', headers, remoteAddress: '::ffff:127.0.0.1' })).statusCode).toBe(200);

    const config = { ...s.config, management: { ...s.config.management, allowRemote: true } };
    const open = await buildServer({ config, pool: s.runtime.pool, upstream: s.runtime.upstream, clock: s.runtime.clock, logger: false });
    try {
      expect((await open.inject({ method: 'GET', url: '/v0/management/accounts', headers, remoteAddress: '10.1.2.3' })).statusCode).toBe(200);
      expect((await open.inject({ method: 'GET', url: '/v0/management/accounts', remoteAddress: '10.1.2.3' })).statusCode).toBe(401);
    } finally {
      await open.close();
    }
  });

  it('5 wrong keys from one address lock that address out for a minute (429 + Retry-After), others keep access', async () => {
    const s = await withKey();
    const clock = new ManualClock(Date.now());
    const app = await buildServer({ config: s.config, pool: s.runtime.pool, upstream: s.runtime.upstream, clock, logger: false });
    const call = (key: string, remoteAddress = '127.0.0.2') =>
      app.inject({ method: 'GET', url: '/v0/management/accounts', headers: { authorization: `Bearer ${key}` }, remoteAddress });
    try {
      for (let i = 0; i < 4; i++) expect((await call('wrong-key-000000')).statusCode).toBe(401);
      // a missing key is no guess: it does not count
      expect((await app.inject({ method: 'GET', url: '/v0/management/accounts', remoteAddress: '127.0.0.2' })).statusCode).toBe(401);
      expect((await call(MGMT)).statusCode).toBe(200); // success resets the count
      for (let i = 0; i < 5; i++) expect((await call('wrong-key-000000')).statusCode).toBe(401);
      const locked = await call(MGMT);
      expect(locked.statusCode).toBe(429);
      expect(locked.headers['retry-after']).toBe('60');
      expect(locked.json()).toMatchObject({ error: { type: 'rate_limit_error', code: 'management_locked_out' } });
      expect((await call(MGMT, '127.0.0.3')).statusCode).toBe(200);
      await clock.advance(59_000);
      expect((await call(MGMT)).statusCode).toBe(429);
      await clock.advance(1_000);
      expect((await call(MGMT)).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('accounts', () => {
  it('GET lists every account with a masked email, its label, state, plan, expiry and counters; no secrets', async () => {
    const s = await withKey();
    const res = await mgmt(`${s.url}/v0/management/accounts`);
    const text = await res.text();
    const { accounts } = JSON.parse(text) as { accounts: Account[] };
    expect(accounts.map((a) => [a.id, a.accountId, a.email, a.state, a.planType])).toEqual(
      s.accounts.map((m) => [accountLabel(m.accountId), m.accountId, 'u***@example.com', 'ready', m.plan]),
    );
    expect(accounts.every((a) => typeof a.expiresAt === 'number' && a.requests === 0)).toBe(true);
    for (const m of s.accounts) {
      for (const secret of [m.email, m.accessToken, m.refreshToken, m.idToken]) expect(text).not.toContain(secret);
    }
  });

  it('disable sends the traffic to the other account, is kept in the store across a restart; enable brings it back', async () => {
    const store = fileStore();
    const s = await withKey({ store });
    const [a, b] = s.accounts;
    const client = new OpenAI({ apiKey: API_KEY, baseURL: `${s.url}/v1`, maxRetries: 0 });
    const off = await mgmt(`${s.url}/v0/management/accounts/${accountLabel(a!.accountId)}/disable`, { method: 'POST' });
    expect(off.status).toBe(200);
    expect(((await off.json()) as { account: Account }).account).toMatchObject({ accountId: a!.accountId, state: 'disabled', disabled: true });
    expect((await store.load(a!.accountId))!.credential.disabled).toBe(true);

    s.sandbox.resetStats();
    // distinct conversations: one conversation would stay on one account (its derived prompt_cache_key)
    for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: `Return OK ${i}.` }] });
    expect(s.sandbox.stats(a!.accountId).requests).toBe(0);
    expect(s.sandbox.stats(b!.accountId).requests).toBe(3);

    // a restart (a new pool over the same auth dir) still has it disabled
    const again = new AccountPool({ store: new FileAccountStore({ dir: store.dir }), tokens: new TokenClient({ issuer: s.config.codex.issuer, clientId: CLIENT_ID }), clock: s.runtime.clock, config: s.config });
    await again.start();
    expect(again.snapshot().find((x) => x.accountId === a!.accountId)!.state).toBe('disabled');
    await again.stop();

    const on = await mgmt(`${s.url}/v0/management/accounts/${a!.accountId}/enable`, { method: 'POST' });
    expect(((await on.json()) as { account: Account }).account).toMatchObject({ state: 'ready', disabled: false });
    expect((await store.load(a!.accountId))!.credential.disabled).toBe(false);
    s.sandbox.resetStats();
    for (let i = 0; i < 4; i++) await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: `Return OK ${i}.` }] });
    expect(s.sandbox.stats(a!.accountId).requests).toBeGreaterThan(0);
  });

  it('DELETE removes the file and the pool entry and revokes the refresh token; unknown ids are 404s', async () => {
    const store = fileStore();
    const s = await withKey({ store });
    const [a] = s.accounts;
    const stored = (await store.load(a!.accountId))!;
    const del = await mgmt(`${s.url}/v0/management/accounts/${accountLabel(a!.accountId)}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ removed: { id: accountLabel(a!.accountId), accountId: a!.accountId, email: 'u***@example.com' }, revoked: true });
    expect(await store.load(a!.accountId)).toBeNull();
    expect(s.runtime.pool.snapshot().map((x) => x.accountId)).toEqual([s.accounts[1]!.accountId]);
    const refresh = await postForm(`${s.sandbox.issuer}/oauth/token`, { grant_type: 'refresh_token', refresh_token: stored.credential.refreshToken, client_id: CLIENT_ID });
    expect(refresh.status).toBe(401);

    for (const [method, p] of [['DELETE', ''], ['POST', '/disable'], ['POST', '/enable']] as const) {
      const res = await mgmt(`${s.url}/v0/management/accounts/${accountLabel(a!.accountId)}${p}`, { method });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('account_not_found');
    }
  });
});

describe('readiness', () => {
  it('/readyz is 200 while an account is usable, 503 with the reason when none is; /healthz stays 200', async () => {
    const s = await withKey({ accounts: 1 });
    expect(await (await fetch(`${s.url}/readyz`)).json()).toEqual({ status: 'ready', store: 'ok', accounts: { total: 1, usable: 1 } });
    await mgmt(`${s.url}/v0/management/accounts/${s.accounts[0]!.accountId}/disable`, { method: 'POST' });
    const res = await fetch(`${s.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: 'not_ready',
      reason: expect.stringMatching(/^No usable Codex account: of 1, 1 is disabled\./),
      store: 'ok',
      accounts: { total: 1, usable: 0 },
    });
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });
});
