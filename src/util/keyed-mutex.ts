/**
 * Mutual exclusion per key inside one process: `run(key, fn)` calls for the same key run one
 * after another in call order; different keys do not wait for each other. A key's queue is
 * dropped once it is empty, so the map only holds keys with work in progress.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a holder or waiters right now. */
  size(): number {
    return this.tails.size;
  }
}
