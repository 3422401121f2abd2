/**
 * The streaming responses in progress, so a shutdown can end each one properly (a last error
 * chunk / response.failed event the client can read) before the connections are closed,
 * instead of cutting them off mid-stream. Also keeps the active-streams gauge.
 */
import type { ServerResponse } from 'node:http';
import type { Clock } from '../util/clock.js';

interface ActiveStream {
  /** Resolves when a shutdown asks the stream to end. */
  stopRequested: Promise<void>;
  requestStop(): void;
  /** Resolves when the response was fully handed to the OS (or the connection closed). */
  finished: Promise<void>;
}

export interface TrackedStreamOptions<T> {
  /** The last items to send when the server shuts down mid-stream. */
  ending: () => T[];
  /** Called when a shutdown stops the stream (cancel the upstream request). */
  onShutdown: () => void;
}

const STOP: unique symbol = Symbol('stop');

function responseFinished(res: ServerResponse): Promise<void> {
  if (res.writableFinished || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    res.once('finish', () => resolve());
    res.once('close', () => resolve());
  });
}

export class ActiveStreams {
  private readonly streams = new Set<ActiveStream>();
  private closing = false;

  constructor(private readonly gauge?: { inc(): void; dec(): void }) {}

  get size(): number {
    return this.streams.size;
  }

  /**
   * Passes `source` through while tracking it. When the server shuts down, stops waiting for the
   * source, sends `ending()` and ends. A stream that starts after the shutdown began ends at once.
   */
  async *track<T>(res: ServerResponse, source: AsyncIterable<T>, opts: TrackedStreamOptions<T>): AsyncGenerator<T> {
    let stopped = this.closing;
    let resolveStop!: () => void;
    const stopRequested = new Promise<void>((resolve) => (resolveStop = resolve));
    const requestStop = () => {
      stopped = true;
      resolveStop();
    };
    const stream: ActiveStream = { stopRequested, requestStop, finished: responseFinished(res) };
    this.streams.add(stream);
    this.gauge?.inc();
    const it = source[Symbol.asyncIterator]();
    let sourceDone = false;
    try {
      for (;;) {
        const next = stopped ? undefined : it.next();
        const won = next ? await Promise.race([next, stream.stopRequested.then((): typeof STOP => STOP)]) : STOP;
        if (won === STOP) {
          next?.catch(() => undefined); // settles once onShutdown cancelled the upstream
          opts.onShutdown();
          for (const item of opts.ending()) yield item;
          return;
        }
        if (won.done) {
          sourceDone = true;
          return;
        }
        yield won.value;
      }
    } finally {
      this.streams.delete(stream);
      this.gauge?.dec();
      // client went away or shutdown: let the source run its own cleanup (cancel upstream, record outcome)
      if (!sourceDone) it.return?.(undefined).catch(() => undefined);
    }
  }

  /**
   * Asks every active stream to send its ending and waits until their responses are finished,
   * at most `timeoutMs`. Streams started later end at once.
   */
  async endAll(timeoutMs: number, clock: Clock): Promise<void> {
    this.closing = true;
    const streams = [...this.streams];
    if (streams.length === 0) return;
    for (const s of streams) s.requestStop();
    let cancel: () => void = () => undefined;
    const timeout = new Promise<void>((resolve) => (cancel = clock.schedule(timeoutMs, resolve)));
    try {
      await Promise.race([Promise.all(streams.map((s) => s.finished)), timeout]);
    } finally {
      cancel();
    }
  }
}
