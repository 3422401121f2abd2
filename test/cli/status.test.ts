import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { MemoryAccountStore } from '../../src/accounts/memory-store.js';
import { credentialToFileObject } from '../../src/accounts/credential-file.js';
import { collectStatusRows, renderStatusTable } from '../../src/cli/status.js';
import { fakeCli } from '../auth/cli-context.js';
import { fakeJwt, makeCredential } from '../auth/helpers.js';
import { ManualClock } from '../../src/util/clock.js';

const NOW = Date.UTC(2026, 5, 1);

async function populated(): Promise<{ dir: string; files: Record<string, string> }> {
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'status-')), 'auth');
  const store = new FileAccountStore({ dir });
  const files: Record<string, string> = {};
  files.ready = await store.save(makeCredential({ accountId: 'a-ready', email: 'ready@example.com', expiresAt: NOW + 3_600_000, lastRefresh: NOW - 60_000 }));
  files.expired = await store.save(makeCredential({ accountId: 'a-exp', email: 'expired@example.com', planType: 'pro', expiresAt: NOW - 1000 }));
  files.needs = await store.save(
    makeCredential({ accountId: 'a-nl', email: 'needs@example.com', needsLogin: { reason: 'refresh_token_reused', at: NOW - 5000 } }),
  );
  files.disabled = await store.save(makeCredential({ accountId: 'a-dis', email: 'disabled@example.com', disabled: true }));
  files.go = path.join(dir, 'codex-0badc0de-go@example.com-team.json');
  await writeFile(
    files.go,
    JSON.stringify({
      type: 'codex',
      id_token: fakeJwt({ email: 'go@example.com', accountId: 'a-go', plan: 'team' }),
      access_token: fakeJwt({ accountId: 'a-go', exp: (NOW + 7_200_000) / 1000 }),
      refresh_token: 'rt_go_000000000000000',
      last_refresh: '2026-05-31T00:00:00Z',
    }),
    { mode: 0o600 },
  );
  files.corrupt = path.join(dir, 'codex-corrupt.json');
  await writeFile(files.corrupt, '{"type":"codex","access_token":"abc"', { mode: 0o600 });
  return { dir, files };
}

