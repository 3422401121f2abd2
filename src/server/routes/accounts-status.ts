import type { FastifyInstance } from 'fastify';
import type { AccountPool } from '../../accounts/pool.js';

/**
 * GET /v0/management/accounts → {"accounts": [...]}: the pool's per-account state (the same
 * records `cliproxy status` prints; no secrets). Client authentication is the app's job.
 */
export async function accountsStatusRoutes(app: FastifyInstance, opts: { pool: AccountPool }): Promise<void> {
  app.get('/v0/management/accounts', async () => ({ accounts: opts.pool.snapshot() }));
}
