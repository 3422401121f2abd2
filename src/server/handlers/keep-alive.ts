import type { Clock } from '../../util/clock.js';

/**
 * How often a committed chat stream sends an SSE comment while the backend is silent (long
 * reasoning): proxies and clients with idle timeouts (often 30-60 s) keep the connection.
 */
export const KEEP_ALIVE_INTERVAL_MS = 15_000;

export type NextOrTick<T> = { tick: true } | { tick: false; value: T };

/**
 * Waits for `next`, but settles with `{tick: true}` when `ms` pass first (on the injected
 * clock, so tests drive it). `next` keeps running: wait for the same promise again after a tick.
 */
export function nextOrTick<T>(clock: Clock, ms: number, next: Promise<T>): Promise<NextOrTick<T>> {
  return new Promise((resolve, reject) => {
    const cancel = clock.schedule(ms, () => resolve({ tick: true }));
    next.then(
      (value) => {
        cancel();
        resolve({ tick: false, value });
      },
      (err: unknown) => {
        cancel();
        reject(err);
      },
    );
  });
}
