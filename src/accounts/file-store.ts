import { createHash } from 'node:crypto';
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { access, constants, mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { CliError } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { Credential } from './credential.js';
import { parseCredentialFile, serializeCredential } from './credential-file.js';
import {
  breakLockIfUnchanged,
  DEFAULT_LOCK_FOREIGN_STALE_MS,
  DEFAULT_LOCK_HUNG_MS,
  isLockStale,
  observeLock,
  pidAlive,
  tryCreateLock,
  type ObservedLock,
  type StaleLimits,
} from './lock-file.js';
import type { AccountStore, LoadProblem, StoreListing, StoredAccount } from './store.js';

/**
 * The default account store: one JSON file per account in the auth dir
 * (`codex-<email>-<8 hex of sha256(account_id)>.json`, mode 0600, directory 0700), written
 * atomically (temp file, fsync, rename, then fsync of the directory).
 *
 * Policy for files that cannot be read (bad JSON, checksum mismatch, missing tokens): they
 * are reported in `problems` by name and skipped, and never overwritten or deleted. If the
 * file an account would be saved to is such a file, save() FAILS with an error naming it
 * (move it aside, then sign in again) — we never write a second file for the same account.
 *
 * Only `codex-*.json` files are considered. An account already stored under another name
 * (e.g. a CLIProxyAPI file `codex-<hash>-<email>-<plan>.json`) is saved back to that file, and
 * a credential without `extra` keeps the extra fields (proxy_url, priority, note…) of the file
 * it replaces.
 */
export interface FileAccountStoreOptions {
  dir: string;
  clock?: Clock;
  /** Debounce of change notifications; default 200 ms. */
  watchDebounceMs?: number;
  /**
   * A refresh lock whose holder cannot be checked from here (another host, or an unreadable
   * lock) is broken when older than this; default 5 min. A holder on this host is checked by pid.
   */
  lockStaleMs?: number;
  /** A refresh lock whose holder is alive on this host is broken only when older than this (hung); default 10 min. */
  lockHungMs?: number;
  /** This host's name as recorded in lock files; default os.hostname(). */
  hostname?: string;
  /** Periodic re-scan for watch() where fs.watch is unreliable; default 1000 ms. */
  watchPollMs?: number;
}

const FILE_RE = /^codex-.*\.json$/;

export function accountIdHash(accountId: string): string {
  return createHash('sha256').update(accountId, 'utf8').digest('hex');
}

export function accountFileName(email: string, accountId: string): string {
  const safeEmail = (email || 'unknown').replace(/[^A-Za-z0-9@._+-]/g, '_');
  return `codex-${safeEmail}-${accountIdHash(accountId).slice(0, 8)}.json`;
}

interface ScannedFile {
  file: string;
  credential?: Credential;
  reason?: string;
}

function dirFix(dir: string): string {
  return `Fix: mkdir -p ${dir} && chmod 700 ${dir} (it must be owned by the user running cliproxy: chown $(id -un) ${dir}), or choose another directory with -auth-dir.`;
}

function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const names: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOTDIR: 'a parent path is not a directory',
    EEXIST: 'a file with that name exists',
    ENOSPC: 'no space left on device',
  };
  return e.code ? `${e.code}: ${names[e.code] ?? e.message}` : String(err);
}

export class FileAccountStore implements AccountStore {
  readonly dir: string;
  readonly description: string;
  private readonly clock: Clock;
  private readonly debounceMs: number;
  private readonly lockLimits: StaleLimits;
  private readonly hostname: string;
  private readonly pollMs: number;
  private readonly localLocks = new Map<string, Promise<unknown>>();

  constructor(opts: FileAccountStoreOptions) {
    this.dir = path.resolve(opts.dir);
    this.description = this.dir;
    this.clock = opts.clock ?? systemClock;
    this.debounceMs = opts.watchDebounceMs ?? 200;
    this.lockLimits = { foreignStaleMs: opts.lockStaleMs ?? DEFAULT_LOCK_FOREIGN_STALE_MS, hungMs: opts.lockHungMs ?? DEFAULT_LOCK_HUNG_MS };
    this.hostname = opts.hostname ?? hostname();
    this.pollMs = opts.watchPollMs ?? 1000;
  }

