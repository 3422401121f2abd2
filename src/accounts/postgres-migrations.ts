import type pg from 'pg';
import type { Logger } from './logger.js';

/**
 * Schema versioning of the PostgreSQL store. `<table>_migrations` records every migration
 * applied (version, name, time). Start-up takes a session advisory lock for the table, creates
 * the schema when it is absent, applies the pending migrations (each in a transaction with its
 * row) and releases the lock: instances starting together migrate once, the others wait and
 * find nothing to do. A database migrated by a newer cliproxy is refused.
 */
export interface StoreTables {
  schema: string;
  table: string;
  /** Quoted, schema-qualified names. */
  accounts: string;
  state: string;
  migrations: string;
  usage: string;
}

interface Migration {
  version: number;
  name: string;
  sql(t: StoreTables): string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts table',
    // IF NOT EXISTS: tables created before migrations existed are adopted as they are
    sql: (t) => `CREATE TABLE IF NOT EXISTS ${t.accounts} (
        account_id text PRIMARY KEY,
        data jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`,
  },
  {
    version: 2,
    name: 'shared account state (cooldowns)',
    sql: (t) => `CREATE TABLE IF NOT EXISTS ${t.state} (
        account_id text PRIMARY KEY,
        cooldown_until bigint NOT NULL,
        cooldown_reason text NOT NULL,
        set_at bigint NOT NULL
      )`,
  },
  {
    version: 3,
    name: 'usage history',
    // the same table server/usage/postgres-persistence.ts writes (it creates it too, for stores without migrations)
    sql: (t) => `CREATE TABLE IF NOT EXISTS ${t.usage} (
        bucket_start bigint NOT NULL, account_id text NOT NULL, model text NOT NULL,
        requests bigint NOT NULL, input_tokens bigint NOT NULL, output_tokens bigint NOT NULL, errors bigint NOT NULL,
        PRIMARY KEY (bucket_start, account_id, model)
      )`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Applies what is pending; returns the versions this call applied. */
export async function applyMigrations(pool: pg.Pool, t: StoreTables, log: Logger): Promise<number[]> {
  const client = await pool.connect();
  const lockKey = `cliproxy:migrate:${t.schema}.${t.table}`;
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${t.schema}"`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${t.migrations} (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${t.migrations}`);
      const done = new Set(rows.map((r) => r.version));
      const newest = Math.max(0, ...done);
      if (newest > SCHEMA_VERSION) {
        throw new Error(`the database schema is at version ${newest}, newer than this cliproxy knows (${SCHEMA_VERSION}): upgrade cliproxy`);
      }
      const applied: number[] = [];
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql(t));
          await client.query(`INSERT INTO ${t.migrations} (version, name) VALUES ($1, $2)`, [m.version, m.name]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
        applied.push(m.version);
        log.info({ schema: t.schema, table: t.table, version: m.version, migration: m.name }, `Applied PostgreSQL migration ${m.version} (${m.name})`);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]).catch((err: Error) => {
        broken = err;
      });
    }
  } catch (err) {
    broken ??= err as Error;
    throw err;
  } finally {
    // a connection that failed is closed (its session, and any lock it held, end with it)
    client.release(broken ?? false);
  }
}
