import { spawn } from 'node:child_process';
import { codexCliVersion } from '../../src/app/version.js';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { AccountPool } from '../../src/accounts/pool.js';
import { credentialFromTokens } from '../../src/auth/credential-from-tokens.js';
import { TokenClient } from '../../src/auth/token-client.js';
import { RateLimitError } from '../../src/errors.js';
import { startSandbox, CODEX_CLIENT_ID, type MintedAccount, type Sandbox } from '../../src/sandbox/index.js';
import { CodexClient } from '../../src/upstream/codex-client.js';
import { UpstreamFailure } from '../../src/upstream/types.js';
import { systemClock } from '../../src/util/clock.js';
import { captureLogger, testConfig, until } from './pool-helpers.js';

/**
 * The pool against the real sandbox issuer + backend, the real token client, the file store
 * and the Codex HTTP client. "A request" is one /responses call drained to its end.
 */

let sandbox: Sandbox;
let dir: string;
let store: FileAccountStore;
let codex: CodexClient;
const pools: AccountPool[] = [];

beforeEach(async () => {
  sandbox = await startSandbox({ quiet: true });
  dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-pool-'));
  store = new FileAccountStore({ dir, watchDebounceMs: 50, watchPollMs: 250 });
  codex = new CodexClient({ baseUrl: sandbox.baseUrl, originator: 'codex_cli_rs', version: codexCliVersion() });
});

afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop();
  await codex.close();
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

async function addAccount(email: string, edit: (c: ReturnType<typeof credentialFromTokens>) => ReturnType<typeof credentialFromTokens> = (c) => c, into = store): Promise<MintedAccount> {
  const m = sandbox.mintAccount({ email });
  const cred = credentialFromTokens({ idToken: m.idToken, accessToken: m.accessToken, refreshToken: m.refreshToken, tokenType: 'Bearer', expiresIn: m.expiresIn }, 'import', Date.now());
  await into.save(edit(cred));
  return m;
}

async function startPool(config = testConfig()): Promise<{ pool: AccountPool; log: ReturnType<typeof captureLogger> }> {
  const log = captureLogger();
  const pool = new AccountPool({ store, tokens: new TokenClient({ issuer: sandbox.issuer, clientId: CODEX_CLIENT_ID }), clock: systemClock, config, log });
  pools.push(pool);
  await pool.start();
  return { pool, log };
}

function body(text: string): Record<string, unknown> {
  return { model: 'gpt-5', instructions: 'You are a test.', input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text }] }], store: false, stream: true };
}

/** One request through the pool: the whole stream is read; returns the reply text and the account used. */
async function request(pool: AccountPool, text = 'Return OK.', affinityKey?: string): Promise<{ text: string; accountId: string }> {
  const attempt = await pool.open({ affinityKey }, async ({ account }) => {
    const s = await codex.responses(account.auth, body(text));
    let out = '';
    let usage: { input_tokens?: number; output_tokens?: number } | undefined;
    for await (const e of s.events()) {
      if (e.type === 'response.output_text.delta') out += String(e.delta);
      if (e.type === 'response.completed') usage = (e.response as { usage?: typeof usage }).usage;
    }
    return { text: out, accountId: account.accountId, usage: s.usage, tokens: usage };
  });
  const { text: reply, accountId, usage, tokens } = attempt.upstream;
  attempt.finish({ usage, inputTokens: tokens?.input_tokens, outputTokens: tokens?.output_tokens });
  return { text: reply, accountId };
}

async function sequential(pool: AccountPool, n: number): Promise<Array<{ text: string; accountId: string }>> {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await request(pool));
  return out;
}

