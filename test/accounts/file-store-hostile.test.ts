/**
 * Auth-dir states an unlucky operator (or another local user) can leave behind: a FIFO named
 * like a token file (used to hang serve/status/login status, SIGTERM included), a FIFO where a
 * lock file goes, and an auth dir that group or others can access (tightened to 0700 with a
 * warning, refused when it cannot be tightened).
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { serializeCredential } from '../../src/accounts/credential-file.js';
import { observeLock } from '../../src/accounts/lock-file.js';
import { main } from '../../src/cli/main.js';
import { captureContext } from '../helpers/cli-context.js';
import { makeCredential } from './pool-helpers.js';
import { NotRegularFileError, readRegularFile, readRegularFileSync } from '../../src/util/regular-file.js';

/** Fails the test instead of hanging it. */
function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} still running after ${ms} ms`)), ms))]);
}

function mkfifo(file: string): void {
  execFileSync('mkfifo', [file]);
}

async function dirWithFifo(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-fifo-'));
  await new FileAccountStore({ dir }).save(makeCredential({ accountId: 'acc-ok', now: Date.now() }));
  mkfifo(path.join(dir, 'codex-fifo.json'));
  return dir;
}

describe('a FIFO in the auth dir', () => {
  it('is reported as not a regular file and skipped; the other accounts load', async () => {
    const dir = await dirWithFifo();
    const listing = await within(3000, new FileAccountStore({ dir }).list(), 'list()');
    expect(listing.accounts.map((a) => a.credential.accountId)).toEqual(['acc-ok']);
    expect(listing.problems).toEqual([{ location: path.join(dir, 'codex-fifo.json'), reason: expect.stringMatching(/not a regular file/), kind: 'corrupt' }]);
  });

  it('is skipped by later scans too (they read through the thread pool, the first one directly)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-fifo-later-'));
    const store = new FileAccountStore({ dir });
    await store.save(makeCredential({ accountId: 'acc-ok', now: Date.now() }));
    expect((await store.list()).problems).toEqual([]);
    mkfifo(path.join(dir, 'codex-fifo.json'));
    const listing = await within(3000, store.list(), 'second list()');
    expect(listing.accounts.map((a) => a.credential.accountId)).toEqual(['acc-ok']);
    expect(listing.problems).toEqual([{ location: path.join(dir, 'codex-fifo.json'), reason: expect.stringMatching(/not a regular file/), kind: 'corrupt' }]);
  });

  it('readRegularFile and readRegularFileSync refuse one without waiting for a writer; a regular file is read', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-fifo-read-'));
    const fifo = path.join(dir, 'f');
    mkfifo(fifo);
    expect(() => readRegularFileSync(fifo)).toThrow(NotRegularFileError);
    await expect(within(3000, readRegularFile(fifo), 'readRegularFile')).rejects.toThrow(/a FIFO/);
    const file = path.join(dir, 'r.json');
    writeFileSync(file, '{"é":1}');
    expect(readRegularFileSync(file)).toBe('{"é":1}');
    expect(await readRegularFile(file)).toBe('{"é":1}');
  });

  it('status --offline and login status finish', async () => {
    const dir = await dirWithFifo();
    const status = captureContext({ env: {}, cwd: dir });
    expect(await within(5000, main(['status', '--offline', '--auth-dir', dir], status), 'status --offline')).toBe(0);
    expect(status.out()).toContain('not a regular file');
    const login = captureContext({ env: {}, cwd: dir });
    expect(await within(5000, main(['login', 'status', '--auth-dir', dir], login), 'login status')).toBe(0);
    expect(login.out()).toContain('Logged in using ChatGPT (1 account');
  });

  it('a FIFO where a refresh lock goes is observed without blocking', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-fifo-lock-'));
    const lock = path.join(dir, 'x.lock');
    mkfifo(lock);
    const seen = await within(3000, observeLock(lock), 'observeLock');
    expect(seen?.holder).toBeNull();
  });
});

describe('an auth dir others can access', () => {
  for (const mode of [0o755, 0o777, 0o750]) {
    it(`mode ${mode.toString(8)} is tightened to 0700 with a warning`, async () => {
      const dir = path.join(mkdtempSync(path.join(tmpdir(), 'cliproxy-mode-')), 'auth');
      mkdirSync(dir);
      chmodSync(dir, mode);
      const warnings: string[] = [];
      await new FileAccountStore({ dir, onWarning: (m) => warnings.push(m) }).list();
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`mode 0${mode.toString(8)}`);
      expect(warnings[0]).toContain('tightened it to 0700');
    });
  }

  it('the CLI prints the warning on stderr', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'cliproxy-mode-')), 'auth');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    const ctx = captureContext({ env: {}, cwd: dir });
    await main(['status', '--offline', '--auth-dir', dir], ctx);
    expect(ctx.err()).toContain(`Warning: The auth directory ${dir} was accessible to other users (mode 0755); tightened it to 0700`);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('one that cannot be tightened (another user owns it) is refused, naming the fix', async () => {
    if (process.getuid?.() !== 0) {
      // /tmp is root's and world-writable: an ordinary user cannot tighten it
      const err = await new FileAccountStore({ dir: '/tmp' }).list().catch((e: unknown) => e as Error);
      expect(String(err)).toMatch(/accessible to other users \(mode 1?777\) and cannot be tightened \(EPERM/);
      return;
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-foreign-'));
    chmodSync(dir, 0o777);
    const script = `import { FileAccountStore } from './src/accounts/file-store.ts';
      process.setgid(65534); process.setuid(65534);
      await new FileAccountStore({ dir: ${JSON.stringify(dir)} }).list().then(() => console.log('LISTED'), (e) => console.log('ERROR ' + e.message));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { ...process.env, HOME: '/tmp' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => child.once('exit', r));
    expect(out).toContain(`ERROR The auth directory ${dir} is accessible to other users (mode 0777) and cannot be tightened (EPERM`);
    expect(statSync(dir).mode & 0o777).toBe(0o777);
  });
});

