/**
 * The pieces of an upstream attempt the handlers share: starting the request, classifying what
 * broke, the non-streaming call, and how a committed stream fails. An attempt is read far
 * enough to know it worked (upstream-pump.ts): up to the first event that carries content
 * (past response.created / in_progress). Anything that fails before that point (HTTP status,
 * network, a response.failed) is thrown as an UpstreamFailure so the pool can retry on another
 * account; nothing has reached the client yet.
 */
import type { AttemptResult, PoolAccount } from '../accounts/attempt.js';
import { ApiError, InternalError } from '../errors.js';
import { apiErrorFromFailure } from '../upstream/api-error.js';
import { failureFromEvent, isTerminalEvent } from '../upstream/events.js';
import { SseByteEvents, type SseConsumer } from '../upstream/sse-bytes.js';
import { UpstreamFailure, type ResponsesEvent, type UpstreamStream } from '../upstream/types.js';
import type { UpstreamBody } from '../upstream/upstream-body.js';
import { abortError } from '../util/clock.js';
import { scrubText } from '../util/redact.js';
import type { CallOptions, HandlerDeps } from './deps.js';
import type { OutputBuilder } from './output-builder.js';
import { openPumped, type Output, type StreamTranslator } from './upstream-pump.js';

/** Events that come before any output; an attempt is not committed until something past them arrived. */
export const PRELUDE_EVENTS: ReadonlySet<string> = new Set(['response.created', 'response.in_progress', 'response.queued']);

/**
 * I/O errors (they carry a `code`: ECONNRESET, UND_ERR_SOCKET, …) thrown while reading the body
 * and not already classified become network failures. Anything else is a bug of ours and stays
 * what it is: a 500 (or an error event) that blames neither the network nor the account.
 */
export function asUpstreamFailure(err: unknown, signal: AbortSignal): unknown {
  // an ApiError is already the client's answer (e.g. a body that cannot be sent: the request's fault)
  if (err instanceof UpstreamFailure || err instanceof ApiError) return err;
  if (signal.aborted) return err;
  if (typeof (err as { code?: unknown } | null)?.code !== 'string') return err;
  const message = err instanceof Error ? err.message : String(err);
  return new UpstreamFailure('network', `upstream stream broke: ${scrubText(message)}`, { cause: err });
}

/** Usage numbers from a terminal event (response.completed carries them), for the attempt's result. */
export function tokenCounts(terminal: ResponsesEvent | undefined): AttemptResult {
  if (!terminal || !isTerminalEvent(terminal)) return {};
  const usage = (terminal['response'] as { usage?: { input_tokens?: unknown; output_tokens?: unknown } } | undefined)?.usage;
  return {
    inputTokens: typeof usage?.input_tokens === 'number' ? usage.input_tokens : undefined,
    outputTokens: typeof usage?.output_tokens === 'number' ? usage.output_tokens : undefined,
  };
}

export function cancelQuietly(stream: UpstreamStream): void {
  try {
    stream.cancel();
  } catch {
    // already finished
  }
}

/** The upstream request of one attempt, cancelled when the client goes away. */
export interface StartedAttempt {
  stream: UpstreamStream;
  /** Stops cancelling the stream on client abort (the attempt ended or was cleaned up). */
  detach(): void;
}

/**
 * Sends the attempt's request. A failure is reported to onAttempt and thrown as an
 * UpstreamFailure; on success the stream is cancelled whenever the call's signal aborts.
 */
export async function startAttempt(
  deps: HandlerDeps,
  account: PoolAccount,
  body: UpstreamBody,
  call: CallOptions,
): Promise<StartedAttempt> {
  if (call.trace) {
    call.trace.accountId = account.accountId;
    call.trace.attempts++;
  }
  let stream: UpstreamStream;
  try {
    stream = await deps.upstream.responses(account.auth, body, { signal: call.signal, sessionId: call.sessionId, headers: call.upstreamHeaders });
  } catch (err) {
    throw reportFailure(deps, account, err, call.signal);
  }
  if (call.signal.aborted) {
    cancelQuietly(stream);
    throw abortError(call.signal);
  }
  return new CancelOnAbort(stream, call.signal);
}

/** A started attempt that cancels its stream when the call's signal aborts: its own listener (handleEvent), no closures per stream. */
class CancelOnAbort implements StartedAttempt {
  constructor(
    readonly stream: UpstreamStream,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', this, { once: true });
  }

  handleEvent(): void {
    cancelQuietly(this.stream);
  }

  detach(): void {
    this.signal.removeEventListener('abort', this);
  }
}

/** Reports a failed attempt to onAttempt (metrics) and returns what to throw to the pool. */
export function reportFailure(deps: HandlerDeps, account: PoolAccount, err: unknown, signal: AbortSignal): unknown {
  const failure = asUpstreamFailure(err, signal);
  const outcome = failure instanceof UpstreamFailure ? failure.kind : failure instanceof ApiError ? 'client_error' : signal.aborted ? 'aborted' : 'internal_error';
  deps.onAttempt?.(account.accountId, outcome);
  return failure;
}

/**
 * The whole non-streaming call: an attempt per account through the pool (retried on another
 * account while nothing reached the client, i.e. until the last event was read), every event
 * collected, the outcome recorded.
 */
export async function collectResponse(
  deps: HandlerDeps,
  body: UpstreamBody,
  call: CallOptions & { affinityKey: string | undefined },
): Promise<ResponsesEvent[]> {
  const attempt = await openPumped(deps, { affinityKey: call.affinityKey, signal: call.signal }, body, call, () => new EventCollector(), 'ended');
  attempt.upstream.finish(attempt);
  return attempt.upstream.translator.events;
}

