import { afterEach, describe, expect, it } from 'vitest';
import { AccountPool } from '../../src/accounts/pool.js';
import { MAX_REFRESH_AGE_MS } from '../../src/accounts/account-state.js';
import { readClaims } from '../../src/auth/id-token-claims.js';
import type { Credential } from '../../src/accounts/credential.js';
import { UpstreamFailure } from '../../src/upstream/types.js';
import { MemoryAccountStore } from '../../src/accounts/memory-store.js';
import { ManualClock } from '../../src/util/clock.js';
import { FakeTokens, makeCredential, testConfig } from './pool-helpers.js';
import { poolWith, servedBy, tally, type PoolFixture } from './pool-setup.js';

let fx: PoolFixture | undefined;
const extraPools: AccountPool[] = [];
afterEach(async () => {
  await fx?.pool.stop();
  fx = undefined;
  for (const p of extraPools.splice(0)) await p.stop();
});

const expired = (c: Credential): Credential => ({ ...c, expiresAt: c.lastRefresh! - 1000 });

describe('single-flight refresh', () => {
  it('50 concurrent requests on expired tokens → exactly one refresh per account, all served with new tokens', async () => {
    fx = await poolWith(['a', 'b', 'c'], { edit: expired });
    fx.tokens.hold();
    const before = new Map((await fx.store.list()).accounts.map((s) => [s.credential.accountId, s.credential.accessToken]));
    const requests = Array.from({ length: 50 }, () =>
      fx!.pool.withAccount({}, async ({ account }) => {
        expect(account.auth.accessToken).not.toBe(before.get(account.accountId));
        return account.accountId;
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(fx.pool.snapshot().map((s) => s.state)).toEqual(['refreshing', 'refreshing', 'refreshing']);
    fx.tokens.release();
    const served = await Promise.all(requests);
    expect(served).toHaveLength(50);
    expect(fx.tokens.calls.sort()).toEqual(['rt-a-0', 'rt-b-0', 'rt-c-0']);
    const counts = tally(served);
    expect(counts.a! + counts.b! + counts.c!).toBe(50);
    for (const s of (await fx.store.list()).accounts) {
      expect(s.credential.expiresAt).toBeGreaterThan(fx.clock.now());
      expect(s.credential.refreshToken).not.toMatch(/-0$/);
    }
  });

  it('concurrent callers share one in-process flight even when the store lock does not serialize', async () => {
    class NoLockStore extends MemoryAccountStore {
      lockCalls = 0;
      override async withRefreshLock<T>(_id: string, fn: () => Promise<T>): Promise<T> {
        this.lockCalls++;
        return fn();
      }
    }
    const clock = new ManualClock();
    const store = new NoLockStore({ accounts: [expired(makeCredential({ accountId: 'a', now: clock.now() }))] });
    const tokens = new FakeTokens(clock);
    const pool = new AccountPool({ store, tokens, clock, config: testConfig(), random: () => 0 });
    extraPools.push(pool);
    await pool.start();
    tokens.hold();
    const requests = Array.from({ length: 50 }, () => pool.withAccount({}, async ({ account }) => account.auth.accessToken));
    await new Promise((r) => setImmediate(r));
    tokens.release();
    const used = await Promise.all(requests);
    expect(tokens.calls).toEqual(['rt-a-0']);
    expect(store.lockCalls).toBe(1);
    expect(new Set(used).size).toBe(1);
  });

  it('two pools on one store never refresh the same account twice (the lock + re-read)', async () => {
    fx = await poolWith(['a']);
    const second = new AccountPool({ store: fx.store, tokens: fx.tokens, clock: fx.clock, config: testConfig(), random: () => 0 });
    extraPools.push(second);
    await second.start();
    fx.tokens.hold();
    const both = Promise.all([fx.pool.refreshAccount('a'), second.refreshAccount('a')]);
    await new Promise((r) => setImmediate(r));
    fx.tokens.release();
    expect(await both).toEqual([true, true]);
    expect(fx.tokens.calls).toEqual(['rt-a-0']);
    const stored = (await fx.store.load('a'))!.credential.accessToken;
    expect(await fx.pool.withAccount({}, async ({ account }) => account.auth.accessToken)).toBe(stored);
    expect(await second.withAccount({}, async ({ account }) => account.auth.accessToken)).toBe(stored);
  });
});

describe('refresh failures', () => {
  it('a permanent failure marks the account needs-login, persists it, and skips it from then on', async () => {
    fx = await poolWith(['a', 'b'], { edit: (c) => (c.accountId === 'a' ? expired(c) : c) });
    fx.tokens.willFail({ permanent: 'refresh_token_invalidated' });
    expect(await servedBy(fx.pool)).toBe('b');
    const stored = (await fx.store.load('a'))!.credential;
    expect(stored.needsLogin).toEqual({ reason: 'refresh_token_invalidated', at: fx.clock.now() });
    expect(fx.pool.snapshot()[0]).toMatchObject({ state: 'needs-login', needsLogin: { reason: 'refresh_token_invalidated' } });
    expect(tally([await servedBy(fx.pool), await servedBy(fx.pool), await servedBy(fx.pool)])).toEqual({ b: 3 });
    await fx.clock.advance(24 * 3600_000);
    expect(fx.tokens.calls.filter((t) => t.startsWith('rt-a'))).toEqual(['rt-a-0']);
    expect(fx.log.text()).toContain('refresh_token_invalidated');
    expect(fx.log.text()).not.toContain('rt-a-0');
  });

  it('a transient failure backs off (1 s, 2 s …) while the account cools down, then recovers', async () => {
    fx = await poolWith(['a', 'b'], { edit: (c) => (c.accountId === 'a' ? expired(c) : c) });
    fx.tokens.willFail({ transient: 503 }, { transient: 502 });
    expect(await servedBy(fx.pool)).toBe('b');
    expect(fx.pool.snapshot()[0]).toMatchObject({ state: 'cooling', cooldownReason: 'refresh_failed', cooldownUntil: fx.clock.now() + 1000 });
    await fx.clock.advance(999);
    expect(fx.tokens.calls).toHaveLength(1);
    await fx.clock.advance(1);
    expect(fx.tokens.calls).toHaveLength(2); // retried after 1 s, failed again
    expect(fx.pool.snapshot()[0]).toMatchObject({ state: 'cooling', cooldownUntil: fx.clock.now() + 2000 });
    await fx.clock.advance(2000);
    expect(fx.tokens.calls).toHaveLength(3);
    expect(fx.pool.snapshot()[0]!.state).toBe('ready');
    expect((await fx.store.load('a'))!.credential.needsLogin).toBeUndefined();
  });
});

describe('proactive refresh', () => {
  it('refreshes lead-seconds before expiry and reschedules from the new expiry', async () => {
    fx = await poolWith(['a']);
    const expiresAt = (await fx.store.load('a'))!.credential.expiresAt!;
    await fx.clock.advance(expiresAt - 300_000 - fx.clock.now() - 1);
    expect(fx.tokens.calls).toHaveLength(0);
    await fx.clock.advance(1);
    expect(fx.tokens.calls).toEqual(['rt-a-0']);
    const next = (await fx.store.load('a'))!.credential;
    expect(next.expiresAt).toBe(readClaims(next.accessToken).expiresAt);
    expect(next.lastRefresh).toBe(fx.clock.now());
    await fx.clock.advance(next.expiresAt! - 300_000 - fx.clock.now());
    expect(fx.tokens.calls).toHaveLength(2);
  });

  it('nothing is refreshed after stop()', async () => {
    fx = await poolWith(['a']);
    await fx.pool.stop();
    await fx.clock.advance(2 * 3600_000);
    expect(fx.tokens.calls).toEqual([]);
    expect(fx.clock.pendingTimers()).toBe(0);
  });

  it('applies jitter before the lead time', async () => {
    fx = await poolWith(['a'], { extra: { random: () => 0.5 } });
    const expiresAt = (await fx.store.load('a'))!.credential.expiresAt!;
    await fx.clock.advance(expiresAt - 300_000 - 30_000 - fx.clock.now());
    expect(fx.tokens.calls).toHaveLength(1);
  });

  it('refreshes when the last refresh is 8 days old even without a known expiry', async () => {
    fx = await poolWith(['a'], { edit: (c) => ({ ...c, expiresAt: null, lastRefresh: c.lastRefresh! - MAX_REFRESH_AGE_MS + 10_000 }) });
    await fx.clock.advance(9_999);
    expect(fx.tokens.calls).toHaveLength(0);
    await fx.clock.advance(1);
    expect(fx.tokens.calls).toHaveLength(1);
  });
});

describe('state, logs and snapshot', () => {
  it('logs the number of loaded accounts and each problem entry, never a secret', async () => {
    fx = await poolWith(['a', 'b']);
    expect(fx.log.lines.some((l) => l.msg === 'Loaded 2 Codex accounts')).toBe(true);
    fx.store.setProblems([{ location: '/auth/codex-bad.json', reason: 'invalid JSON at line 1' }]);
    await fx.pool.reload();
    expect(fx.log.lines.some((l) => l.level === 'error' && l.msg.includes('codex-bad.json') && l.msg.includes('invalid JSON'))).toBe(true);
  });

  it('snapshot carries counters, usage and location but no tokens', async () => {
    fx = await poolWith(['a']);
    const attempt = await fx.pool.open({}, async () => 1);
    attempt.finish({ inputTokens: 12, outputTokens: 5, usage: { primary: { usedPercent: 42 } } });
    const [s] = fx.pool.snapshot();
    expect(s).toMatchObject({
      accountId: 'a',
      email: 'a@example.com',
      planType: 'plus',
      location: 'test-store:a',
      state: 'ready',
      requests: 1,
      successes: 1,
      failures: 0,
      inputTokens: 12,
      outputTokens: 5,
      lastUsed: fx.clock.now(),
      usage: { primary: { usedPercent: 42 } },
    });
    const c = (await fx.store.load('a'))!.credential;
    const json = JSON.stringify(fx.pool.snapshot());
    for (const secret of [c.accessToken, c.refreshToken, c.idToken]) expect(json).not.toContain(secret);
  });

  it('a failure after commit (attempt.fail) counts once and cools the account down', async () => {
    fx = await poolWith(['a', 'b']);
    const attempt = await fx.pool.open({}, async () => 1);
    attempt.commit();
    attempt.fail(new UpstreamFailure('usage_limit', 'limit', { resetAt: fx.clock.now() + 60_000 }));
    expect(fx.pool.snapshot()[0]).toMatchObject({ requests: 1, successes: 0, failures: 1, state: 'cooling', cooldownReason: 'usage_limit' });
    expect(await servedBy(fx.pool)).toBe('b');
  });
});
