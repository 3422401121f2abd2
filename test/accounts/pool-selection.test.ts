import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamFailure, type UsageSnapshot } from '../../src/upstream/types.js';
import { poolWith, servedBy, tally, type PoolFixture } from './pool-setup.js';

let fx: PoolFixture | undefined;
afterEach(async () => {
  await fx?.pool.stop();
  fx = undefined;
});

async function serve(n: number, key?: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await servedBy(fx!.pool, key));
  return out;
}

describe('round-robin (default)', () => {
  it('spreads 30 requests over 3 accounts 10/10/10, in turn', async () => {
    fx = await poolWith(['a', 'b', 'c']);
    const served = await serve(30);
    expect(tally(served)).toEqual({ a: 10, b: 10, c: 10 });
    expect(served.slice(0, 6)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    expect(fx.pool.snapshot().map((s) => [s.accountId, s.requests, s.successes])).toEqual([
      ['a', 10, 10],
      ['b', 10, 10],
      ['c', 10, 10],
    ]);
  });

  it('skips a cooling account and comes back to it after its reset', async () => {
    fx = await poolWith(['a', 'b', 'c']);
    const resetAt = fx.clock.now() + 60_000;
    await fx.pool.withAccount({}, async ({ account }) => {
      if (account.accountId === 'a') throw new UpstreamFailure('usage_limit', 'limit', { status: 429, resetAt });
      return account.accountId;
    });
    expect(tally(await serve(4))).toEqual({ b: 2, c: 2 });
    await fx.clock.advance(60_000);
    expect(tally(await serve(3))).toEqual({ a: 1, b: 1, c: 1 });
  });
});

describe('fill-first', () => {
  it('uses the first account until it is limited, then the next, then returns after the reset', async () => {
    fx = await poolWith(['a', 'b', 'c'], { config: { routing: { strategy: 'fill-first' } } });
    expect(tally(await serve(5))).toEqual({ a: 5 });
    const resetAt = fx.clock.now() + 30_000;
    const served = await fx.pool.withAccount({}, async ({ account }) => {
      if (account.accountId === 'a') throw new UpstreamFailure('usage_limit', 'limit', { status: 429, resetAt });
      return account.accountId;
    });
    expect(served).toBe('b');
    expect(tally(await serve(3))).toEqual({ b: 3 });
    await fx.clock.advance(30_000);
    expect(tally(await serve(2))).toEqual({ a: 2 });
  });
});

/** One request on account `id` that finished with these usage headers. */
async function reportUsage(id: string, usage: UsageSnapshot): Promise<void> {
  const attempt = await fx!.pool.open({ where: (a) => a.accountId === id }, async () => undefined);
  attempt.finish({ usage });
}

describe('least-used', () => {
  it('prefers the account with the most headroom from the used-percent headers', async () => {
    fx = await poolWith(['a', 'b', 'c'], { config: { routing: { strategy: 'least-used' } } });
    const resetAt = fx.clock.now() + 3600_000;
    await reportUsage('a', { primary: { usedPercent: 80, resetAt }, secondary: { usedPercent: 10 } });
    await reportUsage('b', { primary: { usedPercent: 20, resetAt }, secondary: { usedPercent: 30 } });
    await reportUsage('c', { primary: { usedPercent: 50, resetAt } });
    expect(await serve(2)).toEqual(['b', 'b']);
    // b's weekly window fills up: c has the most headroom now
    await reportUsage('b', { secondary: { usedPercent: 95 } });
    expect(await servedBy(fx.pool)).toBe('c');
    // a's primary window resets: it counts as empty again
    await fx.clock.advance(3600_000);
    await reportUsage('c', { primary: { usedPercent: 50 } });
    expect(await servedBy(fx.pool)).toBe('a');
  });

  it('concurrent requests see each other picks', async () => {
    fx = await poolWith(['a', 'b', 'c'], { config: { routing: { strategy: 'least-used' } } });
    const served = await Promise.all(Array.from({ length: 30 }, () => servedBy(fx!.pool)));
    expect(tally(served)).toEqual({ a: 10, b: 10, c: 10 });
  });

  it('without usage data, spreads by request count', async () => {
    fx = await poolWith(['a', 'b', 'c'], { config: { routing: { strategy: 'least-used' } } });
    expect(tally(await serve(9))).toEqual({ a: 3, b: 3, c: 3 });
  });
});

describe('session affinity', () => {
  it('keeps one key on one account while other traffic rotates', async () => {
    fx = await poolWith(['a', 'b', 'c']);
    const first = await servedBy(fx.pool, 'session-1');
    const mixed: string[] = [];
    for (let i = 0; i < 6; i++) {
      mixed.push(await servedBy(fx.pool, 'session-1'));
      await servedBy(fx.pool);
    }
    expect(new Set(mixed)).toEqual(new Set([first]));
    const other = await servedBy(fx.pool, 'session-2');
    expect(await servedBy(fx.pool, 'session-2')).toBe(other);
  });

  it('re-binds when the bound account is cooling, and the binding expires after the TTL', async () => {
    fx = await poolWith(['a', 'b', 'c'], { config: { routing: { sessionAffinityTtlSeconds: 600 } } });
    expect(await servedBy(fx.pool, 'k')).toBe('a');
    const resetAt = fx.clock.now() + 10_000;
    const rebound = await fx.pool.withAccount({ affinityKey: 'k' }, async ({ account }) => {
      if (account.accountId === 'a') throw new UpstreamFailure('usage_limit', 'limit', { status: 429, resetAt });
      return account.accountId;
    });
    expect(rebound).toBe('b');
    await fx.clock.advance(10_000); // a is healthy again, but the key stays on b
    expect(await servedBy(fx.pool, 'k')).toBe('b');
    await fx.clock.advance(600_000); // binding expired: the key follows the rotation again
    const next = await servedBy(fx.pool, 'k');
    expect(next).toBe('c');
    expect(await servedBy(fx.pool, 'k')).toBe('c');
  });

  it('is ignored when routing.session-affinity is off', async () => {
    fx = await poolWith(['a', 'b', 'c'], { config: { routing: { sessionAffinity: false } } });
    expect(await serve(3, 'k')).toEqual(['a', 'b', 'c']);
  });
});
