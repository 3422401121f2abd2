/**
 * The one read loop of the request path, shared by /v1/chat/completions, /v1/responses and
 * the non-streaming calls. Push-based: every upstream body chunk goes through the request's
 * StreamTranslator once (one SSE parse) and what it returns is pushed to the client's stream;
 * when the client is slow (push() says the buffer is full) the upstream is paused until the
 * client reads again. No async iteration per chunk.
 *
 * Two phases, as the pool's Attempt (src/accounts/attempt.ts) expects:
 * - before commit, inside AccountPool.open: readUntil() reads until the translator saw a
 *   content event (or the terminal one, for non-streaming calls) and keeps the output; a
 *   failure in this phase is thrown so the pool can retry on another account;
 * - commit(attempt) returns the answer as a StreamBody: written straight into the client's
 *   response (pipeTo: the kept output, then the upstream as it arrives; no Readable, pipe or
 *   stream state in between), or read as a Readable (exec, tests); the attempt is then settled
 *   exactly once: finish (terminal event), fail (broken upstream: the translator's error ending
 *   is sent, then the end), abandon (client gone, shutdown).
 */
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { Attempt, AccountRequest } from '../accounts/pool.js';
import type { AttemptResult } from '../accounts/attempt.js';
import type { ApiError } from '../errors.js';
import type { RequestTrace } from '../server/request-log.js';
import { UpstreamFailure, type UpstreamReader, type UpstreamSink, type UpstreamStream } from '../upstream/types.js';
import type { UpstreamBody } from '../upstream/upstream-body.js';
import type { CallOptions, HandlerDeps } from './deps.js';
import { OutputBuilder } from './output-builder.js';
import { asUpstreamFailure, midStreamFailure, reportFailure, startAttempt, type MidStreamFailure, type StartedAttempt } from './upstream-events.js';

export type Output = string | Uint8Array;

/** What a request does with the upstream's SSE bytes; one instance per attempt. */
export interface StreamTranslator {
  /** One upstream chunk in; what to send for it goes into `out`. Throws for an invalid or failure event it cannot pass on. */
  feed(chunk: Buffer, out: OutputBuilder): void;
  /** The body ended: what to send for a last event that lacked its blank line goes into `out` (may set `ended`, may throw). */
  endOfBody(out: OutputBuilder): void;
  /** A content event (past the prelude) arrived: the attempt can be committed. */
  readonly started: boolean;
  /** The terminal event arrived. */
  readonly ended: boolean;
  /** A failure the client already received in its own format (a forwarded response.failed): recorded, not sent again. */
  readonly failedInBand: UpstreamFailure | undefined;
  /** Sent after the terminal event (chat: `[DONE]`). */
  closing(): Output;
  /** Sent when the stream breaks after commit (an error chunk / response.failed event). */
  failureEnding(failure: MidStreamFailure): Output;
  /** Token counts for the account. */
  result(): AttemptResult;
  /**
   * Set together with `ended` when the proxy ended the answer itself (a stop sequence, a token
   * limit): the rest of the upstream answer is not needed, so the request is cancelled rather
   * than drained. The attempt still counts as a success.
   */
  readonly cut?: boolean;
  /** Sent after `everyMs` without upstream data, and again every `everyMs` while it stays quiet (Anthropic's pings). */
  readonly keepAlive?: { everyMs: number; output(): Output };
}

type Phase = 'reading' | 'ended' | 'failed' | 'stopped';

const RESOLVED = Promise.resolve();

/** A committed answer: delivered once, into a writable or as a readable. */
export interface StreamBody {
  /**
   * Writes the answer into `target` (the client's ServerResponse): what was kept before the
   * commit, then the rest as it arrives, then `end()`. A full buffer (write() says false)
   * pauses the upstream until 'drain'; a 'close' before the end (the client left) cancels the
   * upstream and abandons the attempt.
   */
  pipeTo(target: Writable): void;
  /** The same answer as a Readable (exec, tests); destroying it is the client leaving. */
  readable(): Readable;
  /**
   * Ends the answer now with `error` (server shutdown): the translator's failure ending (an
   * error chunk and `[DONE]`, a response.failed event, an Anthropic error event), then the end;
   * the upstream is cancelled and the attempt abandoned. Nothing happens before pipeTo() or after
   * the end.
   */
  stop(error: ApiError): void;
}

export class UpstreamPump<T extends StreamTranslator = StreamTranslator> implements StreamBody, UpstreamSink {
  private readonly stream: UpstreamStream;
  private readonly reader: UpstreamReader;
  private phase: Phase = 'reading';
  /** Output not written yet: before pipeTo, what the attempt produced until its commit; after it, the current event-loop turn's (see flush). */
  private readonly output = new OutputBuilder();
  private flushScheduled = false;
  /** Where the committed answer goes (set by pipeTo). */
  private out: Writable | undefined;
  private attempt: Attempt<unknown> | undefined;
  private failure: unknown;
  private waiter: { until: 'started' | 'ended'; resolve: () => void; reject: (err: unknown) => void } | undefined;
  /** When upstream data last arrived (keep-alive only). */
  private lastData = 0;
  private cancelKeepAlive: (() => void) | undefined;

