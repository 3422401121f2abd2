import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresAccountStore } from '../../src/accounts/postgres-store.js';
import { createRuntime } from '../../src/app/runtime.js';
import { credentialFromTokens } from '../../src/auth/credential-from-tokens.js';
import { loadConfig } from '../../src/config/load.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { testPostgresUrl } from '../support/postgres-url.js';

// PostgreSQL: the embedded server the global setup starts, or CLIPROXY_TEST_POSTGRES_URL.
const URL = testPostgresUrl();
const TABLE = `runtime_pg_${process.pid}`;

let sandbox: Sandbox;
let dir: string;
beforeAll(async () => {
  sandbox = await startSandbox({ quiet: true });
  dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-runtime-pg-'));
});
afterAll(async () => {
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  await client.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await client.end();
});

describe('createRuntime with store.type postgres', () => {
  it('loads the accounts of the PostgreSQL table, not the (empty) auth dir', async () => {
    const minted = sandbox.mintAccount({ email: 'runtime-pg@example.com' });
    const tokens = { idToken: minted.idToken, accessToken: minted.accessToken, refreshToken: minted.refreshToken, tokenType: 'Bearer', expiresIn: minted.expiresIn };
    const seed = new PostgresAccountStore({ connectionString: URL, table: TABLE });
    try {
      await seed.save(credentialFromTokens(tokens, 'import', Date.now()));
    } finally {
      await seed.close();
    }

    const config = loadConfig({ env: {}, cwd: dir, flags: { authDir: dir, host: '127.0.0.1', port: 0 } });
    config.codex.issuer = sandbox.issuer;
    config.codex.baseUrl = sandbox.baseUrl;
    config.store = { type: 'postgres', postgresUrl: URL, postgresTable: TABLE, postgresSchema: 'public' };

    const runtime = await createRuntime(config);
    try {
      expect(runtime.store).toBeInstanceOf(PostgresAccountStore);
      expect(runtime.store.description).toContain(TABLE);
      expect(runtime.pool.size()).toEqual({ total: 1, usable: 1 });
      expect(runtime.pool.snapshot().map((a) => a.email)).toEqual(['runtime-pg@example.com']);
    } finally {
      await runtime.close();
    }
  });
});