  /** Creates the directory (0700) if needed and checks it can be written; throws CliError naming the fix. */
  async ensureWritable(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new CliError(`Cannot create the auth directory ${this.dir} (${errnoText(err)}). ${dirFix(this.dir)}`);
    }
    try {
      const st = await stat(this.dir);
      if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      await access(this.dir, constants.W_OK | constants.X_OK);
    } catch (err) {
      throw new CliError(`Cannot write to the auth directory ${this.dir} (${errnoText(err)}). ${dirFix(this.dir)}`);
    }
  }

  private async scan(): Promise<ScannedFile[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new CliError(`Cannot read the auth directory ${this.dir} (${errnoText(err)}). ${dirFix(this.dir)}`);
    }
    const out: ScannedFile[] = [];
    for (const name of names.filter((n) => FILE_RE.test(n)).sort()) {
      const file = path.join(this.dir, name);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue; // removed while scanning
        if (code === 'EISDIR') continue;
        out.push({ file, reason: `cannot read (${errnoText(err)})` });
        continue;
      }
      try {
        out.push({ file, credential: parseCredentialFile(text) });
      } catch (err) {
        out.push({ file, reason: (err as Error).message });
      }
    }
    return out;
  }

  async list(): Promise<StoreListing> {
    const scanned = await this.scan();
    const problems: LoadProblem[] = [];
    const byAccount = new Map<string, StoredAccount>();
    for (const s of scanned) {
      if (!s.credential) {
        problems.push({ location: s.file, reason: s.reason ?? 'unreadable' });
        continue;
      }
      const current = byAccount.get(s.credential.accountId);
      if (!current) {
        byAccount.set(s.credential.accountId, { credential: s.credential, location: s.file });
        continue;
      }
      // two files for one account: keep the most recently refreshed, report the other
      const newer = (s.credential.lastRefresh ?? 0) > (current.credential.lastRefresh ?? 0);
      const [keep, drop] = newer ? [{ credential: s.credential, location: s.file }, current] : [current, { credential: s.credential, location: s.file }];
      byAccount.set(s.credential.accountId, keep);
      problems.push({ location: drop.location, reason: `duplicate of account ${keep.credential.email} (newer copy in ${path.basename(keep.location)}); ignored` });
    }
    return { accounts: [...byAccount.values()], problems };
  }

  async load(accountId: string): Promise<StoredAccount | null> {
    const { accounts } = await this.list();
    return accounts.find((a) => a.credential.accountId === accountId) ?? null;
  }

  async save(credential: Credential): Promise<string> {
    await this.ensureWritable();
    const scanned = await this.scan();
    const canonical = path.join(this.dir, accountFileName(credential.email, credential.accountId));
    const sameAccount = scanned.filter((s) => s.credential?.accountId === credential.accountId);
    let target: string;
    let toWrite = credential;
    if (sameAccount.some((s) => s.file === canonical)) target = canonical;
    else if (sameAccount[0]) target = sameAccount[0].file;
    else {
      const occupant = scanned.find((s) => s.file === canonical);
      if (occupant && !occupant.credential) {
        throw new CliError(
          `Refusing to overwrite ${canonical}: it is not a valid token file (${occupant.reason}). ` +
            'Move it aside or delete it yourself, then sign in again.',
        );
      }
      if (occupant?.credential) {
        throw new CliError(`Refusing to overwrite ${canonical}: it belongs to another account. Move it aside, then sign in again.`);
      }
      target = canonical;
    }
    // a new login carries no `extra`: keep the other tool's fields (proxy_url, priority, note…) of the file it replaces
    const previous = sameAccount.find((s) => s.file === target)?.credential;
    if (credential.extra === undefined && previous?.extra) toWrite = { ...credential, extra: previous.extra };
    try {
      await writeFileAtomic(target, serializeCredential(toWrite), { mode: 0o600, fsync: true });
    } catch (err) {
      throw new CliError(`Cannot save the token file ${target} (${errnoText(err)}). ${dirFix(this.dir)}`);
    }
    await this.syncDir();
    return target;
  }

  private async syncDir(): Promise<void> {
    try {
      const fh = await open(this.dir, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch {
      // directory fsync is not supported everywhere; the rename is already atomic
    }
  }

  async remove(accountId: string): Promise<boolean> {
    const scanned = await this.scan();
    let removed = false;
    for (const s of scanned) {
      if (s.credential?.accountId !== accountId) continue;
      try {
        await unlink(s.file);
        removed = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new CliError(`Cannot remove ${s.file} (${errnoText(err)}). ${dirFix(this.dir)}`);
      }
    }
    if (removed) await this.syncDir();
    return removed;
  }

  /**
   * fs.watch on the directory (debounced) plus a periodic re-scan of names, sizes and mtimes,
   * so a change is seen within ~pollMs even where fs.watch misses events (network file
   * systems, containers). onChange runs only when that signature changed.
   */
  watch(onChange: () => void): () => void {
    let stopped = false;
    let last: string | null = null;
    let debounce: NodeJS.Timeout | undefined;
    let watcher: FSWatcher | undefined;
    let checking = false;

    const check = async () => {
      if (stopped || checking) return;
      checking = true;
      try {
        const sig = await this.signature();
        if (stopped) return;
        if (last !== null && sig !== last) onChange();
        last = sig;
      } finally {
        checking = false;
      }
    };
    const schedule = () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => void check(), this.debounceMs);
      debounce.unref();
    };
    const startWatcher = () => {
      if (watcher || stopped) return;
      try {
        watcher = fsWatch(this.dir, { persistent: false }, () => schedule());
        watcher.on('error', () => {
          watcher?.close();
          watcher = undefined;
        });
      } catch {
        watcher = undefined; // directory missing: the poll below notices when it appears
      }
    };
    void this.signature().then((sig) => {
      last ??= sig;
    });
    startWatcher();
    const poll = setInterval(() => {
      startWatcher();
      void check();
    }, this.pollMs);
    poll.unref();
    return () => {
      stopped = true;
      clearInterval(poll);
      clearTimeout(debounce);
      watcher?.close();
    };
  }

  private async signature(): Promise<string> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => FILE_RE.test(n)).sort();
    } catch {
      return 'missing';
    }
    const parts: string[] = [];
    for (const n of names) {
      try {
        const st = await stat(path.join(this.dir, n));
        parts.push(`${n}:${st.size}:${st.mtimeMs}:${st.ino}`);
      } catch {
        /* vanished meanwhile */
      }
    }
    return parts.join('|');
  }

  /**
   * Serialises refreshes of one account: an in-process queue per account, and a lock file
   * `<dir>/.locks/<sha256(account_id)[0:16]>.lock` holding `{"pid","host","at","id"}` (see
   * lock-file.ts). A holder on this host whose pid is gone is broken at once; a live one only
   * after lockHungMs (10 min); one on another host after lockStaleMs (5 min). Waiters poll.
   */
  async withRefreshLock<T>(accountId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.localLocks.get(accountId) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const chained = previous.then(() => mine);
    this.localLocks.set(accountId, chained);
    await previous;
    try {
      const unlockFile = await this.acquireFileLock(accountId);
      try {
        return await fn();
      } finally {
        await unlockFile();
      }
    } finally {
      release();
      if (this.localLocks.get(accountId) === chained) this.localLocks.delete(accountId);
    }
  }

  private async acquireFileLock(accountId: string): Promise<() => Promise<void>> {
    const lockDir = path.join(this.dir, '.locks');
    await this.ensureWritable();
    try {
      await mkdir(lockDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new CliError(`Cannot create the lock directory ${lockDir} (${errnoText(err)}). ${dirFix(this.dir)}`);
    }
    const lockFile = path.join(lockDir, `${accountIdHash(accountId).slice(0, 16)}.lock`);
    for (;;) {
      let release: (() => Promise<void>) | null;
      try {
        release = await tryCreateLock(lockFile, { pid: process.pid, host: this.hostname, at: this.clock.now() });
      } catch (err) {
        throw new CliError(`Cannot create the lock file ${lockFile} (${errnoText(err)}). ${dirFix(this.dir)}`);
      }
      if (release) return release;
      const observed = await observeLock(lockFile).catch(() => null);
      if (observed && isLockStale(observed, { now: this.clock.now(), hostname: this.hostname, limits: this.lockLimits, pidAlive })) {
        await this.breakStaleLock(lockFile, observed);
        continue;
      }
      await new Promise<void>((r) => setTimeout(r, 20 + Math.floor(Math.random() * 30)));
    }
  }

  /** Removes a lock judged stale, unless it changed since (another waiter broke it and took a fresh one). */
  protected async breakStaleLock(lockFile: string, observed: ObservedLock): Promise<boolean> {
    return breakLockIfUnchanged(lockFile, observed).catch(() => false);
  }
}
