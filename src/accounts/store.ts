import { CliError } from '../errors.js';
import type { Credential } from './credential.js';
import type { LockedMeta } from './credential-file.js';

/**
 * withRefreshLock could not take the lock at all because the store cannot be written (a
 * read-only or foreign-owned auth dir, a full disk): thrown before `fn` runs. The refresher then
 * refreshes in memory under its in-process single flight instead of never refreshing.
 */
export class RefreshLockUnavailableError extends CliError {
  constructor(message: string) {
    super(message);
    this.name = 'RefreshLockUnavailableError';
  }
}

/** One account as a store holds it. `location` is a file path (file store) or a row key. */
export interface StoredAccount {
  credential: Credential;
  location: string;
}

/** An entry that could not be loaded: reported by name, skipped, never overwritten. */
export interface LoadProblem {
  location: string;
  reason: string;
  /**
   * corrupt: unreadable or invalid; duplicate: a second entry for an account loaded from
   * elsewhere; locked: its tokens are encrypted with a key this process does not have.
   */
  kind: 'corrupt' | 'duplicate' | 'locked';
  /** For a locked entry: what can still be read (email, plan, expiry). */
  meta?: LockedMeta;
}

export function loadProblem(location: string, reason: string, kind: LoadProblem['kind'], meta?: LockedMeta): LoadProblem {
  return meta ? { location, reason, kind, meta } : { location, reason, kind };
}

/**
 * The server refuses to start when accounts cannot be decrypted: it would otherwise run
 * without them and a login could replace them. Names every such account; changes nothing.
 */
export class StoreLockedError extends Error {
  constructor(
    readonly locked: LoadProblem[],
    description: string,
  ) {
    const names = locked.map((p) => `${p.meta ? `${p.meta.email} ` : ''}(${p.location})`).join(', ');
    const reason = locked[0]?.reason ?? 'encrypted';
    super(
      `Cannot read ${locked.length} account${locked.length === 1 ? '' : 's'} in ${description}: ${names}: ${reason}. ` +
        'Set store.encryption-key (CLIPROXY_STORE_KEY) to the key they were written with; nothing was changed.',
    );
    this.name = 'StoreLockedError';
  }
}

/** A cooldown one process published for every process sharing the store (PostgreSQL). */
export interface SharedCooldown {
  accountId: string;
  /** ms since epoch. */
  until: number;
  reason: string;
  /** When it was set (ms since epoch): each publication is applied once. */
  setAt: number;
}

export interface StoreListing {
  accounts: StoredAccount[];
  problems: LoadProblem[];
}

/**
 * Where credentials live. The file store (one JSON file per account in the auth dir) is the
 * default; the pool and the CLI only ever see this interface.
 */
export interface AccountStore {
  /** Human-readable location for messages, e.g. the auth dir path. */
  readonly description: string;
  list(): Promise<StoreListing>;
  /** Re-reads one account from durable storage (after another process may have refreshed it). */
  load(accountId: string): Promise<StoredAccount | null>;
  /** Writes atomically and durably; returns the location. Replaces the account's previous entry. */
  save(credential: Credential): Promise<string>;
  /** Removes an account (every entry holding it, duplicates included); resolves the locations removed, empty when none. */
  remove(accountId: string): Promise<string[]>;
  /**
   * Calls `onChange` (debounced) when entries are added, changed or removed, and `onCooldown`
   * (at once) when another process shares a cooldown. Returns an unsubscribe function.
   */
  watch(onChange: () => void, onCooldown?: (c: SharedCooldown) => void): () => void;
  /**
   * Runs `fn` while holding this account's refresh lock, exclusive across concurrent calls in
   * this process and across processes sharing the store.
   */
  withRefreshLock<T>(accountId: string, fn: () => Promise<T>): Promise<T>;
  /** Shared stores: tells every process sharing the store that the account rests until `c.until`. */
  publishCooldown?(c: SharedCooldown): Promise<void>;
  /** Shared stores: the cooldowns in force at `now`. */
  listCooldowns?(now: number): Promise<SharedCooldown[]>;
  /** Remote stores: false while the store cannot be reached (the server keeps serving with the tokens it holds). */
  isAvailable?(): boolean;
  /** Remote stores: calls `cb` when the store becomes unreachable or reachable again. */
  onAvailability?(cb: (available: boolean) => void): () => void;
}
