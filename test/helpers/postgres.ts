import pg from 'pg';
import { testPostgresUrl } from '../support/postgres-url.js';

/** The test database: the embedded server the global setup starts, or CLIPROXY_TEST_POSTGRES_URL. */
export const TEST_POSTGRES_URL = testPostgresUrl();

let seq = 0;

/** A schema name no other test uses (it does not exist yet: the store creates it). */
export function uniqueSchema(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now() % 1_000_000}_${seq++}`;
}

/** Runs one statement on the test database (fails with what to do when PostgreSQL is not there). */
export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`Cannot reach the test PostgreSQL (CLIPROXY_TEST_POSTGRES_URL): ${(err as Error).message}`);
  }
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
