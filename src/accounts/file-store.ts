import { createHash } from 'node:crypto';
import { statSync, watch as fsWatch, type FSWatcher, type Stats } from 'node:fs';
import { access, chmod, constants, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { CliError } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { Credential } from './credential.js';
import { CredentialLockedError, parseCredentialFile, serializeCredential, type LockedMeta } from './credential-file.js';
import { PLAIN, type StoreCrypto } from './store-cipher.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { NotRegularFileError, readRegularFile, readRegularFileSync } from '../util/regular-file.js';
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
import { loadProblem, RefreshLockUnavailableError, type AccountStore, type LoadProblem, type StoreListing, type StoredAccount } from './store.js';

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
  /** Told when the store fixed something on its own (an auth dir others could read, tightened to owner-only). */
  onWarning?: (message: string) => void;
  /** Encryption of the token fields (store.encryption-key); default plain. */
  crypto?: StoreCrypto;
}

/** Account files read at once by a scan (each holds a file descriptor while it is read). */
const SCAN_BATCH = 32;
const FILE_RE = /^codex-.*\.json$/;
/** write-file-atomic's temp file for a token file: `<name>.<decimal>`, renamed over `<name>` once complete. */
const TEMP_RE = /^(codex-.*\.json)\.\d+$/;
/** A temp file (token or lock) younger than this may be a write in progress, maybe another process's: left alone. */
const STALE_TEMP_MS = 5_000;

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
  /** Set when the file is fine but its tokens are encrypted with a key we do not have. */
  locked?: LockedMeta;
}

/**
 * How a scan reads the account files. The first scan (start-up: nothing is served yet, nothing
 * waits on the event loop) reads them directly: a few syscalls per file instead of a thread-pool
 * round trip and a promise per call (start-up with 100 files ~7 ms sooner, README). Later scans
 * (hot discovery, a request's re-read) go through the thread pool so that a slow disk never
 * stalls requests in flight. Same checks either way (readRegularFile).
 */
interface FileReads {
  stat(file: string): Promise<Stats>;
  read(file: string): Promise<string>;
}
const POOLED_READS: FileReads = { stat: (file) => stat(file), read: readRegularFile };
const DIRECT_READS: FileReads = {
  stat: async (file) => statSync(file),
  read: async (file) => readRegularFileSync(file),
};

/** A file's identity for caching: size, mtime and inode (every atomic write makes a new inode). */
function statSignature(st: { size: number; mtimeMs: number; ino: number }): string {
  return `${st.size}:${st.mtimeMs}:${st.ino}`;
}

