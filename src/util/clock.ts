/**
 * The clock is passed in everywhere time matters (cooldowns, token expiry, refresh
 * scheduling, polling), so tests can drive time instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolves after `ms` milliseconds; rejects with an AbortError if the signal fires first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` after `ms` milliseconds; returns a function that cancels it. The timer never keeps the process alive. */
  schedule(ms: number, fn: () => void): () => void;
}

export function abortError(signal?: { readonly reason?: unknown }): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  const err = new Error('The operation was aborted');
  err.name = 'AbortError';
  return err;
}

/** The longest delay setTimeout honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortError(signal));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
  schedule(ms, fn) {
    if (ms <= MAX_TIMER_MS) {
      // the usual case (keep-alives, debounces): one timer, nothing else kept
      const timer = setTimeout(fn, Math.max(0, ms));
      timer.unref();
      return () => clearTimeout(timer);
    }
    // setTimeout fires at once for delays above 2^31-1 ms (~24.8 days): chain shorter timers
    const due = Date.now() + Math.max(0, ms);
    let timer: NodeJS.Timeout;
    const arm = () => {
      const left = due - Date.now();
      if (left > MAX_TIMER_MS) {
        timer = setTimeout(arm, MAX_TIMER_MS);
      } else {
        timer = setTimeout(fn, Math.max(0, left));
      }
      timer.unref();
    };
    arm();
    return () => clearTimeout(timer);
  },
};

/**
 * A clock for tests: time only moves when `advance` is called. Sleepers and scheduled
 * callbacks whose deadline has passed run in deadline order.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const cancel = this.schedule(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = () => {
        cancel();
        reject(abortError(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  schedule(ms: number, fn: () => void): () => void {
    const id = ++this.seq;
    this.timers.set(id, { at: this.current + Math.max(0, ms), fn });
    return () => {
      this.timers.delete(id);
    };
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, t] of this.timers) {
        if (t.at <= target && t.at < nextAt) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId < 0) break;
      const timer = this.timers.get(nextId)!;
      this.timers.delete(nextId);
      this.current = Math.max(this.current, timer.at);
      timer.fn();
      // let promise continuations run before the next timer fires
      await new Promise<void>((r) => setImmediate(r));
    }
    this.current = target;
    await new Promise<void>((r) => setImmediate(r));
  }

  pendingTimers(): number {
    return this.timers.size;
  }
}
