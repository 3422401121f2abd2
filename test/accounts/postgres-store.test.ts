import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Credential } from '../../src/accounts/credential.js';
import { PostgresAccountStore } from '../../src/accounts/postgres-store.js';

// PostgreSQL on 127.0.0.1:5432 (trust auth, database `test`); .ci/run starts it. Never skipped.
const URL = process.env.CLIPROXY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
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
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
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
    expect(await a.remove('acct-2')).toBe(true);
    expect(await a.remove('acct-2')).toBe(false);
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

  it('rejects an unsafe table name', () => {
    expect(() => new PostgresAccountStore({ connectionString: URL, table: 'x; drop table y' })).toThrow(/Invalid PostgreSQL table name/);
  });
});
