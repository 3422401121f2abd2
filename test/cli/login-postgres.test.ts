import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { fakeCli } from '../auth/cli-context.js';
import { testPostgresUrl } from '../support/postgres-url.js';

// PostgreSQL: the embedded server the global setup starts, or CLIPROXY_TEST_POSTGRES_URL.
const URL = testPostgresUrl();
const TABLE = `login_cli_${process.pid}`;

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ quiet: true, deviceIntervalSeconds: 1, autoApprove: true });
});
afterAll(async () => {
  await sandbox.close();
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  await client.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await client.end();
});

describe('login / status / logout with store.type postgres', () => {
  it('saves the login as a row and the other commands see it', async () => {
    const cli = await fakeCli({ env: { CLIPROXY_CODEX_ISSUER: sandbox.issuer, CLIPROXY_STORE: 'postgres', CLIPROXY_POSTGRES_URL: URL } });
    const config = path.join(cli.home, 'config.yaml');
    await writeFile(config, `store:\n  postgres-table: ${TABLE}\n`);
    sandbox.queueAccount({ email: 'pg@example.com', accountId: 'acc-pg' });
    expect(await cli.run(['-codex-device-login', '-config', config])).toBe(0);
    expect(cli.stdout.text()).toMatch(/Authentication saved to .+\nCodex device authentication successful!\n$/);

    const status = await fakeCli({ env: cli.ctx.env as Record<string, string> });
    expect(await status.run(['login', 'status', '--config', config])).toBe(0);
    expect(status.stdout.text()).toBe('Logged in using ChatGPT (1 account)\n');

    const logout = await fakeCli({ env: cli.ctx.env as Record<string, string> });
    expect(await logout.run(['logout', 'pg@example.com', '--config', config])).toBe(0);
    expect(logout.stdout.text()).toMatch(/^Logged out pg@example.com/);

    const after = await fakeCli({ env: cli.ctx.env as Record<string, string> });
    expect(await after.run(['login', 'status', '--config', config])).toBe(1);
  });

  it('fails before the sign-in when the database cannot be reached', async () => {
    const unreachable = 'postgres://postgres@127.0.0.1:1/test';
    const cli = await fakeCli({ env: { CLIPROXY_CODEX_ISSUER: sandbox.issuer, CLIPROXY_STORE: 'postgres', CLIPROXY_POSTGRES_URL: unreachable } });
    sandbox.resetStats();
    expect(await cli.run(['login', '--device-auth'])).toBe(1);
    expect(cli.stderr.text()).toMatch(/Cannot prepare PostgreSQL table .*ECONNREFUSED/);
    expect(cli.stdout.text()).toBe('');
    expect(cli.stderr.text().trim().split('\n')).toHaveLength(1); // the error alone: no sign-in prompt was shown
  });
});
