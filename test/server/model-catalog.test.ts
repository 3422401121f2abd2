import { describe, expect, it } from 'vitest';
import { ModelCatalog } from '../../src/server/model-catalog.js';
import type { AttemptInfo } from '../../src/accounts/pool.js';
import { ManualClock } from '../../src/util/clock.js';
import type { AccountRequest } from '../../src/accounts/pool.js';
import { ServiceUnavailableError } from '../../src/errors.js';

function setup(opts: { fail?: boolean; cacheSeconds?: number } = {}) {
  const clock = new ManualClock();
  let fetches = 0;
  let fail = opts.fail ?? false;
  const account = { accountId: 'acc-1', email: 'a@example.com', planType: 'plus', auth: { accessToken: 't', accountId: 'acc-1' } };
  const catalog = new ModelCatalog({
    pool: { plans: () => ['plus'], withAccount: <T>(_req: unknown, attempt: (a: AttemptInfo) => Promise<T>) => attempt({ attempt: 1, account }) },
    upstream: {
      models: async () => {
        fetches++;
        if (fail) throw new Error('no account usable');
        return [{ slug: 'gpt-5' }, { slug: 'gpt-5-codex' }];
      },
    },
    clock,
    cacheSeconds: opts.cacheSeconds ?? 300,
    aliases: { 'my-model': 'gpt-5-codex', 'dangling': 'gpt-404' },
  });
  return { catalog, clock, fetches: () => fetches, setFail: (f: boolean) => (fail = f) };
}

