import { afterEach, describe, expect, it } from 'vitest';
import { TEST_POSTGRES_URL } from '../helpers/postgres.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { startCluster, type Cluster } from './cluster.js';

/**
 * The database goes away for 10 s under load: the 3 instances reach PostgreSQL through a TCP
 * proxy the test cuts (every connection reset, nothing listening) and restores.
 */
let cluster: Cluster | undefined;
let proxy: TcpProxy | undefined;
afterEach(async () => {
  await proxy?.restore();
  await cluster?.close();
  await proxy?.close();
  cluster = undefined;
  proxy = undefined;
});

interface Ready {
  status: string;
  store: string;
}

async function readyz(url: string): Promise<Ready & { http: number }> {
  const res = await fetch(`${url}/readyz`);
  return { ...((await res.json()) as Ready), http: res.status };
}

describe('a PostgreSQL outage', () => {
  it('10 s down under load: every request served, accounts needing a refresh set aside and back after, no token lost, no reuse', async () => {
    const target = new URL(TEST_POSTGRES_URL);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(TEST_POSTGRES_URL);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    cluster = await startCluster({ url: viaProxy.toString() });
    const c = cluster;
    for (const inst of c.instances) expect(await readyz(inst.url)).toMatchObject({ http: 200, status: 'ready', store: 'ok' });

    // load: 6 clients in a loop over the 3 instances until told to stop
    const outcomes: Array<{ ok: boolean; status?: number; message?: string }> = [];
    let running = true;
    let seq = 0;
    const worker = async () => {
      while (running) {
        const i = seq++;
        try {
          const text = await c.ask(i);
          outcomes.push({ ok: text === 'OK' });
        } catch (err) {
          outcomes.push({ ok: false, status: (err as { status?: number }).status, message: (err as Error).message });
        }
      }
    };
    const load = Promise.all(Array.from({ length: 6 }, worker));
    await new Promise((r) => setTimeout(r, 1000));

    await proxy.cut();
    // two accounts' access tokens stop working while the database is away: they need a refresh
    const [x, y] = c.accounts;
    c.sandbox.expireAccessTokens(x!.accountId);
    c.sandbox.expireAccessTokens(y!.accountId);
    for (const inst of c.instances) {
      await expect.poll(async () => (await readyz(inst.url)).status, { timeout: 5000 }).toBe('degraded');
      expect(await readyz(inst.url)).toMatchObject({ http: 200, store: 'unavailable' });
    }
    await new Promise((r) => setTimeout(r, 10_000));
    // nothing could refresh without the lock
    expect(c.sandbox.stats(x!.accountId).refreshes).toBe(0);
    expect(c.sandbox.stats(y!.accountId).refreshes).toBe(0);
    const duringOutage = outcomes.length;

    await proxy.restore();
    for (const inst of c.instances) await expect.poll(async () => (await readyz(inst.url)).status, { timeout: 15_000 }).toBe('ready');
    // the set-aside accounts come back: refreshed exactly once across the instances
    await expect.poll(() => c.sandbox.stats(x!.accountId).refreshes + c.sandbox.stats(y!.accountId).refreshes, { timeout: 10_000 }).toBe(2);
    await new Promise((r) => setTimeout(r, 1500));
    running = false;
    await load;

    const failed = outcomes.filter((o) => !o.ok);
    expect(failed.slice(0, 3)).toEqual([]);
    expect(duringOutage).toBeGreaterThan(30);
    expect(c.sandbox.stats().refreshReuses).toBe(0);
    expect(c.sandbox.stats(x!.accountId).refreshes).toBe(1);
    expect(c.sandbox.stats(y!.accountId).refreshes).toBe(1);
    // the rotated tokens are in the table; no account was lost
    const { accounts } = await c.store.list();
    expect(accounts).toHaveLength(5);
    for (const a of accounts) expect(a.credential.needsLogin).toBeUndefined();
    for (const m of [x!, y!]) expect(accounts.find((a) => a.credential.accountId === m.accountId)!.credential.refreshToken).not.toBe(m.refreshToken);
    // each set-aside account serves again, on every instance
    c.sandbox.resetStats();
    for (let i = 0; i < 15; i++) expect(await c.ask(i)).toBe('OK');
    expect(c.sandbox.stats(x!.accountId).requests).toBeGreaterThan(0);
    expect(c.sandbox.stats(y!.accountId).requests).toBeGreaterThan(0);
    // the outage was logged once per instance, and its end
    for (const inst of c.instances) {
      expect(inst.logs(/^PostgreSQL is unreachable/)).toHaveLength(1);
      expect(inst.logs('PostgreSQL is reachable again')).toHaveLength(1);
    }
  }, 120_000);
});
