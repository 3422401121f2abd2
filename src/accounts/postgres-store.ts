import pg from 'pg';
import { z } from 'zod';
import { KeyedMutex } from '../util/keyed-mutex.js';
import type { Credential } from './credential.js';
import { loadProblem, type AccountStore, type LoadProblem, type StoredAccount, type StoreListing } from './store.js';

/**
 * Accounts in PostgreSQL, for several cliproxy instances sharing one set of accounts.
 * - One row per account (jsonb), keyed by account_id.
 * - withRefreshLock holds a session-level advisory lock on a connection of its own small
 *   pool, so only one process refreshes an account at a time (refresh tokens are single-use).
 *   Queries (load/save/list) use the other pool, so they never wait behind lock holders.
 *   The lock is taken with pg_try_advisory_lock and polled: a waiter holds no connection.
 * - watch() uses LISTEN/NOTIFY on a dedicated connection (not from either pool): every
 *   save/remove notifies, in this process and in others. When that connection breaks
 *   (database restart, pg_terminate_backend) it reconnects with backoff and reports a change.
 */
export interface PostgresStoreOptions {
  connectionString?: string;
  /** An existing pool for queries (tests, or an application that already has one). */
  pool?: pg.Pool;
  /** Table name; letters, digits and underscores only. */
  table?: string;
  watchDebounceMs?: number;
  /** Most connections holding refresh locks at once (default 4); more refreshes wait for one. */
  lockConnections?: number;
  /** A refresh lock another process holds longer than this fails the wait (default 10 min). */
  lockWaitMs?: number;
  /** First delay before the watcher reconnects (doubles up to 30 s); default 1000 ms. */
  watchRetryMs?: number;
  /** Time to wait for a new connection before failing (default 10 s). */
  connectionTimeoutMs?: number;
}

const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;
const DEFAULT_LOCK_WAIT_MS = 10 * 60_000;
const MAX_WATCH_RETRY_MS = 30_000;

const credentialSchema = z.object({
  accountId: z.string().min(1),
  email: z.string(),
  planType: z.string(),
  idToken: z.string(),
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1),
  tokenType: z.string(),
  expiresAt: z.number().nullable(),
  lastRefresh: z.number().nullable(),
  authMethod: z.enum(['oauth', 'device', 'import']),
  pkce: z.object({ method: z.literal('S256'), challenge: z.string() }).optional(),
  disabled: z.boolean(),
  needsLogin: z.object({ reason: z.string(), at: z.number() }).optional(),
  extra: z.record(z.string(), z.unknown()).optional(),
});

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

export class PostgresAccountStore implements AccountStore {
  readonly description: string;
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  /** Connections that hold advisory locks while a refresh runs; never used for queries. */
  private readonly lockPool: pg.Pool;
  /** How to open a connection of our own (the watcher's). */
  private readonly clientConfig: pg.ClientConfig;
  private readonly table: string;
  private readonly channel: string;
  private readonly debounceMs: number;
  private readonly lockWaitMs: number;
  private readonly watchRetryMs: number;
  private ready: Promise<void> | null = null;
  private readonly localLocks = new KeyedMutex();
  /** Unsubscribe functions of the active watchers: close() stops them. */
  private readonly watchers = new Set<() => void>();