describe('temp files a killed process left behind', () => {
  const old = (file: string) => utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));

  it('a complete, newer one finishes the interrupted save; broken or orphaned ones are removed; fresh ones are left alone', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-temps-'));
    const now = Date.now();
    const first = makeCredential({ accountId: 'acc-t', now: now - 10_000 });
    const file = await new FileAccountStore({ dir }).save(first);
    const newer = { ...makeCredential({ accountId: 'acc-t', now }), refreshToken: 'rt-newer', email: first.email };
    const complete = `${file}.1234567`;
    writeFileSync(complete, serializeCredential(newer));
    old(complete);
    const truncated = `${file}.7654321`;
    writeFileSync(truncated, serializeCredential(newer).slice(0, 40));
    old(truncated);
    const orphan = path.join(dir, 'codex-gone@example.com-00000000.json.42');
    writeFileSync(orphan, serializeCredential(makeCredential({ accountId: 'acc-gone', now })));
    old(orphan);
    const fresh = `${file}.999`;
    writeFileSync(fresh, 'in progress');
    mkdirSync(path.join(dir, '.locks'));
    const lockTmp = path.join(dir, '.locks', 'abc.lock.1.tmp');
    writeFileSync(lockTmp, '{}');
    old(lockTmp);

    const warnings: string[] = [];
    const store = new FileAccountStore({ dir, onWarning: (m) => warnings.push(m) });
    const { accounts, problems } = await store.list();
    expect(problems).toEqual([]);
    expect(accounts.map((a) => a.credential.refreshToken)).toEqual(['rt-newer']);
    expect(warnings.join('\n')).toContain('Finished a save of');
    expect(existsSync(complete) || existsSync(truncated) || existsSync(orphan)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    await store.withRefreshLock('acc-t', async () => undefined);
    expect(readdirSync(path.join(dir, '.locks')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
