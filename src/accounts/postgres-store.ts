import pg from 'pg';
import { z } from 'zod';
import type { Credential } from './credential.js';
import type { AccountStore, LoadProblem, StoredAccount, StoreListing } from './store.js';

/**
 * Accounts in PostgreSQL, for several cliproxy instances sharing one set of accounts.
 * - One row per account (jsonb), keyed by account_id.
 * - withRefreshLock holds a session-level advisory lock on a dedicated connection, so only
 *   one process refreshes an account at a time (refresh tokens are single-use).
 * - watch() uses LISTEN/NOTIFY: every save/remove notifies, in this process and in others.
 */
export interface PostgresStoreOptions {
  connectionString?: string;
  /** An existing pool (tests, or an application that already has one). */
  pool?: pg.Pool;
  /** Table name; letters, digits and underscores only. */
  table?: string;
  watchDebounceMs?: number;
}

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
  private readonly table: string;
  private readonly channel: string;
  private readonly debounceMs: number;
  private ready: Promise<void> | null = null;
  private readonly localLocks = new Map<string, Promise<unknown>>();

  constructor(opts: PostgresStoreOptions) {
    const table = opts.table ?? 'cliproxy_accounts';
    if (!IDENT.test(table)) throw new Error(`Invalid PostgreSQL table name "${table}": use lowercase letters, digits and underscores`);
    if (!opts.pool && !opts.connectionString) throw new Error('PostgreSQL store needs a connection string (store.postgres-url or CLIPROXY_POSTGRES_URL)');
    this.pool = opts.pool ?? new pg.Pool({ connectionString: opts.connectionString, max: 4 });
    this.ownsPool = !opts.pool;
    this.table = table;
    this.channel = `${table}_changed`;
    this.debounceMs = opts.watchDebounceMs ?? 100;
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
      else problems.push({ location, reason: parsed.reason });
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

  async remove(accountId: string): Promise<boolean> {
    await this.init();
    const res = await this.pool.query(`DELETE FROM ${this.table} WHERE account_id = $1`, [accountId]);
    if (res.rowCount) await this.notify(accountId);
    return (res.rowCount ?? 0) > 0;
  }

  watch(onChange: () => void): () => void {
    let stopped = false;
    let client: pg.PoolClient | null = null;
    let timer: NodeJS.Timeout | null = null;
    const fire = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        if (!stopped) onChange();
      }, this.debounceMs);
      timer.unref();
    };
    void (async () => {
      await this.init();
      const c = await this.pool.connect();
      if (stopped) {
        c.release();
        return;
      }
      client = c;
      c.on('notification', fire);
      await c.query(`LISTEN ${this.channel}`);
    })().catch(() => {
      /* watching is best effort: list() still sees every change */
    });
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = null;
      if (c) {
        c.removeAllListeners('notification');
        c.query(`UNLISTEN ${this.channel}`).finally(() => c.release());
      }
    };
  }

  async withRefreshLock<T>(accountId: string, fn: () => Promise<T>): Promise<T> {
    // in-process queue first, so one process holds at most one connection per account
    const previous = this.localLocks.get(accountId) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const chained = previous.then(() => mine);
    this.localLocks.set(accountId, chained);
    await previous.catch(() => undefined);
    try {
      await this.init();
      const client = await this.pool.connect();
      const key = `cliproxy:${this.table}:${accountId}`;
      try {
        await client.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
        try {
          return await fn();
        } finally {
          await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
        }
      } finally {
        client.release();
      }
    } finally {
      release();
      if (this.localLocks.get(accountId) === chained) this.localLocks.delete(accountId);
    }
  }

  async close(): Promise<void> {
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