  constructor(opts: PostgresStoreOptions) {
    const table = opts.table ?? 'cliproxy_accounts';
    if (!IDENT.test(table)) throw new Error(`Invalid PostgreSQL table name "${table}": use lowercase letters, digits and underscores`);
    if (!opts.pool && !opts.connectionString) throw new Error('PostgreSQL store needs a connection string (store.postgres-url or CLIPROXY_POSTGRES_URL)');
    const connectionTimeoutMillis = opts.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS;
    this.clientConfig = opts.pool
      ? { ...opts.pool.options, connectionTimeoutMillis: opts.pool.options.connectionTimeoutMillis || connectionTimeoutMillis }
      : { connectionString: opts.connectionString, connectionTimeoutMillis };
    if (opts.pool) {
      this.pool = opts.pool;
    } else {
      this.pool = new pg.Pool({ ...this.clientConfig, max: 4 });
      // an idle connection that breaks (database restart) must not become an uncaught 'error'
      this.pool.on('error', () => undefined);
    }
    this.ownsPool = !opts.pool;
    this.lockPool = new pg.Pool({ ...this.clientConfig, max: Math.max(1, opts.lockConnections ?? 4) });
    this.lockPool.on('error', () => undefined);
    this.table = table;
    this.channel = `${table}_changed`;
    this.debounceMs = opts.watchDebounceMs ?? 100;
    this.lockWaitMs = opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
    this.watchRetryMs = opts.watchRetryMs ?? 1000;
    this.description = `PostgreSQL table ${table} at ${describeConnection(opts.connectionString)}`;
  }

  /** Creates the table if needed. Called lazily by every operation. */
  init(): Promise<void> {
    this.ready ??= this.pool
      .query(
        `CREATE TABLE IF NOT EXISTS ${this.table} (
           account_id text PRIMARY KEY,
           data jsonb NOT NULL,
           updated_at timestamptz NOT NULL DEFAULT now()
         )`,
      )
      .then(() => undefined)
      .catch((err: unknown) => {
        this.ready = null;
        throw new Error(`Cannot prepare ${this.description}: ${(err as Error).message}`);
      });
    return this.ready;
  }

  async list(): Promise<StoreListing> {
    await this.init();
    const { rows } = await this.pool.query<{ account_id: string; data: unknown }>(`SELECT account_id, data FROM ${this.table} ORDER BY account_id`);
    const accounts: StoredAccount[] = [];
    const problems: LoadProblem[] = [];
    for (const row of rows) {
      const parsed = parseRow(row.data);
      const location = this.location(row.account_id);
      if (parsed.ok) accounts.push({ credential: parsed.credential, location });
      else problems.push(loadProblem(location, parsed.reason, 'corrupt'));
    }
    return { accounts, problems };
  }

  async load(accountId: string): Promise<StoredAccount | null> {
    await this.init();
    const { rows } = await this.pool.query<{ data: unknown }>(`SELECT data FROM ${this.table} WHERE account_id = $1`, [accountId]);
    const row = rows[0];
    if (!row) return null;
    const parsed = parseRow(row.data);
    return parsed.ok ? { credential: parsed.credential, location: this.location(accountId) } : null;
  }

  async save(credential: Credential): Promise<string> {
    const checked = credentialSchema.parse(credential);
    await this.init();
    await this.pool.query(
      `INSERT INTO ${this.table} (account_id, data, updated_at) VALUES ($1, $2, now())
       ON CONFLICT (account_id) DO UPDATE SET data = EXCLUDED.data, updated_at = now()`,
      [checked.accountId, JSON.stringify(checked)],
    );
    await this.notify(checked.accountId);
    return this.location(checked.accountId);
  }

  async remove(accountId: string): Promise<string[]> {
    await this.init();
    const res = await this.pool.query(`DELETE FROM ${this.table} WHERE account_id = $1`, [accountId]);
    if (res.rowCount) await this.notify(accountId);
    return (res.rowCount ?? 0) > 0 ? [this.location(accountId)] : [];
  }

