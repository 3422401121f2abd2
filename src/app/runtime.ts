/**
 * The composition root: from a Config, build the store, token client, upstream client and
 * account pool that `serve`, `exec` and `demo` share, so all three take the same code path.
 */
import type { Logger } from '../accounts/logger.js';
import { silentLogger } from '../accounts/logger.js';
import { AccountPool } from '../accounts/pool.js';
import type { AccountStore } from '../accounts/store.js';
import { openAccountStore } from '../auth/store-for-config.js';
import { TokenClient } from '../auth/token-client.js';
import type { Config } from '../config/schema.js';
import { CodexClient } from '../upstream/codex-client.js';
import type { UpstreamClient } from '../upstream/types.js';
import { systemClock, type Clock } from '../util/clock.js';

export interface Runtime {
  config: Config;
  clock: Clock;
  store: AccountStore;
  upstream: UpstreamClient;
  pool: AccountPool;
  /** Stops the pool, closes the upstream connections and the store it opened itself. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  clock?: Clock;
  log?: Logger;
  /** Defaults to the configured store (`store.type`: the auth dir, or PostgreSQL), closed by close(). */
  store?: AccountStore;
}

export async function createRuntime(config: Config, opts: RuntimeOptions = {}): Promise<Runtime> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? silentLogger;
  // a store passed in belongs to the caller; one opened here is closed here
  const { store, close: closeStore } = opts.store
    ? { store: opts.store, close: async () => undefined }
    : await openAccountStore(config, clock, { log, warn: (message) => log.warn({ authDir: config.authDir }, message) });
  const tokens = new TokenClient({ issuer: config.codex.issuer, clientId: config.codex.clientId });
  const upstream = new CodexClient({
    baseUrl: config.codex.baseUrl,
    originator: config.codex.originator,
    version: config.codex.clientVersion,
    clock,
    requestTimeoutMs: config.codex.requestTimeoutSeconds * 1000,
  });
  const pool = new AccountPool({ store, tokens, clock, config, log });
  try {
    await pool.start();
  } catch (err) {
    await upstream.close();
    await closeStore();
    throw err;
  }
  let closed = false;
  return {
    config,
    clock,
    store,
    upstream,
    pool,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await pool.stop();
        await upstream.close();
      } finally {
        await closeStore();
      }
    },
  };
}
