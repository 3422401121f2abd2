import type { Credential } from './credential.js';
import { loadProblem, type AccountStore, type LoadProblem, type StoreListing, type StoredAccount } from './store.js';
import { KeyedMutex } from '../util/keyed-mutex.js';

/**
 * An AccountStore kept in memory: for tests, and for embedding cliproxy without an auth dir.
 * Values are copied in and out (callers never share objects with the store), `watch` fires once
 * per burst of changes (on the next macrotask, like a debounced file watcher), and
 * `withRefreshLock` is a real per-account mutex within the process.
 */
export class MemoryAccountStore implements AccountStore {
  readonly description: string;
  private readonly accounts = new Map<string, Credential>();
  private problems: LoadProblem[] = [];
  private readonly watchers = new Set<() => void>();
  private readonly locks = new KeyedMutex();
  private notifyPending = false;
  /** How many times `save` was called (tests assert on writes). */
  saves = 0;

  constructor(init: { accounts?: Credential[]; description?: string } = {}) {
    this.description = init.description ?? 'memory';
    for (const c of init.accounts ?? []) this.accounts.set(c.accountId, structuredClone(c));
  }

  async list(): Promise<StoreListing> {
    return {
      accounts: [...this.accounts.values()].map((c) => this.stored(c)),
      problems: this.problems.map((p) => loadProblem(p.location, p.reason, p.kind)),
    };
  }

  async load(accountId: string): Promise<StoredAccount | null> {
    const c = this.accounts.get(accountId);
    return c ? this.stored(c) : null;
  }

  async save(credential: Credential): Promise<string> {
    this.saves++;
    this.accounts.set(credential.accountId, structuredClone(credential));
    this.notify();
    return this.locationOf(credential.accountId);
  }

  async remove(accountId: string): Promise<string[]> {
    const removed = this.accounts.delete(accountId);
    if (removed) this.notify();
    return removed ? [this.locationOf(accountId)] : [];
  }

  /** Replaces the list of entries that failed to load (like corrupt files in an auth dir); `kind` defaults to corrupt. */
  setProblems(problems: Array<Omit<LoadProblem, 'kind'> & { kind?: LoadProblem['kind'] }>): void {
    this.problems = problems.map((p) => loadProblem(p.location, p.reason, p.kind ?? 'corrupt'));
    this.notify();
  }

  watch(onChange: () => void): () => void {
    this.watchers.add(onChange);
    return () => {
      this.watchers.delete(onChange);
    };
  }

  withRefreshLock<T>(accountId: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(accountId, fn);
  }

  private stored(c: Credential): StoredAccount {
    return { credential: structuredClone(c), location: this.locationOf(c.accountId) };
  }

  private locationOf(accountId: string): string {
    return `${this.description}:${accountId}`;
  }

  private notify(): void {
    if (this.notifyPending || this.watchers.size === 0) return;
    this.notifyPending = true;
    setImmediate(() => {
      this.notifyPending = false;
      for (const w of [...this.watchers]) w();
    });
  }
}
