import { describe, expect, it } from 'vitest';
import { ModelCatalog } from '../../src/server/model-catalog.js';
import type { AttemptInfo } from '../../src/accounts/pool.js';
import { ManualClock } from '../../src/util/clock.js';

function setup(opts: { fail?: boolean; cacheSeconds?: number } = {}) {
  const clock = new ManualClock();
  let fetches = 0;
  let fail = opts.fail ?? false;
  const account = { accountId: 'acc-1', email: 'a@example.com', planType: 'plus', auth: { accessToken: 't', accountId: 'acc-1' } };
  const catalog = new ModelCatalog({
    pool: { withAccount: <T>(_req: unknown, attempt: (a: AttemptInfo) => Promise<T>) => attempt({ attempt: 1, account }) },
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

  it('resolves aliases and rejects unknown models with model_not_found listing the choices', async () => {
    const { catalog } = setup();
    expect(await catalog.resolve('my-model')).toBe('gpt-5-codex');
    expect(await catalog.resolve('gpt-5')).toBe('gpt-5');
    await expect(catalog.resolve('gpt-9')).rejects.toMatchObject({ status: 404, code: 'model_not_found', message: expect.stringContaining('gpt-5, gpt-5-codex, my-model') });
  });

  it('keeps serving a stale list when a refresh fails, and lets names through when there is no list at all', async () => {
    const t = setup();
    await t.catalog.list();
    t.setFail(true);
    await t.clock.advance(301_000);
    expect((await t.catalog.list()).length).toBe(3);
    const empty = setup({ fail: true });
    expect(await empty.catalog.resolve('anything')).toBe('anything');
  });
});