  watch(onChange: () => void): () => void {
    let stopped = false;
    let client: pg.Client | null = null;
    let timer: NodeJS.Timeout | null = null;
    let retryTimer: NodeJS.Timeout | null = null;
    let failures = 0;
    const fire = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        if (!stopped) onChange();
      }, this.debounceMs);
      timer.unref();
    };
    const retry = () => {
      if (stopped || retryTimer) return;
      const delay = Math.min(this.watchRetryMs * 2 ** Math.min(failures, 16), MAX_WATCH_RETRY_MS);
      failures++;
      retryTimer = setTimeout(() => {
        retryTimer = null;
        void listen();
      }, delay);
      retryTimer.unref();
    };
    const listen = async (): Promise<void> => {
      if (stopped) return;
      const c = new pg.Client(this.clientConfig);
      let dropped = false;
      // the connection broke (error, or the server ended it): drop it and listen again later
      const drop = () => {
        if (dropped) return;
        dropped = true;
        if (client === c) client = null;
        c.removeAllListeners('notification');
        c.end().catch(() => undefined);
        retry();
      };
      c.on('error', drop);
      c.on('end', drop);
      c.on('notification', fire);
      try {
        await this.init();
        await c.connect();
        await c.query(`LISTEN ${this.channel}`);
      } catch {
        drop();
        return;
      }
      if (dropped) return;
      if (stopped) {
        dropped = true;
        c.end().catch(() => undefined);
        return;
      }
      client = c;
      // after a broken connection, changes may have been missed meanwhile
      if (failures > 0) onChange();
      failures = 0;
    };
    void listen();
    const unsubscribe = () => {
      this.watchers.delete(unsubscribe);
      stopped = true;
      if (timer) clearTimeout(timer);
      if (retryTimer) clearTimeout(retryTimer);
      const c = client;
      client = null;
      if (c) {
        c.removeAllListeners('notification');
        c.removeAllListeners('end');
        c.end().catch(() => undefined);
      }
    };
    this.watchers.add(unsubscribe);
    return unsubscribe;
  }

  async withRefreshLock<T>(accountId: string, fn: () => Promise<T>): Promise<T> {
    // in-process queue first, so one process holds at most one lock connection per account
    return this.localLocks.run(accountId, async () => {
      await this.init();
      const key = `cliproxy:${this.table}:${accountId}`;
      const client = await this.acquireAdvisoryLock(key);
      // a lock connection that breaks while fn runs must not become an uncaught 'error'
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken = err;
      };
      client.on('error', onError);
      try {
        return await fn();
      } finally {
        try {
          if (!broken) await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
        } catch (err) {
          broken = err as Error;
        }
        client.removeListener('error', onError);
        // a connection whose unlock failed is closed, never pooled (closing ends the session and its lock)
        client.release(broken ?? false);
      }
    });
  }

  /**
   * A lock-pool connection holding the advisory lock for `key`. Polls pg_try_advisory_lock,
   * giving the connection back between tries, and fails after lockWaitMs.
   */
  private async acquireAdvisoryLock(key: string): Promise<pg.PoolClient> {
    const deadline = Date.now() + this.lockWaitMs;
    for (;;) {
      const client = await this.lockPool.connect();
      let got = false;
      try {
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [key]);
        got = rows[0]?.locked === true;
      } catch (err) {
        client.release(err as Error);
        throw err;
      }
      if (got) return client;
      client.release();
      if (Date.now() >= deadline) {
        throw new Error(`Timed out after ${Math.round(this.lockWaitMs / 1000)} s waiting for another process's refresh lock in ${this.description}`);
      }
      await new Promise<void>((r) => setTimeout(r, 25 + Math.floor(Math.random() * 50)));
    }
  }

  async close(): Promise<void> {
    for (const unsubscribe of [...this.watchers]) unsubscribe();
    await this.lockPool.end();
    if (this.ownsPool) await this.pool.end();
  }

  private location(accountId: string): string {
    return `${this.table}/${accountId}`;
  }

  private async notify(accountId: string): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [this.channel, accountId]);
  }
}

function parseRow(data: unknown): { ok: true; credential: Credential } | { ok: false; reason: string } {
  const parsed = credentialSchema.safeParse(data);
  if (parsed.success) return { ok: true, credential: parsed.data as Credential };
  const issue = parsed.error.issues[0];
  return { ok: false, reason: `invalid account row: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown problem'}` };
}

/** The connection string without its password, for messages. */
function describeConnection(connectionString: string | undefined): string {
  if (!connectionString) return 'the given pool';
  try {
    const u = new URL(connectionString);
    u.password = '';
    return `${u.host}${u.pathname}`;
  } catch {
    return 'the configured database';
  }
}
