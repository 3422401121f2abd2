/**
 * The streaming responses in progress, so a shutdown can end each one properly (a last error
 * chunk / response.failed event the client can read) before the connections are closed,
 * instead of cutting them off mid-stream. Also keeps the active-streams gauge.
 */
import type { ServerResponse } from 'node:http';
import type { ApiError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { SHUTDOWN_ERROR } from './shutdown.js';

/** A response stream that can end itself properly (its ending for `error`, then the end) when asked. */
export interface StoppableStream {
  stop(error: ApiError): void;
}

/** Resolves when `res` closed: after it was fully handed to the OS, or when the connection went away. */
function responseClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => res.once('close', () => resolve()));
}

export class ActiveStreams {
  /** The responses being streamed and how to stop each; an entry goes when its response closes. */
  private readonly streams = new Map<ServerResponse, StoppableStream>();
  private closing = false;
  /**
   * The one 'close' listener every tracked response shares (the emitter is `this`): a response
   * emits 'close' once, after 'finish' or when its connection closed. No closure, promise or
   * once-wrapper per stream.
   */
  private readonly onResponseClose: (this: ServerResponse) => void;

  constructor(private readonly gauge?: { inc(): void; dec(): void }) {
    const streams = this.streams;
    this.onResponseClose = function (this: ServerResponse) {
      if (streams.delete(this)) gauge?.dec();
    };
  }

  get size(): number {
    return this.streams.size;
  }

  /**
   * Tracks `stream`, the body of `res`, until the response closes. When the server shuts
   * down, endAll() asks it to stop (send its ending and end); a stream that starts after the
   * shutdown began is stopped at once. No per-chunk work.
   */
  track(res: ServerResponse, stream: StoppableStream): void {
    if (res.closed) return;
    this.streams.set(res, stream);
    this.gauge?.inc();
    res.on('close', this.onResponseClose);
    if (this.closing) stream.stop(SHUTDOWN_ERROR);
  }

  /**
   * Asks every active stream to send its ending and waits until their responses are finished,
   * at most `timeoutMs`. Streams started later end at once.
   */
  async endAll(timeoutMs: number, clock: Clock): Promise<void> {
    this.closing = true;
    const streams = [...this.streams];
    if (streams.length === 0) return;
    const closed = streams.map(([res]) => responseClosed(res));
    for (const [, stream] of streams) stream.stop(SHUTDOWN_ERROR);
    let cancel: () => void = () => undefined;
    const timeout = new Promise<void>((resolve) => (cancel = clock.schedule(timeoutMs, resolve)));
    try {
      await Promise.race([Promise.all(closed), timeout]);
    } finally {
      cancel();
    }
  }
}
