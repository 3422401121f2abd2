import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Credential } from '../../src/accounts/credential.js';
import { PostgresAccountStore } from '../../src/accounts/postgres-store.js';
import { testPostgresUrl } from '../support/postgres-url.js';

// PostgreSQL: the embedded server the global setup starts, or CLIPROXY_TEST_POSTGRES_URL.
const URL = testPostgresUrl();
const table = `cliproxy_test_${process.pid}_${Date.now() % 100000}`;

function credential(id: string, over: Partial<Credential> = {}): Credential {
  return {
    accountId: id,
    email: `${id}@example.test`,
    planType: 'plus',
    idToken: 'id.token.value',
    accessToken: `access-${id}`,
    refreshToken: `refresh-${id}`,
    tokenType: 'Bearer',
    expiresAt: 1_800_000_000_000,
    lastRefresh: 1_700_000_000_000,
    authMethod: 'device',
    disabled: false,
    ...over,
  };
}

describe('PostgresAccountStore', () => {
  const admin = new pg.Pool({ connectionString: URL, max: 2 });
  let a: PostgresAccountStore;
  let b: PostgresAccountStore;

  beforeAll(async () => {
    await admin.query('SELECT 1').catch((err: Error) => {
      throw new Error(`PostgreSQL is required for this test at ${URL} (start it: pg_ctlcluster 15 main start): ${err.message}`);
    });
    // two stores with their own pools stand for two processes sharing the database
    a = new PostgresAccountStore({ connectionString: URL, table, watchDebounceMs: 20 });
    b = new PostgresAccountStore({ connectionString: URL, table, watchDebounceMs: 20 });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await admin.query(`DROP TABLE IF EXISTS ${table}, ${table}_state, ${table}_migrations`);
    await admin.end();
  });

  it('saves, lists, loads and removes accounts', async () => {
    await a.save(credential('acct-1'));
    await a.save(credential('acct-2', { disabled: true }));
    const listing = await b.list();
    expect(listing.problems).toEqual([]);
    expect(listing.accounts.map((x) => x.credential.accountId)).toEqual(['acct-1', 'acct-2']);
    expect((await b.load('acct-2'))?.credential.disabled).toBe(true);
    await a.save(credential('acct-1', { accessToken: 'access-new' }));
    expect((await b.load('acct-1'))?.credential.accessToken).toBe('access-new');
    expect(await a.remove('acct-2')).toHaveLength(1);
    expect(await a.remove('acct-2')).toEqual([]);
    expect(await b.load('acct-2')).toBeNull();
  });

  it('reports an invalid row as a problem and skips it', async () => {
    await admin.query(`INSERT INTO ${table} (account_id, data) VALUES ('broken', '{"accountId":"broken"}')`);
    const listing = await a.list();
    expect(listing.problems).toHaveLength(1);
    expect(listing.problems[0]!.location).toBe(`${table}/broken`);
    expect(listing.problems[0]!.reason).toMatch(/invalid account row/);
    expect(listing.accounts.some((x) => x.credential.accountId === 'broken')).toBe(false);
    await admin.query(`DELETE FROM ${table} WHERE account_id = 'broken'`);
  });

  it('refuses to save a credential without tokens', async () => {
    await expect(a.save(credential('acct-x', { refreshToken: '' }))).rejects.toThrow();
  });

  it('notifies watchers in other processes', async () => {
    let seen = 0;
    const stop = b.watch(() => seen++);
    await new Promise((r) => setTimeout(r, 200));
    await a.save(credential('acct-3'));
    await expect.poll(() => seen, { timeout: 3000 }).toBeGreaterThan(0);
    stop();
  });

  it('withRefreshLock is exclusive across processes', async () => {
    let inside = 0;
    let maxInside = 0;
    const order: string[] = [];
    const work = (store: PostgresAccountStore, name: string) =>
      store.withRefreshLock('acct-1', async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        order.push(`${name}:in`);
        await new Promise((r) => setTimeout(r, 50));
        order.push(`${name}:out`);
        inside--;
      });
    await Promise.all([work(a, 'a1'), work(b, 'b1'), work(a, 'a2'), work(b, 'b2')]);
    expect(maxInside).toBe(1);
    expect(order).toHaveLength(8);
    // a different account is not blocked
    const other = b.withRefreshLock('acct-3', async () => 'ok');
    await expect(a.withRefreshLock('acct-1', () => other)).resolves.toBe('ok');
  });

  it('releases the lock when fn throws', async () => {
    await expect(a.withRefreshLock('acct-1', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(b.withRefreshLock('acct-1', async () => 'after')).resolves.toBe('after');
  });

  it('load and save inside concurrent refresh locks do not wait behind the lock holders (watch active)', async () => {
    const stop = a.watch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    const ids = ['dl-1', 'dl-2', 'dl-3', 'dl-4', 'dl-5'];
    for (const id of ids) await a.save(credential(id));
    const run = Promise.all(
      ids.map((id) =>
        a.withRefreshLock(id, async () => {
          const cur = await a.load(id);
          await new Promise((r) => setTimeout(r, 50));
          await a.save({ ...cur!.credential, accessToken: `access-${id}-refreshed` });
          return (await a.load(id))?.credential.accessToken;
        }),
      ),
    );
    const timedOut = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 8000).unref());
    try {
      await expect(Promise.race([run, timedOut])).resolves.toEqual(ids.map((id) => `access-${id}-refreshed`));
    } finally {
      stop();
    }
  });

  it('a watcher survives its connection being terminated, reports a change and keeps listening', async () => {
    const listenerPid = async () => {
      const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE query LIKE $1', [`LISTEN "${table}_changed";%`]);
      return rows.map((r) => r.pid);
    };
    // the watchers of the earlier tests are gone first, so the one listener seen below is this one's
    await expect.poll(listenerPid, { timeout: 5000 }).toHaveLength(0);
    const c = new PostgresAccountStore({ connectionString: URL, table, watchDebounceMs: 20, watchRetryMs: 50 });
    let seen = 0;
    const stop = c.watch(() => seen++);
    try {
      await expect.poll(listenerPid, { timeout: 3000 }).toHaveLength(1);
      const [pid] = await listenerPid();
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      // the reconnect itself reports a change (notifications may have been missed meanwhile)
      await expect.poll(() => seen, { timeout: 5000 }).toBeGreaterThan(0);
      await expect.poll(async () => (await listenerPid()).filter((p) => p !== pid), { timeout: 5000 }).toHaveLength(1);
      const before = seen;
      await a.save(credential('acct-after-restart'));
      await expect.poll(() => seen, { timeout: 3000 }).toBeGreaterThan(before);
    } finally {
      stop();
      await c.close();
    }
  });

  it('close() also stops the watchers still subscribed', async () => {
    const c = new PostgresAccountStore({ connectionString: URL, table: `${table}_closing`, watchDebounceMs: 20 });
    c.watch(() => undefined);
    const listeners = async () =>
      (await admin.query('SELECT pid FROM pg_stat_activity WHERE query LIKE $1', [`LISTEN "${table}_closing_changed";%`])).rowCount;
    await expect.poll(listeners, { timeout: 3000 }).toBe(1);
    await c.close();
    await expect.poll(listeners, { timeout: 3000 }).toBe(0);
    await admin.query(`DROP TABLE IF EXISTS ${table}_closing, ${table}_closing_state, ${table}_closing_migrations`);
  });

  it('a refresh lock that another process keeps holding fails the wait after lockWaitMs', async () => {
    const c = new PostgresAccountStore({ connectionString: URL, table, lockWaitMs: 300 });
    let releaseHolder!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const holder = a.withRefreshLock('acct-held', () => {
      entered();
      return new Promise<void>((r) => (releaseHolder = r));
    });
    try {
      await inside;
      await expect(c.withRefreshLock('acct-held', async () => 'never')).rejects.toThrow(/Timed out .* refresh lock/);
    } finally {
      releaseHolder();
      await holder;
      await c.close();
    }
    await expect(b.withRefreshLock('acct-held', async () => 'free')).resolves.toBe('free');
  });

  it('rejects an unsafe table name', () => {
    expect(() => new PostgresAccountStore({ connectionString: URL, table: 'x; drop table y' })).toThrow(/Invalid PostgreSQL table name/);
  });
});
