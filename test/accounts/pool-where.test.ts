import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamFailure } from '../../src/upstream/types.js';
import { poolWith, type PoolFixture } from './pool-setup.js';

let fx: PoolFixture | undefined;
afterEach(async () => {
  await fx?.pool.stop();
  fx = undefined;
});

const PLANS: Record<string, string> = { a: 'free', b: 'pro', c: 'free', d: 'team' };

function planPool(ids: string[], opts: { disabled?: string[]; requestRetry?: number } = {}): Promise<PoolFixture> {
  return poolWith(ids, {
    config: { requestRetry: opts.requestRetry },
    edit: (c) => ({ ...c, planType: PLANS[c.accountId] ?? 'plus', disabled: opts.disabled?.includes(c.accountId) ?? false }),
  });
}

const onPlan = (plan: string) => (a: { planType: string }) => a.planType === plan;

describe('AccountPool.plans', () => {
  it('lists the distinct plans of usable accounts in pool order', async () => {
    fx = await planPool(['a', 'b', 'c', 'd'], { disabled: ['d'] });
    expect(fx.pool.plans()).toEqual(['free', 'pro']);
  });

  it('keeps the plan of a cooling account (it can come back) and is empty without accounts', async () => {
    fx = await planPool(['b']);
    await expect(
      fx.pool.withAccount({}, async () => {
        throw new UpstreamFailure('usage_limit', 'limit', { status: 429, resetAt: fx!.clock.now() + 60_000 });
      }),
    ).rejects.toMatchObject({ status: 429 });
    expect(fx.pool.plans()).toEqual(['pro']);
    await fx.pool.stop();
    fx = await poolWith([]);
    expect(fx.pool.plans()).toEqual([]);
  });
});

describe('AccountPool.withAccount({ where })', () => {
  it('hands out only accounts the filter accepts, rotating among them', async () => {
    fx = await planPool(['a', 'b', 'c']);
    const served: string[] = [];
    for (let i = 0; i < 4; i++) served.push(await fx.pool.withAccount({ where: onPlan('free') }, async ({ account }) => account.accountId));
    expect(served).toEqual(['a', 'c', 'a', 'c']);
    expect(await fx.pool.withAccount({ where: onPlan('pro') }, async ({ account }) => account.planType)).toBe('pro');
  });

  it('retries a failure on the next matching account only, cooling the failed one down', async () => {
    fx = await planPool(['a', 'b', 'c']);
    const tried: string[] = [];
    const result = await fx.pool.withAccount({ where: onPlan('free') }, async ({ account }) => {
      tried.push(account.accountId);
      if (account.accountId === 'a') throw new UpstreamFailure('server', 'boom', { status: 500 });
      return account.accountId;
    });
    expect(result).toBe('c');
    expect(tried).toEqual(['a', 'c']);
    expect(fx.pool.snapshot().find((s) => s.accountId === 'a')).toMatchObject({ state: 'cooling', failures: 1 });
  });

  it('answers 429 when every matching account cools down, even with other accounts ready', async () => {
    fx = await planPool(['a', 'b']);
    const resetAt = fx.clock.now() + 120_000;
    const limit = async (): Promise<never> => {
      throw new UpstreamFailure('usage_limit', 'limit', { status: 429, resetAt });
    };
    await expect(fx.pool.withAccount({ where: onPlan('pro') }, limit)).rejects.toMatchObject({ status: 429, code: 'all_accounts_rate_limited', retryAfterSeconds: 120 });
    await expect(fx.pool.withAccount({ where: onPlan('pro') }, async () => 'never')).rejects.toMatchObject({
      status: 429,
      message: expect.stringContaining('The only usable Codex account is'),
    });
    expect(await fx.pool.withAccount({}, async ({ account }) => account.accountId)).toBe('a');
  });

  it('answers 503 when no loaded account fits, or none that fits is usable', async () => {
    fx = await planPool(['a', 'd'], { disabled: ['d'] });
    await expect(fx.pool.withAccount({ where: onPlan('enterprise') }, async () => 'x')).rejects.toMatchObject({
      status: 503,
      message: 'None of the 2 loaded Codex accounts fits this request.',
    });
    await expect(fx.pool.withAccount({ where: onPlan('team') }, async () => 'x')).rejects.toMatchObject({
      status: 503,
      message: expect.stringContaining('of 1, 1 is disabled'),
    });
  });
});
