import { afterEach, describe, expect, it } from 'vitest';
import { accessTokenFor, makeCredential, until } from './pool-helpers.js';
import { poolWith, servedBy, tally, type PoolFixture } from './pool-setup.js';

let fx: PoolFixture | undefined;
afterEach(async () => {
  await fx?.pool.stop();
  fx = undefined;
});

async function serve(n: number): Promise<Record<string, number>> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await servedBy(fx!.pool));
  return tally(out);
}

describe('following the store', () => {
  it('an added account takes traffic, a removed one stops', async () => {
    fx = await poolWith(['a', 'b']);
    await fx.store.save(makeCredential({ accountId: 'c', now: fx.clock.now() }));
    await until(() => fx!.pool.size().total === 3);
    expect(await serve(3)).toEqual({ a: 1, b: 1, c: 1 });
    expect(fx.log.lines.some((l) => l.msg === 'Codex account added')).toBe(true);

    await fx.store.remove('a');
    await until(() => fx!.pool.size().total === 2);
    expect(await serve(4)).toEqual({ b: 2, c: 2 });
    expect(fx.pool.snapshot().map((s) => s.accountId)).toEqual(['b', 'c']);
  });

  it('disabled: true in the store is respected, and undone', async () => {
    fx = await poolWith(['a', 'b']);
    const a = (await fx.store.load('a'))!.credential;
    await fx.store.save({ ...a, disabled: true });
    await until(() => fx!.pool.size().usable === 1);
    expect(fx.pool.snapshot()[0]!.state).toBe('disabled');
    expect(await serve(3)).toEqual({ b: 3 });
    await fx.store.save({ ...a, disabled: false });
    await until(() => fx!.pool.size().usable === 2);
    expect(await serve(2)).toEqual({ a: 1, b: 1 });
  });

  it('changed credentials replace ours unless ours are newer', async () => {
    fx = await poolWith(['a']);
    const now = fx.clock.now();
    const newer = makeCredential({ accountId: 'a', now, accessToken: accessTokenFor('a', now + 7200_000, 7), refreshToken: 'rt-a-7', lastRefresh: now + 10 });
    await fx.store.save(newer);
    await until(() => fx!.pool.snapshot()[0]!.lastRefresh === now + 10);
    expect(await fx.pool.withAccount({}, async ({ account }) => account.auth.accessToken)).toBe(newer.accessToken);

    const older = makeCredential({ accountId: 'a', now, accessToken: accessTokenFor('a', now + 3600_000, 8), refreshToken: 'rt-a-8', lastRefresh: now - 10 });
    await fx.store.save(older);
    await fx.pool.reload();
    expect(await fx.pool.withAccount({}, async ({ account }) => account.auth.accessToken)).toBe(newer.accessToken);
  });

  it('a needs-login account becomes usable again after a new login writes fresh tokens', async () => {
    fx = await poolWith(['a'], { edit: (c) => ({ ...c, needsLogin: { reason: 'refresh_token_reused', at: c.lastRefresh! } }) });
    await expect(servedBy(fx.pool)).rejects.toThrow(/cliproxy login/);
    const now = fx.clock.now();
    await fx.store.save(makeCredential({ accountId: 'a', now, accessToken: accessTokenFor('a', now + 3600_000, 3), refreshToken: 'rt-a-3', lastRefresh: now + 1 }));
    await until(() => fx!.pool.size().usable === 1);
    expect(await servedBy(fx.pool)).toBe('a');
  });

  it('stops following the store after stop()', async () => {
    fx = await poolWith(['a']);
    await fx.pool.stop();
    await fx.store.save(makeCredential({ accountId: 'b', now: fx.clock.now() }));
    await new Promise((r) => setTimeout(r, 20));
    expect(fx.pool.size().total).toBe(1);
  });
});