/**
 * What every translator follows about the attempt: a failure event before any content is
 * thrown as it is (the pool may still retry elsewhere), `started` at the first content event,
 * `ended` (and the terminal event kept, for the token counts) at the terminal one.
 */
export abstract class ProgressTracker {
  started = false;
  ended = false;
  protected terminal: ResponsesEvent | undefined;

  protected track(ev: ResponsesEvent): void {
    if (!this.started) {
      const failure = failureFromEvent(ev);
      if (failure) throw failure;
      if (!PRELUDE_EVENTS.has(ev.type)) this.started = true;
    }
    if (isTerminalEvent(ev)) {
      this.ended = true;
      this.terminal = ev;
    }
  }

  result(): AttemptResult {
    return tokenCounts(this.terminal);
  }
}

/**
 * A translator that turns each upstream event into output for the client: every event framed
 * on the bytes and parsed once, followed (track), handed to `translate`; what it produces goes
 * straight into the turn's OutputBuilder. A subclass may take some events from their bytes
 * instead (`translateRaw`: an event's one-line data before it is parsed; `translateEvent`: a
 * whole event at an event boundary, framing included), skipping the parse: the chat text deltas.
 */
export abstract class EventsToText extends ProgressTracker implements SseConsumer {
  readonly failedInBand: UpstreamFailure | undefined = undefined;
  private readonly frames = new SseByteEvents(this);
  /** The builder of the chunk being fed (set for the length of feed/endOfBody only). */
  protected out: OutputBuilder | undefined;

  /** SseConsumer: every event is read. */
  wants(): boolean {
    return true;
  }

  /** SseConsumer: a parsed event, followed and translated. */
  event(ev: ResponsesEvent): void {
    if (this.ended) return;
    this.track(ev);
    this.out!.addText(this.translate(ev));
  }

  /** SseConsumer: past the first content event, a one-line event may be translated from its bytes. */
  raw(name: string | undefined, data: Buffer): boolean {
    return !this.ended && this.started && this.translateRaw(name, data);
  }

  /** SseConsumer: past the first content event, a whole event may be translated from its bytes. */
  matchEvent(buf: Buffer, pos: number, words: DataView): number {
    return !this.ended && this.started ? this.translateEvent(buf, pos, words) : -1;
  }

  /** The text for one event (may throw UpstreamFailure, e.g. on response.failed). */
  protected abstract translate(ev: ResponsesEvent): string;

  /**
   * Offered each event past the first content event whose data is one line, before it is parsed:
   * true when it was handled from the bytes (its output added to `out`), false to have it parsed
   * and translated. None by default.
   */
  protected translateRaw(_name: string | undefined, _data: Buffer): boolean {
    return false;
  }

  /**
   * Offered each event past the first content event at an event boundary, as bytes (buf[pos] on):
   * the index after the event when it was handled from them (its output added to `out`), -1 to
   * have it framed and handed over as usual. None by default.
   */
  protected translateEvent(_buf: Buffer, _pos: number, _words: DataView): number {
    return -1;
  }

  feed(chunk: Buffer, out: OutputBuilder): void {
    this.out = out;
    try {
      this.frames.feed(chunk);
    } finally {
      this.out = undefined;
    }
  }

  endOfBody(out: OutputBuilder): void {
    this.out = out;
    try {
      this.frames.end();
    } finally {
      this.out = undefined;
    }
  }
}

/** Collects every event of a non-streaming call; a failure event is thrown (nothing was sent yet, so it can be retried). */
class EventCollector extends ProgressTracker implements StreamTranslator, SseConsumer {
  readonly events: ResponsesEvent[] = [];
  readonly failedInBand = undefined;
  private readonly frames = new SseByteEvents(this);

  feed(chunk: Buffer): void {
    this.frames.feed(chunk);
  }

  endOfBody(): void {
    this.frames.end();
  }

  wants(): boolean {
    return true;
  }

  event(ev: ResponsesEvent): void {
    if (this.ended) return;
    const failure = failureFromEvent(ev);
    if (failure) throw failure;
    this.track(ev);
    this.events.push(ev);
  }

  closing(): Output {
    return '';
  }

  failureEnding(): Output {
    return '';
  }
}

/** How a stream already committed to the client fails: what it sends, and what the pool records. */
export interface MidStreamFailure {
  /** The error for the client's in-band error chunk / response.failed event. */
  api: ApiError;
  /** The code of the response.failed event: the upstream's code or failure kind, or internal_error. */
  code: string;
  /** For the attempt: the upstream failure, or undefined for our own bugs (they do not cool the account down). */
  failure: UpstreamFailure | undefined;
}

/**
 * A failure after the first chunk reached the client (cannot be retried any more): upstream
 * failures are logged at warn with kind and code, our own bugs at error with the whole error.
 */
export function midStreamFailure(deps: HandlerDeps, err: unknown): MidStreamFailure {
  if (err instanceof UpstreamFailure) {
    deps.log.warn({ kind: err.kind, code: err.code }, 'upstream failed mid-stream');
    return { api: apiErrorFromFailure(err, deps.clock.now()), code: err.code ?? err.kind, failure: err };
  }
  deps.log.error({ err }, 'stream failed');
  const api = new InternalError();
  return { api, code: api.code ?? 'internal_error', failure: undefined };
}
