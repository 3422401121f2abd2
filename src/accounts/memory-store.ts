import type { Credential } from './credential.js';
import type { AccountStore, LoadProblem, StoreListing, StoredAccount } from './store.js';

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
  private readonly locks = new Map<string, Promise<void>>();
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
      problems: this.problems.map((p) => ({ ...p })),
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

  async remove(accountId: string): Promise<boolean> {
    const removed = this.accounts.delete(accountId);
    if (removed) this.notify();
    return removed;
  }

  /** Replaces the list of entries that failed to load (like corrupt files in an auth dir). */
  setProblems(problems: LoadProblem[]): void {
    this.problems = problems.map((p) => ({ ...p }));
    this.notify();
  }

  watch(onChange: () => void): () => void {
    this.watchers.add(onChange);
    return () => {
      this.watchers.delete(onChange);
    };
  }

  async withRefreshLock<T>(accountId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(accountId) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.locks.set(accountId, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(accountId) === tail) this.locks.delete(accountId);
    }
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
