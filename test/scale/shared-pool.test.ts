import { afterEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/accounts/postgres-migrations.js';
import { adminQuery } from '../helpers/postgres.js';
import { MANAGEMENT_KEY, startCluster, type Cluster } from './cluster.js';

/**
 * Three real cliproxy server processes + the sandbox + 5 accounts in one PostgreSQL schema,
 * selected with CLIProxyAPI's variables (PGSTORE_DSN alone, PGSTORE_SCHEMA).
 */
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('3 instances sharing PostgreSQL', () => {
  it('start together on an empty schema: the schema is created, every migration applied exactly once; accounts added later reach all', async () => {
    cluster = await startCluster({ accountsAfterStart: true });
    const c = cluster;
    const rows = await adminQuery<{ version: number }>(`SELECT version FROM "${c.schema}".cliproxy_accounts_migrations ORDER BY version`);
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    const applied = c.instances.flatMap((i) => i.logs(/^Applied PostgreSQL migration/));
    expect(applied).toHaveLength(SCHEMA_VERSION);
    for (const inst of c.instances) expect(inst.out()).toContain('Loaded 0 Codex accounts');
    // the accounts added afterwards reach every instance by NOTIFY
    for (const inst of c.instances) {
      await expect.poll(async () => ((await (await fetch(`${inst.url}/healthz`)).json()) as { accounts: { total: number } }).accounts.total, { timeout: 5000 }).toBe(5);
    }
    const replies = await Promise.all(c.instances.map((_, i) => c.ask(i)));
    expect(replies).toEqual(['OK', 'OK', 'OK']);
  }, 120_000);

  it('refresh storm: 300 concurrent requests while every access token expires → exactly 5 refreshes, none reused', async () => {
    cluster = await startCluster();
    const c = cluster;
    // warm: every instance has served, then the backend stops accepting every access token
    await Promise.all(Array.from({ length: 6 }, (_, i) => c.ask(i)));
    c.sandbox.expireAccessTokens();
    c.sandbox.resetStats();
    const results = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => c.ask(i)));
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed.map((r) => String((r as PromiseRejectedResult).reason)).slice(0, 3)).toEqual([]);
    expect(results.every((r) => r.status === 'fulfilled' && r.value === 'OK')).toBe(true);
    expect(c.sandbox.stats().refreshes).toBe(5);
    for (const a of c.accounts) expect(c.sandbox.stats(a.accountId).refreshes).toBe(1);
    expect(c.sandbox.stats().refreshReuses).toBe(0);
    // the rotated tokens are in the table, and every account is still usable
    const { accounts } = await c.store.list();
    expect(accounts).toHaveLength(5);
    for (const a of accounts) expect(a.credential.needsLogin).toBeUndefined();
    for (const m of c.accounts) expect(accounts.find((a) => a.credential.accountId === m.accountId)!.credential.refreshToken).not.toBe(m.refreshToken);
  }, 180_000);

  it('a usage limit hit on one instance is honoured by the others (≤ 2 hits on the exhausted account over 30 requests)', async () => {
    cluster = await startCluster();
    const c = cluster;
    const exhausted = c.accounts[0]!;
    c.sandbox.setQuota(exhausted.accountId, { limit: 0, resetsInSeconds: 900 });
    const replies: string[] = [];
    for (let i = 0; i < 30; i++) replies.push(await c.ask(i));
    expect(replies.every((r) => r === 'OK')).toBe(true);
    // without sharing every instance would try it at least once (3 hits)
    expect(c.sandbox.stats(exhausted.accountId).requests).toBeLessThanOrEqual(2);
    expect(c.sandbox.stats(exhausted.accountId).requests).toBeGreaterThanOrEqual(1);
    // every instance shows it cooling until the reset; the counts stay per instance
    for (const inst of c.instances) {
      const res = await fetch(`${inst.url}/v0/management/accounts`, { headers: { authorization: `Bearer ${MANAGEMENT_KEY}` } });
      const body = (await res.json()) as { accounts: Array<{ accountId: string; state: string; cooldownReason: string | null; cooldownUntil: number | null; requests: number }> };
      const a = body.accounts.find((x) => x.accountId === exhausted.accountId)!;
      expect(a).toMatchObject({ state: 'cooling', cooldownReason: 'usage_limit' });
      expect(a.cooldownUntil! - Date.now()).toBeGreaterThan(800_000);
      expect(body.accounts.reduce((n, x) => n + x.requests, 0)).toBeGreaterThanOrEqual(10);
    }
  }, 120_000);
});
