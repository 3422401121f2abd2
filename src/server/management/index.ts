/**
 * The management API under /v0/management/*: its own scope, behind the management key only
 * (see auth.ts). Registered by the app only when a management key is configured.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../accounts/logger.js';
import type { AccountPool } from '../../accounts/pool.js';
import type { Clock } from '../../util/clock.js';
import { accountsRoutes } from './accounts-routes.js';
import { FailedAttempts, registerManagementAuth } from './auth.js';
import type { ManagementKeyVerifier } from './key.js';

export interface ManagementOptions {
  verifier: ManagementKeyVerifier;
  allowRemote: boolean;
  pool: AccountPool;
  clock: Clock;
  revoke(refreshToken: string): Promise<void>;
  log: Logger;
}

export async function managementApi(scope: FastifyInstance, opts: ManagementOptions): Promise<void> {
  registerManagementAuth(scope, { verifier: opts.verifier, allowRemote: opts.allowRemote, failures: new FailedAttempts(opts.clock) });
  await scope.register(accountsRoutes, { pool: opts.pool, clock: opts.clock, revoke: opts.revoke, log: opts.log });
}