  constructor(
    private readonly started: StartedAttempt,
    readonly translator: T,
    private readonly deps: HandlerDeps,
    private readonly signal: AbortSignal,
    /** The request's trace: the attempt's tokens and a failure after the first byte go there too. */
    private readonly trace?: RequestTrace,
  ) {
    this.stream = started.stream;
    // the pump is the reader's sink itself (data, end, error): no closures per stream
    this.reader = this.stream.read(this);
  }

  /** The upstream response's usage headers. */
  get usage(): UpstreamStream['usage'] {
    return this.stream.usage;
  }

  /** Resolves once the translator `started` (or ended), or `ended`; rejects with the failure (the upstream request is cancelled then). */
  readUntil(until: 'started' | 'ended'): Promise<void> {
    if (this.phase === 'failed') return Promise.reject(this.failure);
    if (this.reached(until)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiter = { until, resolve, reject };
    });
  }

  /**
   * The client gets its first bytes now: commits the attempt (no more retries) and returns the
   * answer, to be piped once. The attempt is settled by the pump.
   */
  commit(attempt: Attempt<unknown>): StreamBody {
    this.attempt = attempt;
    attempt.commit();
    return this;
  }

  pipeTo(target: Writable): void {
    if (!this.attempt) throw new Error('UpstreamPump: pipeTo before commit');
    if (this.out) throw new Error('UpstreamPump: the answer is already piped');
    this.out = target;
    target.on('drain', this.onDrain);
    target.on('close', this.onClose);
    if (this.translator.keepAlive) {
      this.lastData = this.deps.clock.now();
      this.armKeepAlive(this.translator.keepAlive.everyMs);
    }
    this.scheduleFlush();
    if (this.phase === 'ended') this.complete();
    else if (this.phase === 'failed') this.endWithFailure();
  }

  readable(): Readable {
    const pass = new PassThrough();
    this.pipeTo(pass);
    return pass;
  }

  private readonly onDrain = () => {
    if (this.phase === 'reading') this.reader.resume();
  };

  /** The target closed: after the end that is normal; before it, the client went away: stop the upstream, count nothing. */
  private readonly onClose = () => {
    this.disarmKeepAlive();
    const out = this.out!;
    out.off('drain', this.onDrain);
    out.off('close', this.onClose);
    if (out.writableFinished || this.phase !== 'reading') return;
    this.phase = 'stopped';
    this.cancelUpstream();
    this.attempt!.abandon();
  };

  stop(error: ApiError): void {
    if (this.phase !== 'reading' || !this.out) return;
    this.phase = 'stopped';
    this.cancelUpstream();
    this.attempt?.abandon();
    this.emit(this.translator.failureEnding({ api: error, code: error.code ?? error.type, failure: undefined }));
    this.endOutput();
  }

  /** Settles a non-streaming attempt that read to the end. */
  finish(attempt: Attempt<unknown>): void {
    this.settle(attempt);
  }

  // ---- upstream events (UpstreamSink: the reader calls these) ---------------------------------

  /** An upstream body chunk. */
  data(chunk: Buffer): void {
    if (this.phase !== 'reading') return;
    if (this.cancelKeepAlive) this.lastData = this.deps.clock.now();
    try {
      this.translator.feed(chunk, this.output);
    } catch (err) {
      this.fail(err);
      return;
    } finally {
      // what the chunk produced before a failure goes out too (before the failure's ending)
      this.scheduleFlush();
    }
    if (this.translator.ended) {
      this.phase = 'ended';
      if (this.translator.cut) this.cancelUpstream();
      else {
        this.reader.release();
        this.started.detach();
      }
      if (this.out) this.complete();
      else this.wake();
    } else if (this.waiter && this.reached(this.waiter.until)) {
      this.wake();
    }
  }

  /** The upstream body ended. */
  end(): void {
    if (this.phase !== 'reading') return;
    try {
      this.translator.endOfBody(this.output);
    } catch (err) {
      this.fail(err);
      return;
    } finally {
      this.scheduleFlush();
    }
    if (!this.translator.ended) {
      this.fail(new UpstreamFailure('stream_closed', 'stream closed before response.completed', { code: 'stream_closed' }));
      return;
    }
    this.started.detach();
    this.phase = 'ended';
    if (this.out) this.complete();
    else this.wake();
  }

  /** The upstream body broke. */
  error(err: unknown): void {
    this.fail(err);
  }

  private fail(err: unknown): void {
    if (this.phase !== 'reading') return;
    this.phase = 'failed';
    this.failure = asUpstreamFailure(err, this.signal);
    this.cancelUpstream();
    if (this.out) this.endWithFailure();
    else if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(this.failure);
    }
  }

  // ---- the client's side ----------------------------------------------------------------------

  private reached(until: 'started' | 'ended'): boolean {
    return this.phase === 'ended' || (until === 'started' && this.translator.started);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve();
  }

  /** Queues output for the client (see flush). */
  private emit(o: Output): void {
    this.output.add(o);
    this.scheduleFlush();
  }

  /**
   * Output goes out once per turn of the event loop: undici hands over every HTTP chunk of one
   * socket read in a row, and what they produce is written as one chunk, so as one socket write
   * (one write per upstream read instead of one per event). Before pipeTo it is only kept.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled || !this.out || this.output.isEmpty) return;
    this.flushScheduled = true;
    // a promise reaction rather than queueMicrotask, which makes an AsyncResource per call
    void RESOLVED.then(this.flushSoon);
  }

  private readonly flushSoon = () => this.flush();

  /** Writes what is queued as one chunk. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.output.isEmpty) return;
    const out = this.output.take();
    if (!this.out || this.out.destroyed) return;
    if (!this.out.write(out) && this.phase === 'reading') this.reader.pause();
  }

  /**
   * Sends what is queued together with the end: `end(last)` writes the last output and the
   * response's end (the chunked terminator) as one socket write, where a write and then `end()`
   * made two (and had the client wait for the second). A whole answer that arrived in one turn
   * goes out in a single write.
   */
  private endOutput(): void {
    this.disarmKeepAlive();
    this.flushScheduled = false;
    const last = this.output.isEmpty ? undefined : this.output.take();
    const out = this.out!;
    if (out.destroyed) return;
    if (last === undefined) out.end();
    else out.end(last);
  }

  /** Keep-alive output after `everyMs` of upstream silence, on the injected clock; one timer per stream, not one per chunk. */
  private armKeepAlive(inMs: number): void {
    this.cancelKeepAlive = this.deps.clock.schedule(inMs, this.onKeepAliveTimer);
  }

  private readonly onKeepAliveTimer = () => {
    this.cancelKeepAlive = undefined;
    if (this.phase !== 'reading' || !this.out || this.out.destroyed) return;
    const keepAlive = this.translator.keepAlive!;
    const quietFor = this.deps.clock.now() - this.lastData;
    if (quietFor >= keepAlive.everyMs) {
      this.emit(keepAlive.output());
      this.lastData = this.deps.clock.now();
      this.armKeepAlive(keepAlive.everyMs);
    } else {
      this.armKeepAlive(keepAlive.everyMs - quietFor);
    }
  };

  private disarmKeepAlive(): void {
    this.cancelKeepAlive?.();
    this.cancelKeepAlive = undefined;
  }

  private complete(): void {
    this.emit(this.translator.closing());
    this.endOutput();
    this.settle(this.attempt!);
  }

  private settle(attempt: Attempt<unknown>): void {
    const result = { ...this.translator.result(), usage: this.stream.usage };
    const inBand = this.translator.failedInBand;
    this.traceOutcome(result, inBand !== undefined);
    if (inBand) attempt.fail(inBand, result);
    else attempt.finish(result);
  }

  private traceOutcome(result: AttemptResult, failed: boolean): void {
    if (!this.trace) return;
    this.trace.inputTokens = result.inputTokens;
    this.trace.outputTokens = result.outputTokens;
    if (failed) this.trace.failedMidStream = true;
  }

  private endWithFailure(): void {
    const attempt = this.attempt!;
    if (this.signal.aborted) {
      attempt.abandon();
      this.endOutput();
      return;
    }
    const mid: MidStreamFailure = midStreamFailure(this.deps, this.failure);
    this.emit(this.translator.failureEnding(mid));
    this.endOutput();
    const result = { ...this.translator.result(), usage: this.stream.usage };
    this.traceOutcome(result, true);
    attempt.fail(mid.failure ?? this.failure, result);
  }

  private cancelUpstream(): void {
    this.started.detach();
    try {
      this.stream.cancel();
    } catch {
      // already finished
    }
  }
}

/**
 * One attempt through the pool whose upstream stream is read by a pump: started, then read
 * until `until` (a failure up to there is retried on another account by the pool).
 */
export function openPumped<T extends StreamTranslator>(
  deps: HandlerDeps,
  req: AccountRequest,
  body: UpstreamBody,
  call: CallOptions,
  translator: () => T,
  until: 'started' | 'ended',
): Promise<Attempt<UpstreamPump<T>>> {
  return deps.pool.open(req, async ({ account }) => {
    const started = await startAttempt(deps, account, body, call);
    const pump = new UpstreamPump(started, translator(), deps, call.signal, call.trace);
    try {
      await pump.readUntil(until);
    } catch (err) {
      throw reportFailure(deps, account, err, call.signal);
    }
    deps.onAttempt?.(account.accountId, 'ok');
    return pump;
  });
}
