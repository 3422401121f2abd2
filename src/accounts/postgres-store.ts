import { createHash } from 'node:crypto';
import pg from 'pg';
import * as z from 'zod';
import { scrubText } from '../util/redact.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import type { Credential } from './credential.js';
import type { LockedMeta } from './credential-file.js';
import { silentLogger, type Logger } from './logger.js';
import { canOpen, openEnvelope, PLAIN, StoreKeyError, type StoreCrypto } from './store-cipher.js';
import { loadProblem, type AccountStore, type LoadProblem, type SharedCooldown, type StoredAccount, type StoreListing } from './store.js';
import { applyMigrations, type StoreTables } from './postgres-migrations.js';

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
 * - The tables live in a schema (created if absent) and are created and upgraded by
 *   numbered migrations, applied once under an advisory lock (postgres-migrations.ts).
 * - Shared account state: a cooldown one instance sets is written to `<table>_state` and
 *   sent with NOTIFY, so every instance skips the account until it ends.
 * - Availability: a connection failure marks the store unavailable (logged once); the
 *   watcher's reconnects (with backoff) or any successful query mark it available again.
 */
export interface PostgresStoreOptions {
  connectionString?: string;
  /** An existing pool for queries (tests, or an application that already has one). */
  pool?: pg.Pool;
  /** Table name; letters, digits and underscores only. */
  table?: string;
  /** Schema of the tables, created if absent (default public). */
  schema?: string;
  /** Encryption of the token fields (store.encryption-key); default plain. */
  crypto?: StoreCrypto;
  /** Where migrations and outages are reported. */
  log?: Logger;
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
const MAX_WATCH_RETRY_MS = 5_000;

const metaFields = {
  accountId: z.string().min(1),
  email: z.string(),
  planType: z.string(),
  tokenType: z.string(),
  expiresAt: z.number().nullable(),
  lastRefresh: z.number().nullable(),
  authMethod: z.enum(['oauth', 'device', 'import']),
  pkce: z.object({ method: z.literal('S256'), challenge: z.string() }).optional(),
  disabled: z.boolean(),
  needsLogin: z.object({ reason: z.string(), at: z.number() }).optional(),
  extra: z.record(z.string(), z.unknown()).optional(),
};

const credentialSchema = z.object({
  ...metaFields,
  idToken: z.string(),
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1),
});

/** A row with its tokens sealed: `sealed` replaces idToken/accessToken/refreshToken. */
const sealedRowSchema = z.object({ ...metaFields, sealed: z.unknown() });

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

export class PostgresAccountStore implements AccountStore {
  readonly description: string;
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  /** Connections that hold advisory locks while a refresh runs; never used for queries. */
  private readonly lockPool: pg.Pool;
  /** How to open a connection of our own (the watcher's). */
  private readonly clientConfig: pg.ClientConfig;
  private readonly tables: StoreTables;
  /** Channel of account changes (payload: account id). */
  private readonly channel: string;
  /** Channel of shared cooldowns (payload: JSON SharedCooldown). */
  private readonly cooldownChannel: string;
  private readonly debounceMs: number;
  private readonly lockWaitMs: number;
  private readonly watchRetryMs: number;
  private readonly crypto: StoreCrypto;
  private readonly log: Logger;
  private ready: Promise<void> | null = null;
  private readonly localLocks = new KeyedMutex();
  /** Unsubscribe functions of the active watchers: close() stops them. */
  private readonly watchers = new Set<() => void>();
  private available = true;
  private unavailableSince = 0;
  private readonly availabilityListeners = new Set<(available: boolean) => void>();

  constructor(opts: PostgresStoreOptions) {
    const table = opts.table ?? 'cliproxy_accounts';
    const schema = opts.schema ?? 'public';
    if (!IDENT.test(table)) throw new Error(`Invalid PostgreSQL table name "${table}": use lowercase letters, digits and underscores`);
    if (!IDENT.test(schema)) throw new Error(`Invalid PostgreSQL schema name "${schema}": use lowercase letters, digits and underscores`);
    if (!opts.pool && !opts.connectionString) throw new Error('PostgreSQL store needs a connection string (store.postgres-url, CLIPROXY_POSTGRES_URL or PGSTORE_DSN)');
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
    const q = (name: string) => `"${schema}"."${name}"`;
    this.tables = { schema, table, accounts: q(table), state: q(`${table}_state`), migrations: q(`${table}_migrations`), usage: q(`${table}_usage`) };
    // NOTIFY channels are per database: the schema is part of the name (hashed when too long)
    const base = schema === 'public' ? table : `${schema}_${table}`;
    const short = base.length <= 50 ? base : `cliproxy_${createHash('sha256').update(`${schema}.${table}`).digest('hex').slice(0, 16)}`;
    this.channel = `${short}_changed`;
    this.cooldownChannel = `${short}_cooldown`;
    this.debounceMs = opts.watchDebounceMs ?? 100;
    this.lockWaitMs = opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
    this.watchRetryMs = opts.watchRetryMs ?? 1000;
    this.crypto = opts.crypto ?? PLAIN;
    this.log = opts.log ?? silentLogger;
    this.description = `PostgreSQL table ${schema === 'public' ? table : `${schema}.${table}`} at ${describeConnection(opts.connectionString)}`;
  }

