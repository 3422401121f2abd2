/**
 * One upstream attempt, read far enough to know it worked: the request is sent and events are
 * read up to the first one that carries content (past response.created / in_progress). Anything
 * that fails before that point (HTTP status, network, a response.failed) is thrown as an
 * UpstreamFailure so the pool can retry on another account; nothing has reached the client yet.
 */
import type { PoolAccount } from '../../accounts/pool.js';
import { InternalError, type ApiError } from '../../errors.js';
import { apiErrorFromFailure } from '../../upstream/api-error.js';
import { failureFromEvent, isTerminalEvent } from '../../upstream/events.js';
import { UpstreamFailure, type ResponsesEvent, type UpstreamStream, type UsageSnapshot } from '../../upstream/types.js';
import { abortError } from '../../util/clock.js';
import { scrubText } from '../../util/redact.js';
import type { CallOptions, HandlerDeps } from './deps.js';

/** Events that come before any output; an attempt is not committed until something past them arrived. */
export const PRELUDE_EVENTS: ReadonlySet<string> = new Set(['response.created', 'response.in_progress', 'response.queued']);

export interface OpenedStream {
  account: PoolAccount;
  stream: UpstreamStream;
  /** Events already read (prelude plus the first content event), to be replayed first. */
  head: ResponsesEvent[];
  /** The remaining events. */
  rest: AsyncIterator<ResponsesEvent>;
}

/** Errors thrown while reading the body that are not already classified become network failures. */
export function asUpstreamFailure(err: unknown, signal: AbortSignal): unknown {
  if (err instanceof UpstreamFailure) return err;
  if (signal.aborted) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new UpstreamFailure('network', `upstream stream broke: ${scrubText(message)}`, { cause: err });
}

/** Usage numbers from a response.completed event, for pool.recordResult. */
export function tokenCounts(events: readonly ResponsesEvent[]): { inputTokens?: number; outputTokens?: number } {
  for (let i = events.length - 1; i >= 0; i--) {
    const ev = events[i]!;
    if (!isTerminalEvent(ev)) continue;
    const usage = (ev['response'] as { usage?: { input_tokens?: unknown; output_tokens?: unknown } } | undefined)?.usage;
    return {
      inputTokens: typeof usage?.input_tokens === 'number' ? usage.input_tokens : undefined,
      outputTokens: typeof usage?.output_tokens === 'number' ? usage.output_tokens : undefined,
    };
  }
  return {};
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
  /** Stops cancelling the stream on client abort (the attempt failed and was cleaned up). */
  detach(): void;
}

/**
 * Sends the attempt's request. A failure is reported to onAttempt and thrown as an
 * UpstreamFailure; on success the stream is cancelled whenever the call's signal aborts.
 */
export async function startAttempt(
  deps: HandlerDeps,
  account: PoolAccount,
  body: Record<string, unknown>,
  call: CallOptions,
): Promise<StartedAttempt> {
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
  const onAbort = () => cancelQuietly(stream);
  call.signal.addEventListener('abort', onAbort, { once: true });
  return { stream, detach: () => call.signal.removeEventListener('abort', onAbort) };
}

/** Ends a failed attempt: cancels its stream, reports the failure and returns what to throw. */
export function failAttempt(deps: HandlerDeps, account: PoolAccount, started: StartedAttempt, err: unknown, signal: AbortSignal): unknown {
  started.detach();
  cancelQuietly(started.stream);
  return reportFailure(deps, account, err, signal);
}

function reportFailure(deps: HandlerDeps, account: PoolAccount, err: unknown, signal: AbortSignal): unknown {
  const failure = asUpstreamFailure(err, signal);
  deps.onAttempt?.(account.accountId, failure instanceof UpstreamFailure ? failure.kind : 'aborted');
  return failure;
}

/** Runs one attempt on `account`: opens the stream and reads up to the first content event. */
export async function openStream(
  deps: HandlerDeps,
  account: PoolAccount,
  body: Record<string, unknown>,
  call: CallOptions,
): Promise<OpenedStream> {
  const started = await startAttempt(deps, account, body, call);
  const { stream } = started;
  const rest = stream.events()[Symbol.asyncIterator]();
  const head: ResponsesEvent[] = [];
  try {
    for (;;) {
      const next = await rest.next();
      if (next.done) throw new UpstreamFailure('stream_closed', 'stream closed before response.completed');
      const ev = next.value;
      const failure = failureFromEvent(ev);
      if (failure) throw failure;
      head.push(ev);
      if (!PRELUDE_EVENTS.has(ev.type)) break;
    }
  } catch (err) {
    throw failAttempt(deps, account, started, err, call.signal);
  }
  deps.onAttempt?.(account.accountId, 'ok');
  return { account, stream, head, rest };
}

/**
 * Reads every remaining event; throws UpstreamFailure on response.failed or a broken stream.
 * Once the terminal event was read, the upstream stream is let go (releaseStream).
 */
export async function collectRest(opened: OpenedStream, signal: AbortSignal): Promise<ResponsesEvent[]> {
  const events = [...opened.head];
  let terminal = opened.head.some(isTerminalEvent);
  try {
    while (!terminal) {
      const next = await opened.rest.next();
      if (next.done) break;
      const failure = failureFromEvent(next.value);
      if (failure) throw failure;
      events.push(next.value);
      terminal = isTerminalEvent(next.value);
    }
  } catch (err) {
    cancelQuietly(opened.stream);
    throw asUpstreamFailure(err, signal);
  }
  if (!terminal) throw new UpstreamFailure('stream_closed', 'stream closed before response.completed');
  releaseStream(opened.rest);
  return events;
}

/**
 * After the terminal event: ends the iteration over the upstream body so its cleanup runs
 * (the rest of the body is drained or the socket released) instead of waiting for the GC.
 */
export function releaseStream(rest: AsyncIterator<unknown>): void {
  void rest.return?.().catch(() => undefined);
}

/**
 * The whole non-streaming call: an attempt per account through the pool (retried on another
 * account while nothing reached the client), every event read, the outcome recorded.
 */
export async function collectResponse(
  deps: HandlerDeps,
  body: Record<string, unknown>,
  call: CallOptions & { affinityKey: string | undefined },
): Promise<ResponsesEvent[]> {
  const { opened, events } = await deps.pool.withAccount({ affinityKey: call.affinityKey, signal: call.signal }, async ({ account }) => {
    const opened = await openStream(deps, account, body, call);
    return { opened, events: await collectRest(opened, call.signal) };
  });
  recordOutcome(deps, opened.account.accountId, true, events, opened.stream.usage);
  return events;
}

/** How a stream already committed to the client fails: what it sends, and what the pool records. */
export interface MidStreamFailure {
  /** The error for the client's in-band error chunk / response.failed event. */
  api: ApiError;
  /** The code of the response.failed event: the upstream's code or failure kind, or internal_error. */
  code: string;
  /** For recordOutcome: the upstream failure, or undefined for our own bugs (they do not cool the account down). */
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

export function recordOutcome(
  deps: HandlerDeps,
  accountId: string,
  ok: boolean,
  events: readonly ResponsesEvent[],
  usage: UsageSnapshot | undefined,
  failure?: unknown,
): void {
  deps.pool.recordResult(accountId, { ok, ...tokenCounts(events), usage, failure });
}
