/**
 * The seam between the pool and the Codex backend. One implementation talks HTTP with undici
 * (codex-client.ts); tests may substitute their own.
 */
import type { UpstreamBody } from './upstream-body.js';

/** What an upstream call needs from an account. */
export interface UpstreamAuth {
  accessToken: string;
  accountId: string;
}

/** The usage headers every backend response carries (x-codex-primary-*, x-codex-secondary-*). */
export interface UsageWindow {
  usedPercent?: number;
  windowMinutes?: number;
  /** ms since epoch */
  resetAt?: number;
  /** x-codex-*-reset-after-seconds as sent (relative to when the response was received). */
  resetAfterSeconds?: number;
}
export interface UsageSnapshot {
  primary?: UsageWindow;
  secondary?: UsageWindow;
}

/** One SSE event from /responses: `type` plus the event's JSON payload. */
export interface ResponsesEvent {
  type: string;
  [key: string]: unknown;
}

/** A successful (2xx) /responses call whose body has not been read yet. */
export interface UpstreamStream {
  status: number;
  /** What the response's x-codex-* headers said (the headers themselves are not kept: a stream may live for minutes). */
  usage: UsageSnapshot;
  /** The raw SSE bytes, for pass-through without re-parsing. Consume either this or `events()`, not both. */
  raw(): AsyncIterable<Uint8Array>;
  /** Parsed events; ends after response.completed/failed/incomplete or throws UpstreamFailure('stream_closed'). */
  events(): AsyncIterable<ResponsesEvent>;
  /**
   * Push-based reading, for the request path: every body chunk goes to `sink.data` as it
   * arrives (no async iteration per chunk). Consume only one of read(), raw() and events().
   */
  read(sink: UpstreamSink): UpstreamReader;
  /** Aborts the underlying request. */
  cancel(): void;
}

/** Where read() delivers the body. Exactly one of end() and error() is called, unless released or cancelled first. */
export interface UpstreamSink {
  data(chunk: Buffer): void;
  /** The body ended (the reader decides whether a terminal event was in it). */
  end(): void;
  /** The body broke: an UpstreamFailure('stream_closed', …), or the abort error when the caller aborted. */
  error(err: unknown): void;
}

export interface UpstreamReader {
  /** Stops delivering until resume() (backpressure from the client). */
  pause(): void;
  resume(): void;
  /**
   * The terminal event was seen: nothing more is delivered, the caller's abort signal is no
   * longer followed, and the rest of the body is drained (bounded) so the connection is reused.
   */
  release(): void;
}

/**
 * How a failed upstream call is classified; the pool decides what to do from `kind` alone.
 * - unauthorized: 401 on an API call → refresh once and retry.
 * - usage_limit: 429 usage_limit_reached → cool down until resetAt.
 * - rate_limited: 429 rate_limit_exceeded → cool down for retryAfterMs.
 * - overloaded: 503 server_is_overloaded / slow_down → short cooldown, try the next account.
 * - server: other 5xx → short cooldown, try the next account.
 * - network: connection refused/reset/timeout before a response → short cooldown, next account.
 * - bad_request: 400 (unsupported parameter, unknown model) → not retried; shown to the client.
 * - forbidden: 403 → not retried on this account.
 * - not_found: 404.
 * - stream_closed: the SSE stream ended before a terminal event.
 * - response_failed: response.failed / response.incomplete inside the stream.
 */
export type FailureKind =
  | 'unauthorized'
  | 'usage_limit'
  | 'rate_limited'
  | 'overloaded'
  | 'server'
  | 'network'
  | 'bad_request'
  | 'forbidden'
  | 'not_found'
  | 'stream_closed'
  | 'response_failed';

export class UpstreamFailure extends Error {
  readonly kind: FailureKind;
  readonly status: number | undefined;
  /** Upstream error code when one was given (usage_limit_reached, server_is_overloaded, …). */
  readonly code: string | undefined;
  /** Absolute time the limit resets, ms since epoch. */
  readonly resetAt: number | undefined;
  /** Relative wait the upstream asked for, ms. */
  readonly retryAfterMs: number | undefined;
  readonly usage: UsageSnapshot | undefined;

  constructor(
    kind: FailureKind,
    message: string,
    init: { status?: number; code?: string; resetAt?: number; retryAfterMs?: number; usage?: UsageSnapshot; cause?: unknown } = {},
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'UpstreamFailure';
    this.kind = kind;
    this.status = init.status;
    this.code = init.code;
    this.resetAt = init.resetAt;
    this.retryAfterMs = init.retryAfterMs;
    this.usage = init.usage;
  }
}

export interface BackendModel {
  slug: string;
  [key: string]: unknown;
}

export interface UpstreamClient {
  /** POST {base-url}/responses with stream:true (the body as an object, or serialised once for every attempt). Resolves once headers arrive; non-2xx → throws UpstreamFailure. */
  responses(
    auth: UpstreamAuth,
    body: UpstreamBody | Record<string, unknown>,
    opts?: { signal?: AbortSignal; sessionId?: string; headers?: Readonly<Record<string, string>> },
  ): Promise<UpstreamStream>;
  /** GET {base-url}/models?client_version=… → the live model list for the account's plan. */
  models(auth: UpstreamAuth, opts?: { signal?: AbortSignal }): Promise<BackendModel[]>;
  close(): Promise<void>;
}