  /** Creates the schema and applies pending migrations (once per process; retried after a failure). */
  init(): Promise<void> {
    this.ready ??= this.track(applyMigrations(this.pool, this.tables, this.log))
      .then(() => undefined)
      .catch((err: unknown) => {
        this.ready = null;
        throw new Error(`Cannot prepare ${this.description}: ${scrubText((err as Error).message)}`);
      });
    return this.ready;
  }

  async list(): Promise<StoreListing> {
    await this.init();
    const { rows } = await this.query<{ account_id: string; data: unknown }>(`SELECT account_id, data FROM ${this.tables.accounts} ORDER BY account_id`);
    const accounts: StoredAccount[] = [];
    const problems: LoadProblem[] = [];
    for (const row of rows) {
      const parsed = this.parseRow(row.data);
      const location = this.location(row.account_id);
      if (parsed.ok) accounts.push({ credential: parsed.credential, location });
      else problems.push(loadProblem(location, parsed.reason, parsed.locked ? 'locked' : 'corrupt', parsed.locked));
    }
    return { accounts, problems };
  }

  async load(accountId: string): Promise<StoredAccount | null> {
    await this.init();
    const { rows } = await this.query<{ data: unknown }>(`SELECT data FROM ${this.tables.accounts} WHERE account_id = $1`, [accountId]);
    const row = rows[0];
    if (!row) return null;
    const parsed = this.parseRow(row.data);
    return parsed.ok ? { credential: parsed.credential, location: this.location(accountId) } : null;
  }

  /** Saves (sealing the tokens when a key is set). Refuses to replace a row whose tokens this process cannot decrypt. */
  async save(credential: Credential): Promise<string> {
    const checked = credentialSchema.parse(credential) as Credential;
    await this.init();
    const { rows } = await this.query<{ data: { sealed?: unknown } }>(`SELECT data FROM ${this.tables.accounts} WHERE account_id = $1`, [checked.accountId]);
    const existing = rows[0]?.data;
    if (existing?.sealed !== undefined && !canOpen(this.crypto, existing.sealed, checked.accountId)) {
      throw new StoreKeyError('wrong-key', `Refusing to overwrite ${this.location(checked.accountId)}: its tokens are encrypted with a key this process does not have (store.encryption-key / CLIPROXY_STORE_KEY)`);
    }
    await this.query(
      `WITH up AS (
         INSERT INTO ${this.tables.accounts} (account_id, data, updated_at) VALUES ($1, $2, now())
         ON CONFLICT (account_id) DO UPDATE SET data = EXCLUDED.data, updated_at = now()
         RETURNING account_id)
       SELECT pg_notify($3, account_id) FROM up`,
      [checked.accountId, JSON.stringify(this.toRow(checked)), this.channel],
    );
    return this.location(checked.accountId);
  }

  async remove(accountId: string): Promise<string[]> {
    await this.init();
    const res = await this.query(`DELETE FROM ${this.tables.accounts} WHERE account_id = $1`, [accountId]);
    await this.query(`DELETE FROM ${this.tables.state} WHERE account_id = $1`, [accountId]);
    if (res.rowCount) await this.query('SELECT pg_notify($1, $2)', [this.channel, accountId]);
    return (res.rowCount ?? 0) > 0 ? [this.location(accountId)] : [];
  }

  /** Writes the cooldown (unless a longer one is already stored) and notifies every instance. */
  async publishCooldown(c: SharedCooldown): Promise<void> {
    await this.init();
    await this.query(
      `WITH up AS (
         INSERT INTO ${this.tables.state} AS s (account_id, cooldown_until, cooldown_reason, set_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id) DO UPDATE SET cooldown_until = EXCLUDED.cooldown_until, cooldown_reason = EXCLUDED.cooldown_reason, set_at = EXCLUDED.set_at
         WHERE s.cooldown_until < EXCLUDED.cooldown_until
         RETURNING account_id)
       SELECT pg_notify($5, $6) FROM up`,
      [c.accountId, c.until, c.reason, c.setAt, this.cooldownChannel, JSON.stringify(c)],
    );
  }

  async listCooldowns(now: number): Promise<SharedCooldown[]> {
    await this.init();
    const { rows } = await this.query<{ account_id: string; cooldown_until: string; cooldown_reason: string; set_at: string }>(
      `SELECT account_id, cooldown_until, cooldown_reason, set_at FROM ${this.tables.state} WHERE cooldown_until > $1`,
      [now],
    );
    return rows.map((r) => ({ accountId: r.account_id, until: Number(r.cooldown_until), reason: r.cooldown_reason, setAt: Number(r.set_at) }));
  }

  isAvailable(): boolean {
    return this.available;
  }

  onAvailability(cb: (available: boolean) => void): () => void {
    this.availabilityListeners.add(cb);
    return () => this.availabilityListeners.delete(cb);
  }

