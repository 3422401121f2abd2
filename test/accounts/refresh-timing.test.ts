/**
 * Refresh timing is sane for any token lifetime: the lead is capped at half the lifetime, one
 * account's refreshes keep a floor interval between them, a token that arrives already about
 * to expire backs the refresh off instead of looping, and short-lived tokens are still served.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MIN_REFRESH_INTERVAL_MS } from '../../src/accounts/account-state.js';
import { AccountPool } from '../../src/accounts/pool.js';
import { MemoryAccountStore } from '../../src/accounts/memory-store.js';
import { ManualClock } from '../../src/util/clock.js';
import { captureLogger, FakeTokens, makeCredential, testConfig } from './pool-helpers.js';

const pools: AccountPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop();
});

async function poolWithLifetime(lifetimeMs: number, issuedLifetimeMs = lifetimeMs) {
  const clock = new ManualClock();
  const now = clock.now();
  const store = new MemoryAccountStore({ accounts: [makeCredential({ accountId: 'a', now, expiresAt: now + lifetimeMs, lastRefresh: now })] });
  const tokens = new FakeTokens(clock, issuedLifetimeMs);
  const log = captureLogger();
  const pool = new AccountPool({ store, tokens, clock, config: testConfig(), log, random: () => 0 });
  pools.push(pool);
  await pool.start();
  return { clock, store, tokens, log, pool };
}

/** Moves the manual clock `totalMs` forward in `stepMs` steps, letting refreshes settle between steps. */
async function idle(clock: ManualClock, totalMs: number, stepMs = 250): Promise<void> {
  for (let t = 0; t < totalMs; t += stepMs) {
    await clock.advance(stepMs);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  }
}

describe('refresh timing for short token lifetimes', () => {
  it('a 60 s token with lead-seconds 300 is refreshed about every 30 s, not in a loop', async () => {
    const { clock, tokens, pool } = await poolWithLifetime(60_000);
    await idle(clock, 120_000);
    // half the lifetime each time: at 30 s, 60 s, 90 s, 120 s
    expect(tokens.calls.length).toBeGreaterThanOrEqual(3);
    expect(tokens.calls.length).toBeLessThanOrEqual(4);
    expect(pool.snapshot()[0]!.state).toBe('ready');
  });

  it('tokens living 20 s (under the 30 s hand-out margin) are served, with few refreshes', async () => {
    const { clock, tokens, pool } = await poolWithLifetime(20_000);
    let served = 0;
    for (let i = 0; i < 12; i++) {
      await pool.withAccount({}, async () => {
        served++;
      });
      await idle(clock, 5_000, 500);
    }
    expect(served).toBe(12);
    // 60 s of 20 s tokens refreshed at half-life: about 6 refreshes, never one per request loop
    expect(tokens.calls.length).toBeGreaterThanOrEqual(4);
    expect(tokens.calls.length).toBeLessThanOrEqual(7);
  });

  it(`two refreshes of one account are at least ${MIN_REFRESH_INTERVAL_MS / 1000} s apart, even for 6 s tokens`, async () => {
    const { clock, tokens, store } = await poolWithLifetime(6_000);
    const times: number[] = [];
    const original = tokens.refresh.bind(tokens);
    tokens.refresh = (rt: string) => {
      times.push(clock.now());
      return original(rt);
    };
    await idle(clock, 60_000);
    expect(times.length).toBeGreaterThan(5);
    expect(times.length).toBeLessThanOrEqual(60_000 / MIN_REFRESH_INTERVAL_MS + 1);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(MIN_REFRESH_INTERVAL_MS);
    expect((await store.load('a'))!.credential.needsLogin).toBeUndefined();
  });

  it('an issuer that returns already-expiring tokens (skewed clock) gets an exponential backoff and a warning, not a loop', async () => {
    const { clock, tokens, log, pool } = await poolWithLifetime(60_000, 1_000);
    await idle(clock, 300_000, 1000);
    // first refresh at 30 s, then after 5 s, 10 s, 20 s, 40 s, 80 s, 160 s: a handful, not hundreds
    expect(tokens.calls.length).toBeGreaterThanOrEqual(5);
    expect(tokens.calls.length).toBeLessThanOrEqual(7);
    const warnings = log.lines.filter((l) => l.level === 'warn' && l.msg.includes('already about to expire'));
    expect(warnings.length).toBe(tokens.calls.length);
    expect(JSON.stringify(warnings[0]!.obj)).not.toContain('rt-a');
    expect(pool.snapshot()[0]!.needsLogin).toBeNull();
  });

  it('a normal token (1 h) is still refreshed lead-seconds before expiry', async () => {
    const { clock, tokens } = await poolWithLifetime(3600_000);
    await clock.advance(3600_000 - 300_000 - 1);
    expect(tokens.calls).toHaveLength(0);
    await clock.advance(1);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(tokens.calls).toHaveLength(1);
  });
});