/** Callers get their own credential object: the cached one is never handed out. */
function copyOf(s: ScannedFile): ScannedFile {
  return s.credential ? { ...s, credential: structuredClone(s.credential) } : s;
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
  private readonly crypto: StoreCrypto;
  private readonly localLocks = new KeyedMutex();
  /** What each file held when last read, by path; reused while its signature (size, mtime, inode) is unchanged. */
  private readonly parsed = new Map<string, { signature: string; result: ScannedFile }>();
  /** accountId → the files holding it, as of the last scan or write (more than one: duplicates). */
  private index = new Map<string, string[]>();
  /** ensureWritable() succeeded and no write failed since: saves skip the check. */
  private writable = false;
  /** The lock directory was created: lock attempts skip the checks until one fails. */
  private lockDirReady = false;
  /** The directory's mode was checked (and tightened if others could access it). */
  private modeChecked = false;
  /** A scan ran: the next ones read through the thread pool (see FileReads). */
  private scannedOnce = false;
  private readonly onWarning: (message: string) => void;

  constructor(opts: FileAccountStoreOptions) {
    this.dir = path.resolve(opts.dir);
    this.description = this.dir;
    this.clock = opts.clock ?? systemClock;
    this.debounceMs = opts.watchDebounceMs ?? 200;
    this.lockLimits = { foreignStaleMs: opts.lockStaleMs ?? DEFAULT_LOCK_FOREIGN_STALE_MS, hungMs: opts.lockHungMs ?? DEFAULT_LOCK_HUNG_MS };
    this.hostname = opts.hostname ?? hostname();
    this.pollMs = opts.watchPollMs ?? 1000;
    this.onWarning = opts.onWarning ?? (() => undefined);
    this.crypto = opts.crypto ?? PLAIN;
  }

  /**
   * The token files are passwords: an existing auth dir that its group or others can access
   * (0755, 0777 …) is tightened to owner-only (0700; a read-only 0555 becomes 0500) with a
   * warning. One that cannot be tightened (another user owns it) is refused with the fix.
   */
  private async checkDirMode(): Promise<void> {
    if (this.modeChecked) return;
    let st;
    try {
      st = await stat(this.dir);
    } catch {
      return; // missing: created 0700 when first written
    }
    if (!st.isDirectory()) return;
    if ((st.mode & 0o077) !== 0) {
      const octal = (m: number) => (m & 0o777).toString(8).padStart(4, '0');
      const tightened = st.mode & 0o700;
      try {
        await chmod(this.dir, tightened);
      } catch (err) {
        throw new CliError(
          `The auth directory ${this.dir} is accessible to other users (mode ${octal(st.mode)}) and cannot be tightened (${errnoText(err)}). ` +
            `Fix: chmod 700 ${this.dir} as its owner, or choose another directory with -auth-dir.`,
        );
      }
      this.onWarning(
        `The auth directory ${this.dir} was accessible to other users (mode ${octal(st.mode)}); tightened it to ${octal(tightened)}, since the token files in it are passwords.`,
      );
    }
    this.modeChecked = true;
  }

  /** Creates the directory (0700) if needed and checks it can be written; throws CliError naming the fix. */
  async ensureWritable(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new CliError(`Cannot create the auth directory ${this.dir} (${errnoText(err)}). ${dirFix(this.dir)}`);
    }
    await this.checkDirMode();
    try {
      const st = await stat(this.dir);
      if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      await access(this.dir, constants.W_OK | constants.X_OK);
    } catch (err) {
      throw new CliError(`Cannot write to the auth directory ${this.dir} (${errnoText(err)}). ${dirFix(this.dir)}`);
    }
    this.writable = true;
  }

  /** One file, parsed (from the cache while its signature is unchanged); null when it is gone. */
  private async readOne(file: string, reads: FileReads = POOLED_READS): Promise<ScannedFile | null> {
    let signature: string;
    try {
      const st = await reads.stat(file);
      if (st.isDirectory()) return null;
      if (!st.isFile()) return { file, reason: 'not a regular file (a FIFO, device or socket); it is never opened' };
      signature = statSignature(st);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      return { file, reason: `cannot read (${errnoText(err)})` };
    }
    const cached = this.parsed.get(file);
    if (cached?.signature === signature) return copyOf(cached.result);
    let text: string;
    try {
      text = await reads.read(file);
    } catch (err) {
      if (err instanceof NotRegularFileError) return { file, reason: `${err.message}; it is never opened` };
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR') return null; // removed meanwhile
      return { file, reason: `cannot read (${errnoText(err)})` };
    }
    let result: ScannedFile;
    try {
      result = { file, credential: parseCredentialFile(text, this.crypto) };
    } catch (err) {
      result = { file, reason: (err as Error).message, ...(err instanceof CredentialLockedError ? { locked: err.meta } : {}) };
    }
    // stat came first: if the file changed while it was read, its next signature differs and it is read again
    this.parsed.set(file, { signature, result });
    return copyOf(result);
  }

  /** The one file the last scan found for this account, re-read; null when that is unknown, ambiguous or stale. */
  private async indexed(accountId: string): Promise<{ file: string; credential: Credential } | null> {
    const files = this.index.get(accountId);
    if (files?.length !== 1) return null;
    const file = files[0]!;
    const one = await this.readOne(file);
    return one?.credential?.accountId === accountId ? { file, credential: one.credential } : null;
  }

  private async scan(): Promise<ScannedFile[]> {
    await this.checkDirMode();
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.parsed.clear();
        this.index = new Map();
        return [];
      }
      throw new CliError(`Cannot read the auth directory ${this.dir} (${errnoText(err)}). ${dirFix(this.dir)}`);
    }
    await this.settleTempFiles(names);
    const out: ScannedFile[] = [];
    const present = new Set<string>();
    const files = names
      .filter((n) => FILE_RE.test(n))
      .sort()
      .map((name) => path.join(this.dir, name));
    for (const file of files) present.add(file);
    const reads = this.scannedOnce ? POOLED_READS : DIRECT_READS;
    this.scannedOnce = true;
    // read SCAN_BATCH files at a time (start-up with many accounts waits for the disk once per batch, not once per file), in name order
    for (let i = 0; i < files.length; i += SCAN_BATCH) {
      const batch = await Promise.all(files.slice(i, i + SCAN_BATCH).map((file) => this.readOne(file, reads)));
      for (const one of batch) if (one) out.push(one);
    }
    for (const file of this.parsed.keys()) if (!present.has(file)) this.parsed.delete(file);
    const index = new Map<string, string[]>();
    for (const s of out) {
      if (!s.credential) continue;
      const files = index.get(s.credential.accountId);
      if (files) files.push(s.file);
      else index.set(s.credential.accountId, [s.file]);
    }
    this.index = index;
    return out;
  }

  /**
   * Temp files a killed process left behind (it died between writing and renaming). One that is
   * complete (valid, checksum verified) and newer than the file it was meant to replace is the
   * save the kill interrupted after its fsync: it is finished (renamed into place), so the
   * refreshed tokens in it are not lost. Every other one is removed. Files younger than
   * STALE_TEMP_MS are left alone: they may be a save in progress.
   */
  private async settleTempFiles(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const m = TEMP_RE.exec(name);
      if (!m) continue;
      const tmp = path.join(this.dir, name);
      try {
        const st = await stat(tmp);
        if (!st.isFile() || this.clock.now() - st.mtimeMs < STALE_TEMP_MS) continue;
        if (await this.finishInterruptedSave(tmp, path.join(this.dir, m[1]!))) continue;
        await unlink(tmp);
      } catch {
        // gone meanwhile, or not ours to remove: leave it
      }
    }
  }

  private async finishInterruptedSave(tmp: string, target: string): Promise<boolean> {
    let pending: Credential;
    try {
      pending = parseCredentialFile(await readRegularFile(tmp));
    } catch {
      return false; // incomplete or damaged: only the rename makes a save count
    }
    // only a refresh of an account still stored there (a removed account is not brought back; a damaged file is never overwritten)
    const stored = (await this.readOne(target))?.credential;
    if (!stored || stored.accountId !== pending.accountId || (stored.lastRefresh ?? 0) >= (pending.lastRefresh ?? 0)) return false;
    await rename(tmp, target);
    await this.syncDir();
    this.onWarning(`Finished a save of ${target} that a killed process had left half-done (its newer tokens were complete in ${path.basename(tmp)}).`);
    return true;
  }

  async list(): Promise<StoreListing> {
    const scanned = await this.scan();
    const problems: LoadProblem[] = [];
    const byAccount = new Map<string, StoredAccount>();
    for (const s of scanned) {
      if (!s.credential) {
        problems.push(s.locked ? loadProblem(s.file, s.reason ?? 'encrypted', 'locked', s.locked) : loadProblem(s.file, s.reason ?? 'unreadable', 'corrupt'));
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
      const reason = `duplicate of account ${keep.credential.email} (newer copy in ${path.basename(keep.location)}); ignored`;
      problems.push(loadProblem(drop.location, reason, 'duplicate'));
    }
    return { accounts: [...byAccount.values()], problems };
  }

  /** Reads the account's one known file; scans the directory when the account is unknown, has duplicates or moved. */
  async load(accountId: string): Promise<StoredAccount | null> {
    const known = await this.indexed(accountId);
    if (known) return { credential: known.credential, location: known.file };
    const { accounts } = await this.list();
    return accounts.find((a) => a.credential.accountId === accountId) ?? null;
  }

  async save(credential: Credential): Promise<string> {
    if (!this.writable) await this.ensureWritable();
    const known = await this.indexed(credential.accountId);
    const { target, previous } = known ? { target: known.file, previous: known.credential } : await this.targetByScan(credential);
    // a new login carries no `extra`: keep the other tool's fields (proxy_url, priority, note…) of the file it replaces
    const toWrite = credential.extra === undefined && previous?.extra ? { ...credential, extra: previous.extra } : credential;
    const text = serializeCredential(toWrite, this.crypto);
    try {
      await writeFileAtomic(target, text, { mode: 0o600, fsync: true });
    } catch (err) {
      if (!this.writable) throw new CliError(`Cannot save the token file ${target} (${errnoText(err)}). ${dirFix(this.dir)}`);
      // the directory passed the check earlier: check it again (it may have been removed), then retry once
      this.writable = false;
      await this.ensureWritable();
      try {
        await writeFileAtomic(target, text, { mode: 0o600, fsync: true });
      } catch (again) {
        this.writable = false;
        throw new CliError(`Cannot save the token file ${target} (${errnoText(again)}). ${dirFix(this.dir)}`);
      }
    }
    await this.syncDir();
    await this.remember(target, text);
    this.index.set(credential.accountId, [target]);
    return target;
  }

  /** Where save() writes an account the index does not pin to one file: decided from a full scan. */
  private async targetByScan(credential: Credential): Promise<{ target: string; previous: Credential | undefined }> {
    const scanned = await this.scan();
    const canonical = path.join(this.dir, accountFileName(credential.email, credential.accountId));
    const sameAccount = scanned.filter((s) => s.credential?.accountId === credential.accountId);
    const locked = scanned.find((s) => s.locked?.accountId === credential.accountId);
    if (locked) {
      throw new CliError(`Refusing to overwrite ${locked.file}: ${locked.reason}. Set the key it was written with, or move it aside first.`);
    }
    let target: string;
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
    return { target, previous: sameAccount.find((s) => s.file === target)?.credential };
  }

  /** Caches what was just written, so the next read of the file does not parse it again. */
  private async remember(file: string, text: string): Promise<void> {
    try {
      const st = await stat(file);
      this.parsed.set(file, { signature: statSignature(st), result: { file, credential: parseCredentialFile(text, this.crypto) } });
    } catch {
      this.parsed.delete(file); // read it again next time
    }
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

  async remove(accountId: string): Promise<string[]> {
    const scanned = await this.scan();
    const removed: string[] = [];
    for (const s of scanned) {
      if (s.credential?.accountId !== accountId) continue;
      try {
        await unlink(s.file);
        removed.push(s.file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new CliError(`Cannot remove ${s.file} (${errnoText(err)}). ${dirFix(this.dir)}`);
      }
    }
    if (removed.length > 0) await this.syncDir();
    this.index.delete(accountId);
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
    return this.localLocks.run(accountId, async () => {
      const unlockFile = await this.acquireFileLock(accountId);
      try {
        return await fn();
      } finally {
        await unlockFile();
      }
    });
  }

  /** Creates the lock directory the first time (and again after a lock could not be created). */
  private async prepareLockDir(lockDir: string): Promise<void> {
    if (this.lockDirReady) return;
    try {
      await this.ensureWritable();
    } catch (err) {
      throw new RefreshLockUnavailableError((err as Error).message);
    }
    try {
      await mkdir(lockDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new RefreshLockUnavailableError(`Cannot create the lock directory ${lockDir} (${errnoText(err)}). ${dirFix(this.dir)}`);
    }
    await this.removeStaleLockTemps(lockDir);
    this.lockDirReady = true;
  }

  /** Lock temp files (`*.tmp`, `*.broken`) a killed process left in the lock directory. */
  private async removeStaleLockTemps(lockDir: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(lockDir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!name.endsWith('.tmp') && !name.endsWith('.broken')) continue;
      const file = path.join(lockDir, name);
      try {
        const st = await stat(file);
        if (st.isFile() && this.clock.now() - st.mtimeMs >= STALE_TEMP_MS) await unlink(file);
      } catch {
        // gone meanwhile
      }
    }
  }

  private async acquireFileLock(accountId: string): Promise<() => Promise<void>> {
    const lockDir = path.join(this.dir, '.locks');
    let checked = !this.lockDirReady;
    await this.prepareLockDir(lockDir);
    const lockFile = path.join(lockDir, `${accountIdHash(accountId).slice(0, 16)}.lock`);
    for (;;) {
      let release: (() => Promise<void>) | null;
      try {
        release = await tryCreateLock(lockFile, { pid: process.pid, host: this.hostname, at: this.clock.now() });
      } catch (err) {
        this.lockDirReady = false;
        if (!checked) {
          // the directory was prepared earlier and may have been removed since: check it again, once
          checked = true;
          await this.prepareLockDir(lockDir);
          continue;
        }
        throw new RefreshLockUnavailableError(`Cannot create the lock file ${lockFile} (${errnoText(err)}). ${dirFix(this.dir)}`);
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
