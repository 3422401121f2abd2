import { afterEach, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from './cluster.js';

/** One of 3 instances is killed (SIGKILL) while it holds an account's refresh lock and waits for the issuer. */
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('SIGKILL mid-refresh', () => {
  it('loses nothing: the lock dies with the process, another instance refreshes once, no reuse, every account still usable', async () => {
    cluster = await startCluster();
    const c = cluster;
    expect(await c.ask(0)).toBe('OK');
    // the issuer holds refresh grants; every access token stops working
    c.sandbox.delayRefreshes(30_000);
    c.sandbox.expireAccessTokens();
    const victim = c.instances[0]!;
    const inFlight = c.ask(0).then(
      () => 'answered',
      () => 'cut',
    );
    await expect.poll(() => c.sandbox.pendingRefreshes(), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    await victim.kill();
    expect(await inFlight).toBe('cut');
    await expect.poll(() => c.sandbox.pendingRefreshes(), { timeout: 5000 }).toBe(0);
    c.sandbox.delayRefreshes(0);

    // the two survivors serve every account (they refresh each one once, the killed one's included)
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => c.ask(1 + (i % 2))));
    expect(replies.every((r) => r === 'OK')).toBe(true);
    expect(c.sandbox.stats().refreshReuses).toBe(0);
    for (const a of c.accounts) expect(c.sandbox.stats(a.accountId).refreshes).toBe(1);
    const { accounts, problems } = await c.store.list();
    expect(problems).toEqual([]);
    expect(accounts).toHaveLength(5);
    for (const a of accounts) {
      expect(a.credential.needsLogin).toBeUndefined();
      const minted = c.accounts.find((m) => m.accountId === a.credential.accountId)!;
      expect(a.credential.refreshToken).not.toBe(minted.refreshToken);
    }
  }, 120_000);
});