describe('pool × sandbox', () => {
  it('spreads 30 requests over 3 accounts 10/10/10 (round-robin)', async () => {
    const accounts = [await addAccount('a@example.com'), await addAccount('b@example.com'), await addAccount('c@example.com')];
    const { pool, log } = await startPool();
    expect(log.lines.some((l) => l.msg === 'Loaded 3 Codex accounts')).toBe(true);
    const replies = await sequential(pool, 30);
    expect(replies.every((r) => r.text === 'OK')).toBe(true);
    for (const a of accounts) expect(sandbox.stats(a.accountId).requests).toBe(10);
    const snap = pool.snapshot();
    expect(snap.map((s) => s.successes)).toEqual([10, 10, 10]);
    expect(snap.every((s) => s.inputTokens > 0 && s.outputTokens > 0 && s.usage?.primary?.usedPercent !== undefined)).toBe(true);
    expect(JSON.stringify(snap)).not.toContain(accounts[0]!.refreshToken);
  });

  it('one account exhausted mid-run: zero errors, the others carry the load', async () => {
    const [a, b, c] = [await addAccount('a@example.com'), await addAccount('b@example.com'), await addAccount('c@example.com')];
    sandbox.setQuota(a.accountId, { limit: 3, resetsInSeconds: 900 });
    const { pool } = await startPool();
    const replies = await sequential(pool, 30);
    expect(replies.every((r) => r.text === 'OK')).toBe(true);
    const served = (id: string) => replies.filter((r) => r.accountId === id).length;
    expect(served(a.accountId)).toBe(3);
    expect(served(b.accountId) + served(c.accountId)).toBe(27);
    expect(sandbox.stats(a.accountId).rateLimited).toBe(1);
    const aState = pool.snapshot().find((s) => s.accountId === a.accountId)!;
    expect(aState).toMatchObject({ state: 'cooling', cooldownReason: 'usage_limit' });
    expect(aState.cooldownUntil! - Date.now()).toBeGreaterThan(800_000);
  });

  it('every account exhausted → 429 all_accounts_rate_limited with the soonest reset as Retry-After', async () => {
    const accounts = [await addAccount('a@example.com'), await addAccount('b@example.com'), await addAccount('c@example.com')];
    sandbox.setQuota(accounts[0]!.accountId, { limit: 0, resetsInSeconds: 300 });
    sandbox.setQuota(accounts[1]!.accountId, { limit: 0, resetsInSeconds: 120 });
    sandbox.setQuota(accounts[2]!.accountId, { limit: 0, resetsInSeconds: 600 });
    const { pool } = await startPool();
    const err = await request(pool).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    const rl = err as RateLimitError;
    expect(rl.status).toBe(429);
    expect(rl.code).toBe('all_accounts_rate_limited');
    expect(rl.retryAfterSeconds).toBeGreaterThanOrEqual(118);
    expect(rl.retryAfterSeconds).toBeLessThanOrEqual(121);
    expect(sandbox.stats().rateLimited).toBe(3);
    // later requests are answered without touching the backend
    await expect(request(pool)).rejects.toBeInstanceOf(RateLimitError);
    expect(sandbox.stats().requests).toBe(3);
  });

  it('50 concurrent requests while every access token is expired → one refresh per account, no reuse', async () => {
    const accounts = [];
    for (const e of ['a', 'b', 'c']) accounts.push(await addAccount(`${e}@example.com`, (c) => ({ ...c, expiresAt: Date.now() - 60_000 })));
    sandbox.expireAccessTokens();
    const { pool } = await startPool();
    const replies = await Promise.all(Array.from({ length: 50 }, () => request(pool)));
    expect(replies.every((r) => r.text === 'OK')).toBe(true);
    for (const a of accounts) expect(sandbox.stats(a.accountId).refreshes).toBe(1);
    expect(sandbox.stats().refreshReuses).toBe(0);
    const files = await store.list();
    for (const s of files.accounts) expect(s.credential.expiresAt).toBeGreaterThan(Date.now());
  });

  it('50 concurrent requests hitting 401 with tokens the pool thought valid → one refresh per account', async () => {
    const accounts = [await addAccount('a@example.com'), await addAccount('b@example.com')];
    const { pool } = await startPool();
    sandbox.expireAccessTokens();
    const replies = await Promise.all(Array.from({ length: 50 }, () => request(pool)));
    expect(replies.every((r) => r.text === 'OK')).toBe(true);
    for (const a of accounts) expect(sandbox.stats(a.accountId).refreshes).toBe(1);
    expect(sandbox.stats().refreshReuses).toBe(0);
  });

  it('two processes on one auth dir refreshing at the same moment never double-refresh', async () => {
    const accounts = [await addAccount('a@example.com'), await addAccount('b@example.com')];
    const { pool } = await startPool();
    const fixture = path.join(import.meta.dirname, 'fixtures', 'refresh-race.ts');
    const child = spawn('npx', ['tsx', fixture, dir, sandbox.issuer, CODEX_CLIENT_ID], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout });
    const it = lines[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value, stderr).toBe('ready');
    child.stdin.write('go\n');
    const mine = await Promise.all(accounts.map((a) => pool.refreshAccount(a.accountId)));
    const theirs = JSON.parse(String((await it.next()).value)) as { results: boolean[] };
    await new Promise((r) => child.once('close', r));
    expect(mine).toEqual([true, true]);
    expect(theirs.results).toEqual([true, true]);
    for (const a of accounts) expect(sandbox.stats(a.accountId).refreshes).toBe(1);
    expect(sandbox.stats().refreshReuses).toBe(0);
    // both processes now use the rotated tokens that are on disk
    const replies = await sequential(pool, 4);
    expect(replies.every((r) => r.text === 'OK')).toBe(true);
    for (const s of pool.snapshot()) expect(s.state).toBe('ready');
  }, 60_000);

  it('a file added while serving takes traffic within 2 s; a removed one stops', async () => {
    const a = await addAccount('a@example.com');
    const b = await addAccount('b@example.com');
    const { pool } = await startPool();
    await sequential(pool, 2);
    const other = new FileAccountStore({ dir });
    const c = await addAccount('c@example.com', (x) => x, other);
    await until(() => pool.size().total === 3, 2000);
    await sequential(pool, 6);
    expect(sandbox.stats(c.accountId).requests).toBe(2);

    const aFile = pool.snapshot().find((s) => s.accountId === a.accountId)!.location;
    unlinkSync(aFile);
    await until(() => pool.size().total === 2, 2000);
    const before = sandbox.stats(a.accountId).requests;
    const replies = await sequential(pool, 4);
    expect(replies.map((r) => r.accountId).sort()).toEqual([b.accountId, b.accountId, c.accountId, c.accountId].sort());
    expect(sandbox.stats(a.accountId).requests).toBe(before);
  });

  it('a file marked disabled stops taking traffic', async () => {
    const a = await addAccount('a@example.com');
    const b = await addAccount('b@example.com');
    const { pool } = await startPool();
    const stored = (await store.load(a.accountId))!;
    await new FileAccountStore({ dir }).save({ ...stored.credential, disabled: true });
    await until(() => pool.size().usable === 1, 2000);
    const replies = await sequential(pool, 3);
    expect(replies.every((r) => r.accountId === b.accountId)).toBe(true);
  });

  it('a revoked refresh token → needs-login (persisted, shown with the reason), traffic moves on', async () => {
    const a = await addAccount('a@example.com');
    const b = await addAccount('b@example.com');
    const { pool, log } = await startPool();
    sandbox.revokeRefreshTokens(a.accountId);
    sandbox.expireAccessTokens(a.accountId);
    const replies = await sequential(pool, 4);
    expect(replies.every((r) => r.text === 'OK')).toBe(true);
    expect(replies.filter((r) => r.accountId === a.accountId)).toEqual([]);
    const snapA = pool.snapshot().find((s) => s.accountId === a.accountId)!;
    expect(snapA.state).toBe('needs-login');
    expect(snapA.needsLogin?.reason).toBe('refresh_token_invalidated');
    expect((await store.load(a.accountId))!.credential.needsLogin?.reason).toBe('refresh_token_invalidated');
    expect(sandbox.stats(a.accountId).refreshes + sandbox.stats(a.accountId).refreshReuses).toBeLessThanOrEqual(1);
    expect(log.text()).not.toContain(a.refreshToken);
    expect(sandbox.stats(b.accountId).requests).toBe(4);
  });

  it('a bad request is not retried on other accounts', async () => {
    await addAccount('a@example.com');
    await addAccount('b@example.com');
    const { pool } = await startPool();
    const err = await pool
      .withAccount({}, async ({ account }) => codex.responses(account.auth, { ...body('hi'), model: 'gpt-unknown' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect((err as UpstreamFailure).kind).toBe('bad_request');
    expect(sandbox.stats().requests).toBe(1);
  });
});
