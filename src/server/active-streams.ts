/**
 * The streaming responses in progress, so a shutdown can end each one properly (a last error
 * chunk / response.failed event the client can read) before the connections are closed,
 * instead of cutting them off mid-stream. Also keeps the active-streams gauge.
 */
import type { ServerResponse } from 'node:http';
import type { Clock } from '../util/clock.js';

/** A response stream that can end itself properly (its ending, then the end) when asked. */
export interface StoppableStream {
  stop(): void;
}

interface ActiveStream {
  stream: StoppableStream;
  /** Resolves when the response was fully handed to the OS (or the connection closed). */
  finished: Promise<void>;
}

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
   * Tracks `stream`, the body of `res`, until the response is finished. When the server shuts
   * down, endAll() asks it to stop (send its ending and end); a stream that starts after the
   * shutdown began is stopped at once. No per-chunk work.
   */
  track(res: ServerResponse, stream: StoppableStream): void {
    const active: ActiveStream = { stream, finished: responseFinished(res) };
    this.streams.add(active);
    this.gauge?.inc();
    void active.finished.then(() => {
      this.streams.delete(active);
      this.gauge?.dec();
    });
    if (this.closing) stream.stop();
  }

  /**
   * Asks every active stream to send its ending and waits until their responses are finished,
   * at most `timeoutMs`. Streams started later end at once.
   */
  async endAll(timeoutMs: number, clock: Clock): Promise<void> {
    this.closing = true;
    const streams = [...this.streams];
    if (streams.length === 0) return;
    for (const s of streams) s.stream.stop();
    let cancel: () => void = () => undefined;
    const timeout = new Promise<void>((resolve) => (cancel = clock.schedule(timeoutMs, resolve)));
    try {
      await Promise.race([Promise.all(streams.map((s) => s.finished)), timeout]);
    } finally {
      cancel();
    }
  }
}