  watch(onChange: () => void, onCooldown?: (c: SharedCooldown) => void): () => void {
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
    const onNotification = (n: pg.Notification) => {
      if (n.channel !== this.cooldownChannel) return fire();
      if (!onCooldown || stopped) return;
      const c = parseCooldown(n.payload);
      if (c) onCooldown(c);
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
      const drop = (err?: unknown) => {
        if (dropped) return;
        dropped = true;
        if (client === c) client = null;
        c.removeAllListeners('notification');
        c.end().catch(() => undefined);
        if (!stopped) this.markUnavailable(err ?? new Error('the notification connection closed'));
        retry();
      };
      c.on('error', drop);
      c.on('end', () => drop());
      c.on('notification', onNotification);
      try {
        await this.init();
        await c.connect();
        await c.query(`LISTEN "${this.channel}"; LISTEN "${this.cooldownChannel}"`);
      } catch (err) {
        drop(err);
        return;
      }
      if (dropped) return;
      if (stopped) {
        dropped = true;
        c.end().catch(() => undefined);
        return;
      }
      client = c;
      this.markAvailable();
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
      const key = `cliproxy:${this.tables.schema === 'public' ? '' : `${this.tables.schema}.`}${this.tables.table}:${accountId}`;
      const client = await this.track(this.acquireAdvisoryLock(key));
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
    this.availabilityListeners.clear();
    await this.lockPool.end();
    if (this.ownsPool) await this.pool.end();
  }

  private location(accountId: string): string {
    return `${this.tables.table}/${accountId}`;
  }

  /** A query on the shared pool, tracked for availability. */
  private query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.track(this.pool.query<R>(text, values));
  }

  /** Marks the store unavailable when `p` fails for a connection reason, available when it succeeds. */
  private async track<T>(p: Promise<T>): Promise<T> {
    try {
      const v = await p;
      this.markAvailable();
      return v;
    } catch (err) {
      if (isConnectionError(err)) this.markUnavailable(err);
      throw err;
    }
  }

  private markUnavailable(err: unknown): void {
    if (!this.available) return;
    this.available = false;
    this.unavailableSince = Date.now();
    this.log.error(
      { store: this.description, err: scrubText(err instanceof Error ? err.message : String(err)) },
      'PostgreSQL is unreachable: serving with the tokens held; accounts that need a refresh wait until it is back (reconnecting with backoff)',
    );
    for (const cb of [...this.availabilityListeners]) cb(false);
  }

  private markAvailable(): void {
    if (this.available) return;
    this.available = true;
    this.log.info({ store: this.description, downMs: Date.now() - this.unavailableSince }, 'PostgreSQL is reachable again');
    for (const cb of [...this.availabilityListeners]) cb(true);
  }

  /** The jsonb written for a credential: its tokens sealed when a key is set. */
  private toRow(c: Credential): Record<string, unknown> {
    const seal = this.crypto.seal;
    if (!seal) return { ...c };
    const { idToken: _i, accessToken: _a, refreshToken: _r, ...rest } = c;
    void _i;
    void _a;
    void _r;
    return { ...rest, sealed: seal.seal(c, c.accountId) };
  }

  private parseRow(data: unknown): { ok: true; credential: Credential } | { ok: false; reason: string; locked?: LockedMeta } {
    const sealed = (data as { sealed?: unknown } | null)?.sealed;
    if (sealed !== undefined) {
      const meta = sealedRowSchema.safeParse(data);
      if (!meta.success) return { ok: false, reason: invalidRow(meta.error) };
      try {
        const t = openEnvelope(this.crypto, sealed, meta.data.accountId);
        const { sealed: _s, ...rest } = meta.data;
        void _s;
        return parsePlain({ ...rest, ...t });
      } catch (err) {
        if (!(err instanceof StoreKeyError)) throw err;
        const m = meta.data;
        return { ok: false, reason: err.message, locked: { accountId: m.accountId, email: m.email, planType: m.planType, expiresAt: m.expiresAt } };
      }
    }
    return parsePlain(data);
  }
}

function parsePlain(data: unknown): { ok: true; credential: Credential } | { ok: false; reason: string } {
  const parsed = credentialSchema.safeParse(data);
  if (parsed.success) return { ok: true, credential: parsed.data as Credential };
  return { ok: false, reason: invalidRow(parsed.error) };
}

function invalidRow(error: z.ZodError): string {
  const issue = error.issues[0];
  return `invalid account row: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown problem'}`;
}

function parseCooldown(payload: string | undefined): SharedCooldown | null {
  try {
    const j = JSON.parse(payload ?? '') as Partial<SharedCooldown>;
    if (typeof j.accountId !== 'string' || typeof j.until !== 'number' || typeof j.reason !== 'string' || typeof j.setAt !== 'number') return null;
    return { accountId: j.accountId, until: j.until, reason: j.reason, setAt: j.setAt };
  } catch {
    return null;
  }
}

/** A failure to reach the database (as opposed to a query the database refused). */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  const code = e?.code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
  // 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now
  if (/^08/.test(code) || /^57P0[123]$/.test(code)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(e?.message ?? '');
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
