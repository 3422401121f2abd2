import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { accountsStatusRoutes } from '../../src/server/routes/accounts-status.js';
import { poolWith, type PoolFixture } from './pool-setup.js';

let fx: PoolFixture | undefined;
afterEach(async () => {
  await fx?.pool.stop();
  fx = undefined;
});

describe('GET /v0/management/accounts', () => {
  it('serves the pool snapshot without secrets', async () => {
    fx = await poolWith(['a', 'b'], { edit: (c) => (c.accountId === 'b' ? { ...c, disabled: true } : c) });
    await fx.pool.withAccount({}, async () => 1);
    const app = Fastify();
    await app.register(accountsStatusRoutes, { pool: fx.pool });
    const res = await app.inject({ method: 'GET', url: '/v0/management/accounts' });
    await app.close();
    expect(res.statusCode).toBe(200);
    const body = res.json() as { accounts: Array<Record<string, unknown>> };
    expect(body.accounts.map((a) => [a.accountId, a.email, a.state, a.requests])).toEqual([
      ['a', 'a@example.com', 'ready', 1],
      ['b', 'b@example.com', 'disabled', 0],
    ]);
    const a = (await fx.store.load('a'))!.credential;
    for (const secret of [a.accessToken, a.refreshToken, a.idToken]) expect(res.body).not.toContain(secret);
  });
});
