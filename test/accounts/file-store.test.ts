import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, chmod, mkdir, mkdtemp, readdir, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { accountFileName, FileAccountStore } from '../../src/accounts/file-store.js';
import { computeChecksum, credentialToFileObject } from '../../src/accounts/credential-file.js';
import { breakLockIfUnchanged, isLockStale, observeLock, pidAlive, type ObservedLock } from '../../src/accounts/lock-file.js';
import { systemClock } from '../../src/util/clock.js';
import { CliError } from '../../src/errors.js';
import { fakeJwt, makeCredential } from '../auth/helpers.js';

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'store-'));
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe('accountFileName', () => {
  it('is codex-<email>-<8 hex of sha256(account_id)>.json', () => {
    const name = accountFileName('alice@example.com', 'acc-1111');
    expect(name).toMatch(/^codex-alice@example\.com-[0-9a-f]{8}\.json$/);
    expect(name).toBe(`codex-alice@example.com-${createHash('sha256').update('acc-1111').digest('hex').slice(0, 8)}.json`);
    expect(accountFileName('a/b@x', 'id')).toMatch(/^codex-a_b@x-/);
  });
});

describe('FileAccountStore', () => {
  it('creates the dir 0700 and files 0600, and loads what it saved', async () => {
    const dir = path.join(await tempDir(), 'auth', 'nested');
    const store = new FileAccountStore({ dir });
    const cred = makeCredential();
    const file = await store.save(cred);
    expect(file).toBe(path.join(dir, accountFileName(cred.email, cred.accountId)));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const onDisk = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(onDisk.checksum).toBe(computeChecksum(onDisk));
    expect(onDisk.type).toBe('codex');
    const listing = await store.list();
    expect(listing.problems).toEqual([]);
    expect(listing.accounts).toEqual([{ credential: cred, location: file }]);
    expect(await store.load(cred.accountId)).toEqual({ credential: cred, location: file });
    expect(await store.load('nope')).toBeNull();
    expect((await readdir(dir)).filter((n) => !n.startsWith('.'))).toEqual([path.basename(file)]);
  });

  it('replaces the same account instead of adding a file', async () => {
    const dir = await tempDir();
    const store = new FileAccountStore({ dir });
    const first = await store.save(makeCredential());
    const second = await store.save(makeCredential({ refreshToken: 'rt_new_value_000000000', planType: 'pro' }));
    expect(second).toBe(first);
    const { accounts } = await store.list();
    expect(accounts).toHaveLength(1);
    expect(accounts[0]?.credential.refreshToken).toBe('rt_new_value_000000000');
    expect(accounts[0]?.credential.planType).toBe('pro');
    await store.save(makeCredential({ accountId: 'acc-2222', email: 'bob@example.com' }));
    expect((await store.list()).accounts).toHaveLength(2);
  });

  it('saves back into an existing CLIProxyAPI-named file of the same account, keeping its extra fields', async () => {
    const dir = await tempDir();
    const goName = 'codex-1c1e0f0c-alice@example.com-plus.json';
    const goFile = path.join(dir, goName);
    await writeFile(
      goFile,
      JSON.stringify({
        type: 'codex',
        id_token: fakeJwt({ email: 'alice@example.com', accountId: 'acc-1111', plan: 'plus' }),
        access_token: fakeJwt({ accountId: 'acc-1111', exp: 1893456000 }),
        refresh_token: 'rt_go_old_0000000000000',
        account_id: 'acc-1111',
        email: 'alice@example.com',
        expired: '2030-01-01T00:00:00Z',
        last_refresh: '2025-11-01T12:00:00Z',
        priority: 3,
        note: 'keep me',
      }),
      { mode: 0o600 },
    );
    const store = new FileAccountStore({ dir });
    const loaded = (await store.list()).accounts;
    expect(loaded).toHaveLength(1);
    expect(loaded[0]?.credential).toMatchObject({ accountId: 'acc-1111', email: 'alice@example.com', planType: 'plus', authMethod: 'import' });
    const saved = await store.save({ ...loaded[0]!.credential, refreshToken: 'rt_rotated_000000000000' });
    expect(saved).toBe(goFile);
    expect(await readdir(dir)).toEqual([goName]);
    const onDisk = JSON.parse(await readFile(goFile, 'utf8')) as Record<string, unknown>;
    expect(onDisk).toMatchObject({ refresh_token: 'rt_rotated_000000000000', priority: 3, note: 'keep me' });
    expect(onDisk.checksum).toBe(computeChecksum(onDisk));
  });

  it('reports corrupt files by name, skips them and never touches them', async () => {
    const dir = await tempDir();
    const store = new FileAccountStore({ dir });
    const good = makeCredential();
    const canonicalOfBob = path.join(dir, accountFileName('bob@example.com', 'acc-bob'));
    const badJson = path.join(dir, 'codex-broken.json');
    const tampered = path.join(dir, 'codex-tampered.json');
    await mkdir(dir, { recursive: true });
    await writeFile(badJson, '{"type":"codex", "access_token": ');
    const obj = credentialToFileObject(makeCredential({ accountId: 'acc-t', email: 't@example.com' }));
    await writeFile(tampered, JSON.stringify({ ...obj, email: 'evil@example.com' }));
    await writeFile(canonicalOfBob, 'garbage');
    await writeFile(path.join(dir, 'claude-x.json'), 'not ours');
    await writeFile(path.join(dir, 'notes.txt'), 'not ours');
    const before = await Promise.all([badJson, tampered, canonicalOfBob].map((f) => readFile(f)));

    await store.save(good);
    const { accounts, problems } = await store.list();
    expect(accounts.map((a) => a.credential.accountId)).toEqual(['acc-1111']);
    expect(problems.map((p) => p.location).sort()).toEqual([badJson, canonicalOfBob, tampered].sort());
    expect(problems.find((p) => p.location === tampered)?.reason).toMatch(/checksum mismatch/);
    expect(problems.find((p) => p.location === badJson)?.reason).toMatch(/not valid JSON/);

    // saving an account whose canonical file is corrupt fails and leaves it alone
    const err = await store.save(makeCredential({ accountId: 'acc-bob', email: 'bob@example.com' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toContain(`Refusing to overwrite ${canonicalOfBob}`);
    const after = await Promise.all([badJson, tampered, canonicalOfBob].map((f) => readFile(f)));
    expect(after).toEqual(before);
  });

  it('reports a duplicate account file and keeps the newest', async () => {
    const dir = await tempDir();
    const store = new FileAccountStore({ dir });
    const a = await store.save(makeCredential({ lastRefresh: 1000 }));
    const other = path.join(dir, 'codex-copy.json');
    await writeFile(other, JSON.stringify(credentialToFileObject(makeCredential({ lastRefresh: 2000 }))));
    const { accounts, problems } = await store.list();
    expect(accounts).toEqual([expect.objectContaining({ location: other })]);
    expect(problems).toEqual([{ location: a, reason: expect.stringMatching(/^duplicate of account alice@example.com/), kind: 'duplicate' }]);
  });

  it('names the directory and the fix when it cannot be written (ENOTDIR)', async () => {
    const base = await tempDir();
    const file = path.join(base, 'a-file');
    await writeFile(file, 'x');
    const dir = path.join(file, 'auth');
    const store = new FileAccountStore({ dir });
    const err = await store.save(makeCredential()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toBe(
      `Cannot create the auth directory ${dir} (ENOTDIR: a parent path is not a directory). ` +
        `Fix: mkdir -p ${dir} && chmod 700 ${dir} (it must be owned by the user running cliproxy: chown $(id -un) ${dir}), or choose another directory with -auth-dir.`,
    );
  });

  it('names the directory when it is not writable (chmod 500; as root the check runs as user nobody)', async () => {
    const dir = await tempDir();
    await chmod(dir, 0o500);
    const expected = new RegExp(`^Cannot write to the auth directory ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(EACCES: permission denied\\)\\. Fix: mkdir -p `);
    if (process.getuid?.() !== 0) {
      const err = await new FileAccountStore({ dir }).save(makeCredential()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CliError);
      expect((err as Error).message).toMatch(expected);
    } else {
      // root ignores directory modes: run the same save as an unprivileged user. The child
      // loads its modules as root (the checkout may sit in a directory only root can enter),
      // then drops to nobody before touching the auth dir.
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          `import { FileAccountStore } from './src/accounts/file-store.ts';
           process.setgid(65534);
           process.setuid(65534);
           const s = new FileAccountStore({ dir: ${JSON.stringify(dir)} });
           const cred = ${JSON.stringify(makeCredential())};
           await s.save(cred).then(() => console.log('SAVED'), (e) => console.log('ERROR ' + e.message));`,
        ],
        { cwd: path.resolve(import.meta.dirname, '../..'), env: { ...process.env, HOME: '/tmp' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const exited = new Promise((r) => child.once('exit', r));
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      await exited;
      expect(out.trim()).toMatch(new RegExp(`^ERROR ${expected.source.slice(1)}`));
    }
    expect(await readdir(dir)).toEqual([]);
    await chmod(dir, 0o700);
  });

  it('removes an account', async () => {
    const dir = await tempDir();
    const store = new FileAccountStore({ dir });
    const file = await store.save(makeCredential());
    expect(await store.remove('acc-1111')).toEqual([file]);
    expect(await store.remove('acc-1111')).toEqual([]);
    await expect(stat(file)).rejects.toThrow();
    expect((await store.list()).accounts).toEqual([]);
  });

  it('lists nothing for a missing directory', async () => {
    const store = new FileAccountStore({ dir: path.join(await tempDir(), 'missing') });
    expect(await store.list()).toEqual({ accounts: [], problems: [] });
  });

  it('watch() reports added, changed and removed files within 2 s, and stops when unsubscribed', async () => {
    const dir = await tempDir();
    const store = new FileAccountStore({ dir, watchDebounceMs: 50 });
    let calls = 0;
    const waitForCall = async (prev: number) => {
      const start = Date.now();
      while (calls === prev) {
        if (Date.now() - start > 2000) throw new Error('no change notification within 2 s');
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const stop = store.watch(() => (calls += 1));
    cleanups.push(stop);
    await new Promise((r) => setTimeout(r, 100));
    let prev = calls;
    await store.save(makeCredential());
    await waitForCall(prev);
    prev = calls;
    await store.save(makeCredential({ refreshToken: 'rt_changed_00000000000000000' }));
    await waitForCall(prev);
    prev = calls;
    await store.remove('acc-1111');
    await waitForCall(prev);
    stop();
    await new Promise((r) => setTimeout(r, 300));
    prev = calls;
    await store.save(makeCredential());
    await new Promise((r) => setTimeout(r, 1300));
    expect(calls).toBe(prev);
  });

  it('withRefreshLock serialises callers in one process, also across store instances', async () => {
    const dir = await tempDir();
    const a = new FileAccountStore({ dir });
    const b = new FileAccountStore({ dir });
    const log: string[] = [];
    const job = (store: FileAccountStore, name: string) =>
      store.withRefreshLock('acc-1', async () => {
        log.push(`${name}:start`);
        await new Promise((r) => setTimeout(r, 60));
        log.push(`${name}:end`);
        return name;
      });
    const results = await Promise.all([job(a, 'a1'), job(a, 'a2'), job(b, 'b1'), b.withRefreshLock('acc-other', async () => 'other')]);
    expect(results).toEqual(['a1', 'a2', 'b1', 'other']);
    for (let i = 0; i < log.length; i += 2) {
      expect(log[i]?.endsWith(':start')).toBe(true);
      expect(log[i + 1]).toBe(log[i]?.replace(':start', ':end'));
    }
    // the lock is released after an error
    await expect(a.withRefreshLock('acc-1', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await a.withRefreshLock('acc-1', async () => 'again')).toBe('again');
  });

  describe('refresh lock staleness', () => {
    const lockPath = (dir: string, accountId: string) =>
      path.join(dir, '.locks', `${createHash('sha256').update(accountId).digest('hex').slice(0, 16)}.lock`);

    /** Writes a lock as another holder would, `ageMs` old by both its recorded time and its mtime. */
    async function plantLock(dir: string, holder: Record<string, unknown>, ageMs: number): Promise<string> {
      const file = lockPath(dir, 'acc-1');
      await mkdir(path.dirname(file), { recursive: true });
      const at = Date.now() - ageMs;
      await writeFile(file, JSON.stringify({ ...holder, at }));
      await utimes(file, at / 1000, at / 1000);
      return file;
    }

    /** Resolves what the lock holder saw: 'ran' when fn ran within `waitMs`, else 'blocked' (then the lock is released by hand). */
    async function tryWithin(store: FileAccountStore, lockFile: string, waitMs: number): Promise<{ outcome: string; lockAfter: string | null }> {
      let ran = false;
      const p = store.withRefreshLock('acc-1', async () => {
        ran = true;
      });
      await Promise.race([p, new Promise((r) => setTimeout(r, waitMs))]);
      const outcome = ran ? 'ran' : 'blocked';
      const lockAfter = ran ? null : await readFile(lockFile, 'utf8');
      if (!ran) await unlink(lockFile);
      await p;
      return { outcome, lockAfter };
    }

    const DEAD_PID = 2 ** 22 + 12345;

    it('a lock held by a live pid on this host is not broken for age (older than the 30 s token timeout)', async () => {
      const dir = await tempDir();
      const store = new FileAccountStore({ dir });
      const file = await plantLock(dir, { pid: process.pid, host: hostname() }, 90_000);
      const before = await readFile(file, 'utf8');
      const r = await tryWithin(store, file, 400);
      expect(r).toEqual({ outcome: 'blocked', lockAfter: before });
    });

    it('the age is judged by the store clock: a live lock 5 min old by that clock still holds', async () => {
      const dir = await tempDir();
      const clock = { ...systemClock, now: () => Date.now() + 5 * 60_000 };
      const store = new FileAccountStore({ dir, clock });
      const file = await plantLock(dir, { pid: process.pid, host: hostname() }, 0);
      expect((await tryWithin(store, file, 300)).outcome).toBe('blocked');
    });

    it('a live holder is broken once older than lockHungMs (a hung process)', async () => {
      const dir = await tempDir();
      const store = new FileAccountStore({ dir });
      const file = await plantLock(dir, { pid: process.pid, host: hostname() }, 11 * 60_000);
      expect((await tryWithin(store, file, 2000)).outcome).toBe('ran');
    });

    it('a lock of a dead pid on this host is broken at once', async () => {
      const dir = await tempDir();
      const store = new FileAccountStore({ dir });
      const file = await plantLock(dir, { pid: DEAD_PID, host: hostname() }, 0);
      expect((await tryWithin(store, file, 2000)).outcome).toBe('ran');
    });

    it('a lock from another host: pid not trusted; broken only when older than lockStaleMs (default 5 min)', async () => {
      const dir = await tempDir();
      const store = new FileAccountStore({ dir });
      // a dead-looking pid from another machine says nothing about that machine
      let file = await plantLock(dir, { pid: DEAD_PID, host: 'other-host.invalid' }, 60_000);
      expect((await tryWithin(store, file, 300)).outcome).toBe('blocked');
      file = await plantLock(dir, { pid: process.pid, host: 'other-host.invalid' }, 6 * 60_000);
      expect((await tryWithin(store, file, 2000)).outcome).toBe('ran');
      // a lock without a host (older format) is judged the same way
      file = await plantLock(dir, { pid: process.pid }, 6 * 60_000);
      expect((await tryWithin(store, file, 2000)).outcome).toBe('ran');
    });

    it('two waiters: the one that judged the lock stale late does not remove the fresh lock the other took', async () => {
      const dir = await tempDir();
      const file = await plantLock(dir, { pid: DEAD_PID, host: hostname() }, 0);
      const events: string[] = [];
      let freshLock = '';
      // waiter B judged the dead lock stale, but before it breaks it, waiter A breaks it and takes the lock
      class SlowBreaker extends FileAccountStore {
        override async breakStaleLock(lockFile: string, observed: ObservedLock): Promise<boolean> {
          if (!freshLock) {
            await unlink(lockFile);
            freshLock = JSON.stringify({ pid: process.pid, host: hostname(), at: Date.now(), id: 'waiter-a' });
            await writeFile(lockFile, freshLock);
            events.push('A took the lock');
          }
          const broke = await super.breakStaleLock(lockFile, observed);
          events.push(`B broke: ${String(broke)}`);
          return broke;
        }
      }
      const b = new SlowBreaker({ dir });
      let bRan = false;
      const bJob = b.withRefreshLock('acc-1', async () => {
        bRan = true;
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(events).toEqual(['A took the lock', 'B broke: false']);
      expect(bRan).toBe(false);
      expect(await readFile(file, 'utf8')).toBe(freshLock);
      await unlink(file); // A releases
      await bJob;
      expect(bRan).toBe(true);
    });

    it('breakLockIfUnchanged removes only the very lock it observed', async () => {
      const dir = await tempDir();
      const file = await plantLock(dir, { pid: DEAD_PID, host: hostname() }, 0);
      const observed = (await observeLock(file))!;
      expect(isLockStale(observed, { now: Date.now(), hostname: hostname(), limits: { hungMs: 1000, foreignStaleMs: 1000 }, pidAlive })).toBe(true);
      // same inode, other content (rewritten in place) → left alone
      await writeFile(file, JSON.stringify({ pid: process.pid, host: hostname(), at: Date.now(), id: 'other' }));
      expect(await breakLockIfUnchanged(file, observed)).toBe(false);
      expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ id: 'other' });
      // still the observed one → removed
      const again = (await observeLock(file))!;
      expect(await breakLockIfUnchanged(file, again)).toBe(true);
      expect(await observeLock(file)).toBeNull();
      expect((await readdir(path.dirname(file))).filter((n) => n.includes('.broken') || n.includes('.tmp'))).toEqual([]);
    });

    it('the lock file records pid, host, time and a unique id while held, and is gone afterwards', async () => {
      const dir = await tempDir();
      const store = new FileAccountStore({ dir });
      let inside: unknown;
      await store.withRefreshLock('acc-1', async () => {
        inside = JSON.parse(await readFile(lockPath(dir, 'acc-1'), 'utf8'));
      });
      expect(inside).toMatchObject({ pid: process.pid, host: hostname(), at: expect.any(Number), id: expect.any(String) });
      expect(await readdir(path.join(dir, '.locks'))).toEqual([]);
    });
  });

  it('withRefreshLock excludes another process', async () => {
    const dir = await tempDir();
    const order = path.join(dir, 'order.log');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import { FileAccountStore } from './src/accounts/file-store.ts';
         import { appendFileSync } from 'node:fs';
         const s = new FileAccountStore({ dir: ${JSON.stringify(dir)} });
         await s.withRefreshLock('acc-x', async () => {
           appendFileSync(${JSON.stringify(order)}, 'child:start\\n');
           console.log('locked');
           await new Promise((r) => setTimeout(r, 700));
           appendFileSync(${JSON.stringify(order)}, 'child:end\\n');
         });`,
      ],
      { cwd: path.resolve(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((r) => child.once('exit', r));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
      void exited.then((code) => reject(new Error(`child exited early (${String(code)})`)));
    });
    const store = new FileAccountStore({ dir });
    await store.withRefreshLock('acc-x', async () => {
      await appendFile(order, 'parent\n');
    });
    await exited;
    expect((await readFile(order, 'utf8')).trim().split('\n')).toEqual(['child:start', 'child:end', 'parent']);
  });
});