describe('status rows', () => {
  it('collects one row per account plus corrupt files, with states and no secrets', async () => {
    const { dir, files } = await populated();
    const rows = await collectStatusRows(new FileAccountStore({ dir }), NOW);
    const byFile = Object.fromEntries(rows.map((r) => [r.file, r]));
    expect(byFile[files.ready!]).toEqual({
      email: 'ready@example.com',
      plan: 'plus',
      accountId: 'a-ready',
      file: files.ready,
      expiresAt: new Date(NOW + 3_600_000).toISOString(),
      state: 'ready',
      detail: null,
      lastRefresh: new Date(NOW - 60_000).toISOString(),
    });
    expect(byFile[files.expired!]).toMatchObject({ state: 'expired', detail: 'refreshable', plan: 'pro' });
    expect(byFile[files.needs!]).toMatchObject({ state: 'needs-login', detail: 'refresh_token_reused' });
    expect(byFile[files.disabled!]).toMatchObject({ state: 'disabled' });
    expect(byFile[files.go!]).toMatchObject({ state: 'ready', email: 'go@example.com', plan: 'team', accountId: 'a-go', lastRefresh: '2026-05-31T00:00:00.000Z' });
    expect(byFile[files.corrupt!]).toMatchObject({ state: 'corrupt', email: null, detail: expect.stringMatching(/^not valid JSON/) });
    expect(JSON.stringify(rows)).not.toMatch(/rt_|eyJ/);

    const table = renderStatusTable(rows).split('\n');
    expect(table[0]).toMatch(/^EMAIL\s+PLAN\s+STATE\s+EXPIRES\s+LAST REFRESH\s+FILE$/);
    expect(table).toHaveLength(rows.length + 1);
    expect(table.find((l) => l.startsWith('needs@example.com'))).toContain('needs-login (refresh_token_reused)');
    expect(table.find((l) => l.startsWith('expired@example.com'))).toContain('expired (refreshable)');
    expect(table.find((l) => l.includes('codex-corrupt.json'))).toMatch(/^-\s+-\s+corrupt \(not valid JSON/);
    const withLive = renderStatusTable([{ ...rows[0]!, live: { requests: 3 } }]);
    expect(withLive.split('\n')[0]).toMatch(/LIVE$/);
    expect(withLive).toContain('requests=3');
  });
});

describe('status rows of problem entries', () => {
  it('take corrupt or duplicate from the problem kind, not from the wording of the reason', async () => {
    const store = new MemoryAccountStore({ accounts: [makeCredential({ accountId: 'a-1', email: 'one@example.com', expiresAt: NOW + 60_000 })] });
    store.setProblems([
      { location: '/auth/codex-copy.json', reason: 'second file for one@example.com; ignored', kind: 'duplicate' },
      { location: '/auth/codex-bad.json', reason: 'duplicate-looking words in a corrupt file', kind: 'corrupt' },
    ]);
    const rows = await collectStatusRows(store, NOW);
    expect(rows.map((r) => [path.basename(r.file), r.state])).toEqual([
      ['memory:a-1', 'ready'],
      ['codex-bad.json', 'corrupt'],
      ['codex-copy.json', 'duplicate'],
    ]);
  });

  it('a duplicate file in an auth dir is shown as duplicate', async () => {
    const { dir } = await populated();
    await writeFile(
      path.join(dir, 'codex-ready-copy.json'),
      JSON.stringify(credentialToFileObject(makeCredential({ accountId: 'a-ready', email: 'ready@example.com', lastRefresh: NOW - 3_600_000 }))),
      { mode: 0o600 },
    );
    const rows = await collectStatusRows(new FileAccountStore({ dir }), NOW);
    expect(rows.find((r) => r.file.endsWith('codex-ready-copy.json'))).toMatchObject({ state: 'duplicate', detail: expect.stringMatching(/^duplicate of account ready@example.com/) });
  });
});

describe('cliproxy status / login status', () => {
  it('status prints the table; --json the rows; the corrupt file is left byte-identical', async () => {
    const { dir, files } = await populated();
    const before = await readFile(files.corrupt!);
    const cli = await fakeCli({ clock: new ManualClock(NOW) });
    expect(await cli.run(['status', '-auth-dir', dir])).toBe(0);
    const lines = cli.stdout.text().trimEnd().split('\n');
    expect(lines[0]).toBe(`Auth dir: ${dir}`);
    expect(lines[1]).toMatch(/^EMAIL/);
    expect(lines).toHaveLength(2 + 6);

    const json = await fakeCli({ clock: new ManualClock(NOW) });
    expect(await json.run(['status', '--json', '--auth-dir', dir])).toBe(0);
    const parsed = JSON.parse(json.stdout.text()) as { authDir: string; accounts: Array<{ state: string }> };
    expect(parsed.authDir).toBe(dir);
    expect(parsed.accounts.map((a) => a.state).sort()).toEqual(['corrupt', 'disabled', 'expired', 'needs-login', 'ready', 'ready'].sort());
    expect(await readFile(files.corrupt!)).toEqual(before);
  });

  it('status on an empty dir says how to sign in', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'status-empty-'));
    const cli = await fakeCli();
    expect(await cli.run(['status', '--auth-dir', dir])).toBe(0);
    expect(cli.stdout.text()).toBe(`No accounts in ${dir}. Sign in with: cliproxy login (or cliproxy login --device-auth)\n`);
  });

  it('login status counts usable accounts (exit 0), or says Not logged in (exit 1)', async () => {
    const { dir } = await populated();
    const cli = await fakeCli();
    expect(await cli.run(['login', 'status', '--auth-dir', dir])).toBe(0);
    expect(cli.stdout.text()).toBe('Logged in using ChatGPT (3 accounts)\n'); // ready, expired (refreshable), CLIProxyAPI file

    const one = path.join(await mkdtemp(path.join(tmpdir(), 'status-one-')), 'auth');
    await new FileAccountStore({ dir: one }).save(makeCredential());
    const cli1 = await fakeCli();
    expect(await cli1.run(['login', 'status', '-auth-dir', one])).toBe(0);
    expect(cli1.stdout.text()).toBe('Logged in using ChatGPT (1 account)\n');

    const empty = await fakeCli();
    expect(await empty.run(['login', 'status', '--auth-dir', path.join(one, 'missing')])).toBe(1);
    expect(empty.stdout.text()).toBe('Not logged in\n');

    const onlyBroken = path.join(await mkdtemp(path.join(tmpdir(), 'status-nl-')), 'auth');
    await new FileAccountStore({ dir: onlyBroken }).save(makeCredential({ needsLogin: { reason: 'refresh_token_expired', at: NOW } }));
    const nl = await fakeCli();
    expect(await nl.run(['login', 'status', '--auth-dir', onlyBroken])).toBe(1);
    expect(nl.stdout.text()).toBe('Not logged in\n');
  });
});
