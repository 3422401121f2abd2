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
import type { RequestLogBuffer } from '../request-log.js';
import type { UsageTracker } from '../usage/tracker.js';
import { usageRoutes } from './usage-routes.js';
import { configRoutes } from './config-routes.js';
import { LoginManager } from './logins.js';
import { loginsRoutes } from './logins-routes.js';
import type { Config } from '../../config/schema.js';
import type { ConfigReloader } from '../config-reload.js';

export interface ManagementOptions {
  verifier: ManagementKeyVerifier;
  allowRemote: boolean;
  pool: AccountPool;
  clock: Clock;
  revoke(refreshToken: string): Promise<void>;
  log: Logger;
  usage: UsageTracker;
  requestLog: RequestLogBuffer;
  /** The running config (it changes on reload). */
  config(): Config;
  reloader: ConfigReloader | null;
  /** fetch for the issuer (tests); default the global one. */
  fetch?: typeof fetch;
}

export async function managementApi(scope: FastifyInstance, opts: ManagementOptions): Promise<void> {
  registerManagementAuth(scope, { verifier: opts.verifier, allowRemote: opts.allowRemote, failures: new FailedAttempts(opts.clock) });
  await scope.register(accountsRoutes, { pool: opts.pool, clock: opts.clock, revoke: opts.revoke, log: opts.log });
  await scope.register(usageRoutes, { pool: opts.pool, usage: opts.usage, requestLog: opts.requestLog });
  await scope.register(configRoutes, { current: opts.config, reloader: opts.reloader });
  const logins = new LoginManager({ pool: opts.pool, clock: opts.clock, config: opts.config, log: opts.log, fetch: opts.fetch });
  scope.addHook('onClose', async () => logins.close());
  await scope.register(loginsRoutes, { logins });
}
