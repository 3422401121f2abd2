import type { Dispatcher } from 'undici';

/**
 * One streamed HTTP request through an undici dispatcher's own handler interface
 * (`dispatch()`): the response's start as a promise, then every body chunk handed to a sink
 * straight from the HTTP parser, with pause/resume for backpressure. This is the request path's
 * transport: undici's `request()` puts a Readable stream (its buffering, events and ticks)
 * between the parser and the reader, which cost about a tenth of the proxy's CPU time on a
 * streamed answer (see the README's performance section).
 *
 * - `takeStart()` resolves with the status and headers, or rejects with the error of a request
 *   that got no response (connection refused, headers timeout, aborted, refused arguments). It
 *   is taken once: the request keeps no reference to the start (the headers) afterwards, since
 *   a stream may stay open for minutes.
 * - Body chunks that arrive before a sink is attached are kept (the request is paused past
 *   MAX_QUEUED_BYTES) and handed over, in order, right after attach() returns.
 * - Exactly one of the sink's end() and error() is called (unless the sink is detached first).
 * - abort() stops the request at any point; what follows is the error path (the reason given).
 */

/** A body longer than the reader's limit (the request was dropped). */
export class BodyTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`the answer is longer than ${Math.round(limit / 1024)} KiB`);
    this.name = 'BodyTooLongError';
  }
}

export interface BodySink {
  data(chunk: Buffer): void;
  end(): void;
  error(err: unknown): void;
}

export interface ResponseStart {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

/** Body bytes kept for a sink that is not attached yet before the request is paused. */
const MAX_QUEUED_BYTES = 256 * 1024;

type Phase = 'waiting' | 'body' | 'ended' | 'failed';

export class StreamedRequest implements Dispatcher.DispatchHandler {
  private started: Promise<ResponseStart> | undefined;
  /** The start's resolving functions, until it is settled. */
  private resolveStart: ((start: ResponseStart) => void) | undefined;
  private rejectStart: ((err: unknown) => void) | undefined;
  private controller: Dispatcher.DispatchController | undefined;
  /** abort() came before the request was sent: it is aborted as soon as it starts. */
  private pendingAbort: { reason: Error } | undefined;
  private phase: Phase = 'waiting';
  private failure: unknown;
  private sink: BodySink | undefined;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  /** The reader asked for a pause (as opposed to the queue's own). */
  private pausedByReader = false;

  constructor(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions) {
    this.started = new Promise<ResponseStart>((resolve, reject) => {
      this.resolveStart = resolve;
      this.rejectStart = reject;
    });
    // a start that nobody awaits any more (the caller gave up) must not become an unhandled rejection
    this.started.catch(() => undefined);
    try {
      dispatcher.dispatch(options, this);
    } catch (err) {
      // undici refused the request outright (an invalid header value, say)
      this.phase = 'failed';
      this.settleStart(undefined, err);
    }
  }

  /** The response's start (status and headers) or the error of a request that got none; once. */
  takeStart(): Promise<ResponseStart> {
    const started = this.started;
    if (!started) throw new Error('StreamedRequest: the start was already taken');
    this.started = undefined;
    return started;
  }

  /** Where the body goes from now on; chunks kept so far follow right after this call returns. */
  attach(sink: BodySink): void {
    this.sink = sink;
    if (this.queue.length === 0 && this.phase === 'body') return;
    // a promise reaction rather than queueMicrotask, which makes an AsyncResource per call
    void Promise.resolve().then(() => this.deliverQueued(sink));
  }

  /** Stops handing over body chunks (the socket is not read meanwhile) until resume(). */
  pause(): void {
    this.pausedByReader = true;
    this.controller?.pause();
  }

  resume(): void {
    this.pausedByReader = false;
    if (this.queuedBytes <= MAX_QUEUED_BYTES) this.controller?.resume();
  }

  /** Ends the request now (the connection is not reused); the error path follows with `reason`. */
  abort(reason: Error): void {
    if (this.phase === 'ended' || this.phase === 'failed') return;
    if (this.controller) this.controller.abort(reason);
    else this.pendingAbort ??= { reason };
  }

  /**
   * The reader needs nothing more: the rest of the body is read and dropped so the connection
   * goes back to the pool, at most `maxBytes` more and for at most `maxMs`; past either bound the
   * request is aborted instead. Resolves when the request is over either way.
   */
  drain(maxBytes: number, maxMs: number): Promise<void> {
    if (this.phase === 'ended' || this.phase === 'failed') return Promise.resolve();
    return new Promise<void>((resolve) => {
      let left = maxBytes;
      const timer = setTimeout(() => this.abort(new Error('the rest of the body took too long to arrive')), maxMs);
      timer.unref();
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.queue = [];
      this.queuedBytes = 0;
      this.sink = {
        data: (chunk) => {
          left -= chunk.length;
          if (left < 0) this.abort(new Error('too much body left after the end of the answer'));
        },
        end: done,
        error: done,
      };
      this.resume();
    });
  }

  /**
   * The body as text. Past `limit` bytes the request is dropped: with `truncate` (an error
   * answer's body, read only to explain the error) the first `limit` bytes are what it gives,
   * and a body that breaks off gives what came; otherwise both reject (the error as undici gave
   * it, or a BodyTooLongError).
   */
  readText(limit: number, opts: { truncate: boolean }): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const text = () => Buffer.concat(chunks).toString('utf8');
      this.attach({
        data: (chunk) => {
          if (size > limit) return;
          size += chunk.length;
          if (size <= limit) {
            chunks.push(chunk);
            return;
          }
          const err = new BodyTooLongError(limit);
          this.abort(err);
          if (!opts.truncate) return reject(err);
          chunks.push(chunk.subarray(0, chunk.length - (size - limit)));
          resolve(text());
        },
        end: () => resolve(text()),
        error: (err) => (opts.truncate ? resolve(text()) : reject(err)),
      });
    });
  }

  // ---- undici's handler interface -------------------------------------------------------------

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.pendingAbort) controller.abort(this.pendingAbort.reason);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.controller = controller;
    // the parsed headers are all we use: the raw ones (views of the socket's first read) need not live as long as the stream
    controller.rawHeaders = null;
    this.phase = 'body';
    if (this.pausedByReader) controller.pause();
    this.settleStart({ status: statusCode, headers });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.sink && this.queue.length === 0) {
      this.sink.data(chunk);
      return;
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > MAX_QUEUED_BYTES) controller.pause();
  }

  onResponseEnd(): void {
    this.phase = 'ended';
    if (this.sink && this.queue.length === 0) this.sink.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.phase === 'waiting') {
      this.phase = 'failed';
      this.settleStart(undefined, err);
      return;
    }
    this.phase = 'failed';
    this.failure = err;
    if (this.sink && this.queue.length === 0) this.sink.error(err);
  }

  // ---------------------------------------------------------------------------------------------

  private settleStart(start: ResponseStart | undefined, err?: unknown): void {
    const resolve = this.resolveStart;
    const reject = this.rejectStart;
    this.resolveStart = undefined;
    this.rejectStart = undefined;
    if (start) resolve?.(start);
    else reject?.(err);
  }

  private deliverQueued(sink: BodySink): void {
    while (this.queue.length > 0 && this.sink === sink) {
      const chunk = this.queue.shift()!;
      this.queuedBytes -= chunk.length;
      sink.data(chunk);
    }
    if (this.sink !== sink) return;
    if (!this.pausedByReader && this.phase === 'body') this.controller?.resume();
    if (this.phase === 'ended') sink.end();
    else if (this.phase === 'failed') sink.error(this.failure);
  }
}