describe('ModelCatalog', () => {
  it('builds the OpenAI list once per fetch: requests within the cache get the same list', async () => {
    const t = setup();
    const first = await t.catalog.list();
    expect(await t.catalog.resolve('my-model')).toEqual({ model: 'gpt-5-codex' });
    expect(await t.catalog.list()).toBe(first);
    await t.clock.advance(300_000);
    const refetched = await t.catalog.list();
    expect(refetched).not.toBe(first);
    expect(refetched).toEqual(first.map((m) => ({ ...m, created: m.created + 300 })));
    // an alias whose target is not listed is still forwarded: the backend decides
    expect(await t.catalog.resolve('dangling')).toEqual({ model: 'gpt-404' });
  });

  it('caches the backend list for models-cache-seconds on the injected clock', async () => {
    const t = setup();
    await t.catalog.list();
    await t.catalog.list();
    expect(t.fetches()).toBe(1);
    await t.clock.advance(299_000);
    await t.catalog.list();
    expect(t.fetches()).toBe(1);
    await t.clock.advance(1_000);
    await t.catalog.list();
    expect(t.fetches()).toBe(2);
  });

  it('lists aliases whose target exists', async () => {
    const ids = (await setup().catalog.list()).map((m) => m.id);
    expect(ids).toEqual(['gpt-5', 'gpt-5-codex', 'my-model']);
  });

  it('resolves aliases and forwards models the list does not have (the list never refuses a name)', async () => {
    const { catalog } = setup();
    expect(await catalog.resolve('my-model')).toEqual({ model: 'gpt-5-codex' });
    expect(await catalog.resolve('gpt-5')).toEqual({ model: 'gpt-5' });
    expect(await catalog.resolve('gpt-9')).toEqual({ model: 'gpt-9' });
  });

  it.each([
    ['gpt-5-high', { model: 'gpt-5', effort: 'high' }],
    ['gpt-5(high)', { model: 'gpt-5', effort: 'high' }],
    ['gpt-5:high', { model: 'gpt-5', effort: 'high' }],
    ['gpt-5-codex-xhigh', { model: 'gpt-5-codex', effort: 'xhigh' }],
    ['gpt-5-codex(minimal)', { model: 'gpt-5-codex', effort: 'minimal' }],
    ['gpt-5:none', { model: 'gpt-5', effort: 'none' }],
    ['gpt-5-low', { model: 'gpt-5', effort: 'low' }],
    ['gpt-5-medium', { model: 'gpt-5', effort: 'medium' }],
    ['my-model-high', { model: 'gpt-5-codex', effort: 'high' }],
    ['brand-new(high)', { model: 'brand-new', effort: 'high' }],
    ['gpt-5-ultra', { model: 'gpt-5-ultra' }],
    ['gpt-5(turbo)', { model: 'gpt-5(turbo)' }],
  ])('effort suffix %s', async (name, expected) => {
    expect(await setup().catalog.resolve(name)).toEqual(expected);
  });

  it('a listed slug that looks like a suffix is the model itself', async () => {
    const clock = new ManualClock();
    const account = { accountId: 'acc-1', email: 'a@example.com', planType: 'plus', auth: { accessToken: 't', accountId: 'acc-1' } };
    const catalog = new ModelCatalog({
      pool: { plans: () => ['plus'], withAccount: <T>(_req: unknown, attempt: (a: AttemptInfo) => Promise<T>) => attempt({ attempt: 1, account }) },
      upstream: { models: async () => [{ slug: 'gpt-5' }, { slug: 'gpt-5-high' }] },
      clock,
      cacheSeconds: 300,
      aliases: {},
    });
    expect(await catalog.resolve('gpt-5-high')).toEqual({ model: 'gpt-5-high' });
    expect(await catalog.resolve('gpt-5(high)')).toEqual({ model: 'gpt-5', effort: 'high' });
  });

  it('lists <model>-<effort> only for the configured efforts', async () => {
    const clock = new ManualClock();
    const account = { accountId: 'acc-1', email: 'a@example.com', planType: 'plus', auth: { accessToken: 't', accountId: 'acc-1' } };
    const make = (effortSuffixes: string[]) =>
      new ModelCatalog({
        pool: { plans: () => ['plus'], withAccount: <T>(_req: unknown, attempt: (a: AttemptInfo) => Promise<T>) => attempt({ attempt: 1, account }) },
        upstream: { models: async () => [{ slug: 'gpt-5' }, { slug: 'gpt-5-codex' }] },
        clock,
        cacheSeconds: 300,
        aliases: {},
        effortSuffixes,
      });
    expect((await make([]).list()).map((m) => m.id)).toEqual(['gpt-5', 'gpt-5-codex']);
    expect((await make(['high', 'low']).list()).map((m) => m.id)).toEqual(['gpt-5', 'gpt-5-codex', 'gpt-5-high', 'gpt-5-codex-high', 'gpt-5-low', 'gpt-5-codex-low']);
  });

  it('warns when the backend lists no models, and still forwards names', async () => {
    const clock = new ManualClock();
    const warnings: string[] = [];
    const account = { accountId: 'acc-1', email: 'a@example.com', planType: 'plus', auth: { accessToken: 't', accountId: 'acc-1' } };
    const catalog = new ModelCatalog({
      pool: { plans: () => ['plus'], withAccount: <T>(_req: unknown, attempt: (a: AttemptInfo) => Promise<T>) => attempt({ attempt: 1, account }) },
      upstream: { models: async () => [] },
      clock,
      cacheSeconds: 300,
      aliases: {},
      clientVersion: '0.8.0',
      log: { debug: () => undefined, warn: (o, msg) => void warnings.push(`${JSON.stringify(o)} ${msg ?? ''}`) },
    });
    expect(await catalog.resolve('gpt-5-codex')).toEqual({ model: 'gpt-5-codex' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('codex.client-version');
    expect(warnings[0]).toContain('0.8.0');
  });

  it('keeps serving a stale list when a refresh fails, and lets names through when there is no list at all', async () => {
    const t = setup();
    await t.catalog.list();
    t.setFail(true);
    await t.clock.advance(301_000);
    expect((await t.catalog.list()).length).toBe(3);
    const empty = setup({ fail: true });
    expect(await empty.catalog.resolve('anything')).toEqual({ model: 'anything' });
  });
});

/** A pool with one account per plan; each plan's /models answers `lists[plan]` or throws when it is 'fail'. */
function multiPlan(lists: Record<string, string[] | 'fail'>) {
  const clock = new ManualClock();
  const fetched: string[] = [];
  const warnings: object[] = [];
  const plans = Object.keys(lists);
  const catalog = new ModelCatalog({
    pool: {
      plans: () => plans,
      withAccount: async <T>(req: AccountRequest, attempt: (a: AttemptInfo) => Promise<T>) => {
        const plan = plans.find((p) => req.where?.({ accountId: `acc-${p}`, email: `${p}@example.com`, planType: p }) ?? true);
        if (!plan) throw new ServiceUnavailableError('none fits');
        const account = { accountId: `acc-${plan}`, email: `${plan}@example.com`, planType: plan, auth: { accessToken: 'eyJhbGciOi.secret.sig', accountId: `acc-${plan}` } };
        return attempt({ attempt: 1, account });
      },
    },
    upstream: {
      models: async (auth) => {
        const plan = auth.accountId.slice(4);
        fetched.push(plan);
        const list = lists[plan];
        if (list === 'fail' || list === undefined) throw new Error(`upstream refused token ${auth.accessToken}`);
        return list.map((slug) => ({ slug }));
      },
    },
    clock,
    cacheSeconds: 300,
    aliases: {},
    log: { debug: () => undefined, warn: (o) => void warnings.push(o) },
  });
  return { catalog, clock, fetched, warnings, lists };
}

describe('ModelCatalog over several plans', () => {
  it('lists the union of the plans\' lists once each, in a stable order, fetching each plan once per window', async () => {
    const t = multiPlan({ free: ['gpt-5', 'gpt-5-codex-mini'], pro: ['gpt-5', 'gpt-5-codex'] });
    expect((await t.catalog.list()).map((m) => m.id)).toEqual(['gpt-5', 'gpt-5-codex-mini', 'gpt-5-codex']);
    expect((await t.catalog.backendModels()).map((m) => m.slug)).toEqual(['gpt-5', 'gpt-5-codex-mini', 'gpt-5-codex']);
    expect(await t.catalog.resolve('gpt-5-codex')).toEqual({ model: 'gpt-5-codex' });
    expect(await t.catalog.resolve('gpt-9')).toEqual({ model: 'gpt-9' });
    expect(t.fetched.sort()).toEqual(['free', 'pro']);
    await t.clock.advance(300_000);
    await t.catalog.list();
    expect(t.fetched.sort()).toEqual(['free', 'free', 'pro', 'pro']);
  });

  it('a failing plan does not fail the list (logged without secrets); it keeps its last list once it had one', async () => {
    const t = multiPlan({ free: ['gpt-5', 'gpt-5-codex-mini'], pro: 'fail' });
    expect((await t.catalog.list()).map((m) => m.id)).toEqual(['gpt-5', 'gpt-5-codex-mini']);
    expect(t.warnings).toEqual([{ plan: 'pro', err: 'upstream refused token [redacted-jwt]', keptPrevious: false }]);

    t.lists.pro = ['gpt-5-codex'];
    await t.clock.advance(300_000);
    expect((await t.catalog.list()).map((m) => m.id)).toEqual(['gpt-5', 'gpt-5-codex-mini', 'gpt-5-codex']);
    t.lists.pro = 'fail';
    await t.clock.advance(300_000);
    expect((await t.catalog.list()).map((m) => m.id)).toEqual(['gpt-5', 'gpt-5-codex-mini', 'gpt-5-codex']);
    expect(t.warnings.at(-1)).toMatchObject({ plan: 'pro', keptPrevious: true });
  });

  it('fails like before when every plan fails, and the pool explains an empty pool', async () => {
    const t = multiPlan({ free: 'fail', pro: 'fail' });
    await expect(t.catalog.list()).rejects.toThrow(/upstream refused/);
    const none = multiPlan({});
    await expect(none.catalog.list()).rejects.toBeInstanceOf(ServiceUnavailableError);
  });
});
