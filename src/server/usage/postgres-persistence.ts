/**
 * Usage history in PostgreSQL, next to the accounts: table `<store.postgres-table>_usage`, one
 * row per 5-minute bucket, account and model. Instances sharing the database add their
 * increments to the same rows (upsert), so the table holds the sum over every instance.
 */
import pg from 'pg';
import type { UsageBucket, UsagePersistence } from './tracker.js';
import { DAY_MS } from './tracker.js';
import type { Clock } from '../../util/clock.js';

export class PostgresUsagePersistence implements UsagePersistence {
  readonly description: string;
  private readonly pool: pg.Pool;
  private readonly table: string;
  private readonly clock: Clock;
  private ready: Promise<void> | null = null;

  constructor(opts: { connectionString: string; accountsTable: string; schema?: string; clock: Clock }) {
    // in the accounts' schema (store.postgres-schema / PGSTORE_SCHEMA), where the store's migrations create it
    this.table = `"${opts.schema ?? 'public'}"."${opts.accountsTable}_usage"`;
    this.description = `PostgreSQL table ${this.table}`;
    this.pool = new pg.Pool({ connectionString: opts.connectionString, max: 1, connectionTimeoutMillis: 10_000 });
    // an idle connection the server drops must not crash the process
    this.pool.on('error', () => undefined);
    this.clock = opts.clock;
  }

  private init(): Promise<void> {
    this.ready ??= this.pool
      .query(
        `CREATE TABLE IF NOT EXISTS ${this.table} (
          bucket_start bigint NOT NULL, account_id text NOT NULL, model text NOT NULL,
          requests bigint NOT NULL, input_tokens bigint NOT NULL, output_tokens bigint NOT NULL, errors bigint NOT NULL,
          PRIMARY KEY (bucket_start, account_id, model))`,
      )
      .then(() => undefined)
      .catch((err: unknown) => {
        this.ready = null;
        throw err;
      });
    return this.ready;
  }

  async load(): Promise<UsageBucket[]> {
    await this.init();
    const { rows } = await this.pool.query<Record<string, string>>(
      `SELECT bucket_start, account_id, model, requests, input_tokens, output_tokens, errors FROM ${this.table} WHERE bucket_start >= $1`,
      [this.clock.now() - DAY_MS],
    );
    return rows.map((r) => ({
      start: Number(r.bucket_start),
      accountId: r.account_id!,
      model: r.model!,
      requests: Number(r.requests),
      inputTokens: Number(r.input_tokens),
      outputTokens: Number(r.output_tokens),
      errors: Number(r.errors),
    }));
  }

  async save(_all: UsageBucket[], increments: UsageBucket[]): Promise<void> {
    await this.init();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      for (const b of increments) {
        await client.query(
          `INSERT INTO ${this.table} (bucket_start, account_id, model, requests, input_tokens, output_tokens, errors)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (bucket_start, account_id, model) DO UPDATE SET
             requests = ${this.table}.requests + EXCLUDED.requests,
             input_tokens = ${this.table}.input_tokens + EXCLUDED.input_tokens,
             output_tokens = ${this.table}.output_tokens + EXCLUDED.output_tokens,
             errors = ${this.table}.errors + EXCLUDED.errors`,
          [b.start, b.accountId, b.model, b.requests, b.inputTokens, b.outputTokens, b.errors],
        );
      }
      await client.query(`DELETE FROM ${this.table} WHERE bucket_start < $1`, [this.clock.now() - 2 * DAY_MS]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
