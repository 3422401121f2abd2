import { CliError } from '../errors.js';
import type { Credential } from './credential.js';

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
  /** corrupt: unreadable or invalid; duplicate: a second entry for an account loaded from elsewhere. */
  kind: 'corrupt' | 'duplicate';
}

export function loadProblem(location: string, reason: string, kind: LoadProblem['kind']): LoadProblem {
  return { location, reason, kind };
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
  /** Calls `onChange` (debounced) when entries are added, changed or removed. Returns an unsubscribe function. */
  watch(onChange: () => void): () => void;
  /**
   * Runs `fn` while holding this account's refresh lock, exclusive across concurrent calls in
   * this process and across processes sharing the store.
   */
  withRefreshLock<T>(accountId: string, fn: () => Promise<T>): Promise<T>;
}
