import { randomUUID } from 'node:crypto';
import { link, open, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { readRegularFile } from '../util/regular-file.js';

/**
 * A cross-process lock file: created complete (written to a temp file, then hard-linked into
 * place, which fails when the lock exists), holding `{"pid","host","at","id"}`.
 *
 * When is a lock someone else holds stale (may be broken)?
 * - holder on this host (same hostname) and its pid is gone: at once (it crashed);
 * - holder on this host and alive: only when older than `hungMs` (default 10 min: a hung
 *   process). A live holder is never broken just because its refresh is slow;
 * - holder on another host, or no host recorded, or unreadable content: when older than
 *   `foreignStaleMs` (default 5 min), since its pid cannot be checked from here.
 * The age counts from the later of the recorded time and the file's mtime, so one skewed clock
 * cannot make a fresh lock look old.
 *
 * Breaking is race-free between waiters: the lock is only moved aside when it is still the
 * very lock judged stale (same inode and content), and a lock moved aside by mistake is put back.
 */

export interface LockHolder {
  pid?: number;
  host?: string;
  at?: number;
  id?: string;
}

/** What a waiter saw of the lock it judged; breaking only proceeds if the lock is still this. */
export interface ObservedLock {
  ino: number;
  text: string;
  holder: LockHolder | null;
  mtimeMs: number;
}

export interface StaleLimits {
  /** A live holder on this host is broken only after this long. */
  hungMs: number;
  /** A holder whose liveness cannot be checked (another host, unknown) is broken after this long. */
  foreignStaleMs: number;
}

export const DEFAULT_LOCK_HUNG_MS = 10 * 60_000;
export const DEFAULT_LOCK_FOREIGN_STALE_MS = 5 * 60_000;

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null) return null;
    const o = v as Record<string, unknown>;
    return {
      pid: typeof o.pid === 'number' ? o.pid : undefined,
      host: typeof o.host === 'string' ? o.host : undefined,
      at: typeof o.at === 'number' ? o.at : undefined,
      id: typeof o.id === 'string' ? o.id : undefined,
    };
  } catch {
    return null;
  }
}

/** Pure verdict on an observed lock. */
export function isLockStale(
  lock: Pick<ObservedLock, 'holder' | 'mtimeMs'>,
  ctx: { now: number; hostname: string; limits: StaleLimits; pidAlive: (pid: number) => boolean },
): boolean {
  const h = lock.holder;
  const ageMs = ctx.now - Math.max(h?.at ?? -Infinity, lock.mtimeMs);
  if (h && h.host === ctx.hostname && h.pid !== undefined) {
    if (!ctx.pidAlive(h.pid)) return true;
    return ageMs > ctx.limits.hungMs;
  }
  return ageMs > ctx.limits.foreignStaleMs;
}

/** Reads the lock as it is now; null when there is none. */
export async function observeLock(lockFile: string): Promise<ObservedLock | null> {
  try {
    const st = await stat(lockFile);
    // never open a FIFO or device someone put there (it would block): an unreadable lock, judged by age
    const text = st.isFile() ? await readRegularFile(lockFile).catch(() => '') : '';
    const again = await stat(lockFile);
    if (again.ino !== st.ino) return null; // replaced while reading: look again next round
    return { ino: st.ino, text, holder: parseHolder(text), mtimeMs: st.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Tries to create the lock. Resolves the release function, or null when someone holds it.
 * The content is complete the moment the lock exists (temp file + link).
 */
const NO_HARD_LINKS: ReadonlySet<string> = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

async function createExclusive(lockFile: string, text: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(lockFile, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
  return true;
}

export async function tryCreateLock(lockFile: string, holder: { pid: number; host: string; at: number }): Promise<(() => Promise<void>) | null> {
  const id = randomUUID();
  const text = JSON.stringify({ ...holder, id });
  const tmp = `${lockFile}.${id}.tmp`;
  await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, lockFile);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return null;
    if (!code || !NO_HARD_LINKS.has(code)) throw err;
    // a file system without hard links: exclusive create, then write (briefly empty)
    if (!(await createExclusive(lockFile, text))) return null;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  return async () => {
    // only remove our own lock: if it was broken (we hung) the file may be someone else's now
    const now = await observeLock(lockFile).catch(() => null);
    if (now?.text === text) await breakLockIfUnchanged(lockFile, now);
  };
}

/**
 * Removes the lock only if it is still `observed` (same inode and content). Another waiter may
 * have broken it and taken a fresh lock meanwhile: that one is left alone. True when removed.
 */
export async function breakLockIfUnchanged(lockFile: string, observed: Pick<ObservedLock, 'ino' | 'text'>): Promise<boolean> {
  const current = await observeLock(lockFile);
  if (!current || current.ino !== observed.ino || current.text !== observed.text) return false;
  // move it aside atomically, then check what was moved: only one waiter can move a given inode
  const aside = `${lockFile}.${randomUUID()}.broken`;
  try {
    await rename(lockFile, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    const [moved, movedText] = await Promise.all([stat(aside), readRegularFile(aside).catch(() => '')]);
    if (moved.ino === observed.ino && movedText === observed.text) return true;
    // a fresh lock replaced the stale one between the check and the rename: put it back
    await link(aside, lockFile).catch(() => undefined);
    return false;
  } finally {
    await unlink(aside).catch(() => undefined);
  }
}
