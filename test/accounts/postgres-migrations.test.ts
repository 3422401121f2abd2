import { afterEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/accounts/postgres-migrations.js';
import { PostgresAccountStore } from '../../src/accounts/postgres-store.js';
import { adminQuery, dropSchema, TEST_POSTGRES_URL, uniqueSchema } from '../helpers/postgres.js';

const schemas: string[] = [];
const stores: PostgresAccountStore[] = [];
function store(schema: string): PostgresAccountStore {
  const s = new PostgresAccountStore({ connectionString: TEST_POSTGRES_URL, schema });
  stores.push(s);
  return s;
}
function fresh(): string {
  const s = uniqueSchema('migr');
  schemas.push(s);
  return s;
}
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const s of schemas.splice(0)) await dropSchema(s);
});

describe('PostgreSQL schema versioning', () => {
  it('creates the schema and applies each migration once, even when several stores start at the same moment', async () => {
    const schema = fresh();
    await Promise.all([store(schema).init(), store(schema).init(), store(schema).init(), store(schema).init()]);
    const rows = await adminQuery<{ version: number; name: string }>(`SELECT version, name FROM "${schema}".cliproxy_accounts_migrations ORDER BY version`);
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    expect(rows[0]!.name).toBe('accounts table');
  });

  it('adopts an accounts table made before migrations existed, keeping its rows', async () => {
    const schema = fresh();
    await adminQuery(`CREATE SCHEMA "${schema}"`);
    await adminQuery(`CREATE TABLE "${schema}".cliproxy_accounts (account_id text PRIMARY KEY, data jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
    const row = { accountId: 'old-1', email: 'old@example.com', planType: 'plus', idToken: '', accessToken: 'a', refreshToken: 'r', tokenType: 'Bearer', expiresAt: null, lastRefresh: null, authMethod: 'import', disabled: false };
    await adminQuery(`INSERT INTO "${schema}".cliproxy_accounts (account_id, data) VALUES ('old-1', $1)`, [JSON.stringify(row)]);
    const { accounts } = await store(schema).list();
    expect(accounts.map((a) => a.credential.email)).toEqual(['old@example.com']);
  });

  it('refuses a database migrated by a newer cliproxy', async () => {
    const schema = fresh();
    await store(schema).init();
    await adminQuery(`INSERT INTO "${schema}".cliproxy_accounts_migrations (version, name) VALUES (999, 'from the future')`);
    await expect(store(schema).list()).rejects.toThrow(/schema is at version 999, newer than this cliproxy knows .*upgrade cliproxy/);
  });
});
