import os from 'node:os';
import type { Readable } from 'node:stream';
import { createParser } from 'eventsource-parser';
// undici's Pool alone, not the whole package (start-up time; see src/types/undici-pool.d.ts)
import Pool from 'undici/lib/dispatcher/pool.js';
import type { Dispatcher } from 'undici';
import { InvalidRequestError } from '../errors.js';
import { abortError, systemClock } from '../util/clock.js';
import type { Clock } from '../util/clock.js';
import { scrubText } from '../util/redact.js';
import { classifyFailure } from './classify.js';
import { headerSafe } from './header-value.js';
import { isTerminalEvent, TERMINAL_EVENT_TYPES } from './events.js';
import { parseSse } from './sse.js';
import { UpstreamFailure } from './types.js';
import type { BackendModel, ResponsesEvent, UpstreamAuth, UpstreamClient, UpstreamReader, UpstreamSink, UpstreamStream, UsageSnapshot } from './types.js';
import { parseUsageHeaders } from './usage-headers.js';
import { UpstreamBody } from './upstream-body.js';
import { BodyTooLongError, StreamedRequest, type BodySink, type ResponseStart } from './streamed-request.js';

/**
 * The HTTP client for the Codex backend (protocol.md §4): one keep-alive undici Pool for the
 * backend's origin, created once; headers, timeouts and error classification in one place.
 * Tokens only ever go into the request headers here.
 */

export interface CodexClientOptions {
  /** e.g. https://chatgpt.com/backend-api/codex (no trailing slash needed). */
  baseUrl: string;
  /** `originator` header and User-Agent product (codex_cli_rs by default in config). */
  originator: string;
  /** The Codex CLI version we claim (`codex.client-version`): `client_version` on /models, the `version` header, the User-Agent. */
  version: string;
  clock?: Clock;
  /** Headers timeout and body idle timeout (between two chunks). Default 600 s. */
  requestTimeoutMs?: number;
  /** Bring your own dispatcher (a proxy agent, a test agent); it is not closed by close(). */
  dispatcher?: Dispatcher;
}

/** Longest /models answer read (the real one is a few dozen KB). */
const MAX_MODELS_BODY_BYTES = 8 * 1024 * 1024;
/** Longest error body read from a non-2xx answer. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** Left-over bytes after the terminal event that are drained (keeping the connection) rather than dropped. */
const MAX_DRAIN_BYTES = 64 * 1024;
/** How long to wait for the end of the body after the terminal event before dropping the connection. */
const DRAIN_TIMEOUT_MS = 1000;

export function userAgent(originator: string, version: string): string {
  return `${originator}/${version} (${os.type()} ${os.release()}; ${os.machine()})`;
}

export class CodexClient implements UpstreamClient {
  private readonly origin: string;
  private readonly basePath: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly originator: string;
  private readonly version: string;
  private readonly userAgent: string;

  constructor(opts: CodexClientOptions) {
    const url = new URL(opts.baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.clock = opts.clock ?? systemClock;
    this.timeoutMs = opts.requestTimeoutMs ?? 600_000;
    this.originator = opts.originator;
    this.version = opts.version;
    this.userAgent = userAgent(opts.originator, opts.version);
    this.ownsDispatcher = opts.dispatcher === undefined;
    this.dispatcher =
      opts.dispatcher ??
      new Pool(this.origin, {
        keepAliveTimeout: 60_000,
        keepAliveMaxTimeout: 10 * 60_000,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
  }

  /** `Bearer <token>` per account, built once per token: every open stream's request holds it. */
  private readonly bearers = new Map<string, { token: string; header: string }>();

  private bearer(auth: UpstreamAuth): string {
    const known = this.bearers.get(auth.accountId);
    if (known?.token === auth.accessToken) return known.header;
    const header = `Bearer ${auth.accessToken}`;
    this.bearers.set(auth.accountId, { token: auth.accessToken, header });
    return header;
  }

  private baseHeaders(auth: UpstreamAuth, accept: string): Record<string, string> {
    return {
      authorization: this.bearer(auth),
      'chatgpt-account-id': auth.accountId,
      accept,
      originator: this.originator,
      'user-agent': this.userAgent,
      version: this.version,
    };
  }

  async responses(
    auth: UpstreamAuth,
    body: UpstreamBody | Record<string, unknown>,
    opts: { signal?: AbortSignal; sessionId?: string; headers?: Readonly<Record<string, string>> } = {},
  ): Promise<UpstreamStream> {
    // a Codex client's own headers (session-id, thread-id, x-codex-*, …) first: ours cannot be overridden
    const headers = { ...forwardable(opts.headers), ...this.baseHeaders(auth, 'text/event-stream') };
    headers['content-type'] = 'application/json';
    // the hyphenated form, as the Codex CLI sends it; a forwarded session-id is left as it is
    if (opts.sessionId && headers['session-id'] === undefined) headers['session-id'] = headerSafe(opts.sessionId);
    const payload = body instanceof UpstreamBody ? body : UpstreamBody.of(body);
    headers['content-length'] = String(payload.byteLength);
    const link = new AbortLink(opts.signal);
    const request = this.send(link, {
      path: `${this.basePath}/responses`,
      method: 'POST',
      headers,
      // undici's documented body types include (async) iterables; its TypeScript types do not list them
      body: sentOnce(payload.text) as unknown as Readable,
    });
    let start: ResponseStart;
    try {
      start = await request.takeStart();
    } catch (err) {
      link.release();
      throw this.requestFailure(err, opts.signal);
    }
    const now = this.clock.now();
    const flat = flattenHeaders(start.headers);
    const usage = parseUsageHeaders(flat, now);
    if (start.status < 200 || start.status >= 300) {
      const text = await request.readText(MAX_ERROR_BODY_BYTES, { truncate: true });
      link.release();
      throw classifyFailure(start.status, flat, text, now, usage);
    }
    return new CodexStream(start.status, usage, request, link, opts.signal, this.timeoutMs);
  }

  async models(auth: UpstreamAuth, opts: { signal?: AbortSignal } = {}): Promise<BackendModel[]> {
    const link = new AbortLink(opts.signal);
    const request = this.send(link, {
      path: `${this.basePath}/models?client_version=${encodeURIComponent(this.version)}`,
      method: 'GET',
      headers: this.baseHeaders(auth, 'application/json'),
    });
    try {
      let start: ResponseStart;
      try {
        start = await request.takeStart();
      } catch (err) {
        throw this.requestFailure(err, opts.signal);
      }
      const now = this.clock.now();
      const flat = flattenHeaders(start.headers);
      if (start.status < 200 || start.status >= 300) {
        throw classifyFailure(start.status, flat, await request.readText(MAX_ERROR_BODY_BYTES, { truncate: true }), now);
      }
      let text: string;
      try {
        text = await request.readText(MAX_MODELS_BODY_BYTES, { truncate: false });
      } catch (err) {
        // The backend answered; it is the body that broke off (or the caller aborted).
        if (opts.signal?.aborted) throw abortError(opts.signal);
        if (err instanceof BodyTooLongError) {
          throw new UpstreamFailure('server', `the Codex backend's /models answer is too long to be a model list (${err.message})`, { status: start.status, cause: err });
        }
        const reason = scrubText(errorCode(err) ?? (err instanceof Error ? err.message : String(err)));
        throw new UpstreamFailure('server', `the Codex backend's /models answer broke off (${reason})`, { status: start.status, cause: err });
      }
      return modelsFromJson(text, start.status);
    } finally {
      link.release();
    }
  }

  /** One request on the pool, aborted when the link is (the caller's signal, or cancel()). */
  private send(link: AbortLink, options: { path: string; method: 'GET' | 'POST'; headers: Record<string, string>; body?: Readable }): StreamedRequest {
    const request = new StreamedRequest(this.dispatcher, { origin: this.origin, ...options, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
    link.follow(request);
    return request;
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** A request that produced no response: aborted by the caller, timed out, or unreachable. */
  private requestFailure(err: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return abortError(signal);
    if (err instanceof UpstreamFailure) return err;
    const code = errorCode(err);
    if (code === 'UND_ERR_INVALID_ARG') {
      // undici refused to send it (a header value, the body): the request's doing, never the account's
      return new InvalidRequestError(`The request cannot be sent upstream: ${scrubText(err instanceof Error ? err.message : String(err))}.`, {
        code: 'invalid_request_value',
        cause: err,
      });
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return new UpstreamFailure('network', `the Codex backend did not answer within ${Math.round(this.timeoutMs / 1000)} s (codex.request-timeout-seconds)`, {
        code: 'timeout',
        cause: err,
      });
    }
    if (code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new UpstreamFailure('network', `timed out connecting to the Codex backend at ${this.origin}`, { code: 'timeout', cause: err });
    }
    // no error code: not an I/O failure but a bug of ours; it must not be blamed on the network (nor cool the account)
    if (code === undefined) return err;
    return new UpstreamFailure('network', `could not reach the Codex backend at ${this.origin}: ${scrubText(code)}. Check codex.base-url and your network or proxy.`, { cause: err, code });
  }
}

// ---- the 2xx stream -----------------------------------------------------------------------------

/**
 * What aborts an upstream request: the caller's signal (followed until release()) or abort()
 * (cancel). A plain object rather than an AbortController of its own: an open stream holds one,
 * and an AbortController with its signal, listener map and listeners is several times its size.
 * It is its own listener on the caller's signal (`handleEvent`), and it aborts the request it
 * was given (`target`) itself: no closures per stream.
 */
class AbortLink {
  aborted = false;
  private reason: unknown;
  private target: StreamedRequest | undefined;

  constructor(private readonly signal: AbortSignal | undefined) {
    if (signal?.aborted) {
      this.aborted = true;
      this.reason = signal.reason;
    } else signal?.addEventListener('abort', this, { once: true });
  }

  /** The caller's signal aborted (EventTarget calls an object listener's handleEvent). */
  handleEvent(): void {
    this.abort(this.signal!.reason);
  }

  /** `request` is aborted when the link is (at once when it already is). */
  follow(request: StreamedRequest): void {
    if (this.aborted) request.abort(this.error());
    else this.target = request;
  }

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.release();
    const target = this.target;
    this.target = undefined;
    target?.abort(this.error());
  }

  /** The error an aborted request fails with: the abort's reason when it is an Error. */
  error(): Error {
    return abortError({ reason: this.reason });
  }

  /** Stops following the caller's signal. */
  release(): void {
    this.signal?.removeEventListener('abort', this);
  }
}

class CodexStream implements UpstreamStream {
  private consumed = false;
  /** Set once events() or raw() saw the terminal event: left-over bytes are drained, keeping the socket. */
  private sawTerminal = false;
  /** The drain of the body's end after release(): done once the connection is back in the pool (or dropped). */
  private drained: Promise<void> = Promise.resolve();

  constructor(
    readonly status: number,
    readonly usage: UsageSnapshot,
    private readonly request: StreamedRequest,
    private readonly link: AbortLink,
    private readonly signal: AbortSignal | undefined,
    private readonly timeoutMs: number,
  ) {}

  raw(): AsyncIterable<Uint8Array> {
    return this.rawBytes();
  }

  /**
   * The bytes untouched; only the SSE framing is followed (no JSON parsing) to notice the
   * terminal event by its `event:` name, so the abort link is released and a consumer that
   * stops right after it leaves the connection reusable.
   */
  private async *rawBytes(): AsyncGenerator<Uint8Array, void, undefined> {
    const decoder = new TextDecoder('utf-8');
    const framing = createParser({
      onEvent: (message) => {
        if (!this.sawTerminal && message.event !== undefined && TERMINAL_EVENT_TYPES.has(message.event)) this.terminalSeen();
      },
    });
    for await (const chunk of this.bytes()) {
      if (!this.sawTerminal) framing.feed(decoder.decode(chunk, { stream: true }));
      yield chunk;
    }
  }

  private terminalSeen(): void {
    this.sawTerminal = true;
    // The caller's abort signal is no longer needed: stop following it now, even if the
    // consumer never comes back for the end of the iteration.
    this.link.release();
  }

  async *events(): AsyncIterable<ResponsesEvent> {
    for await (const event of parseSse(this.bytes())) {
      if (isTerminalEvent(event)) this.terminalSeen();
      yield event;
    }
  }

  read(sink: UpstreamSink): UpstreamReader {
    this.claim();
    const reader = new BodyReader(this, sink);
    this.request.attach(reader);
    return reader;
  }

  /** The body ended or broke (BodyReader): the caller's signal is no longer followed. */
  bodyDone(): void {
    this.link.release();
  }

  /** The reader needs nothing more (BodyReader.release). */
  releaseBody(): void {
    this.terminalSeen();
    this.drained = this.request.drain(MAX_DRAIN_BYTES, DRAIN_TIMEOUT_MS);
  }

  pauseBody(): void {
    this.request.pause();
  }

  resumeBody(): void {
    this.request.resume();
  }

  cancel(): void {
    // the request follows the link (CodexClient.send)
    this.link.abort();
  }

  private claim(): void {
    if (this.consumed) throw new Error('the upstream body was already consumed (use read(), raw() or events(), once)');
    this.consumed = true;
  }

  /** The body as an async iterable over read(): a few chunks are kept ahead of the consumer, then the request is paused. */
  private async *bytes(): AsyncGenerator<Uint8Array, void, undefined> {
    const queue: Buffer[] = [];
    let ended = false;
    let failed: { err: unknown } | undefined;
    let wake: (() => void) | undefined;
    const reader = this.read({
      data: (chunk) => {
        queue.push(chunk);
        if (queue.length >= 16) reader.pause();
        wake?.();
      },
      end: () => {
        ended = true;
        wake?.();
      },
      error: (err) => {
        failed = { err };
        wake?.();
      },
    });
    let finished = false;
    try {
      for (;;) {
        const chunk = queue.shift();
        if (chunk) {
          if (queue.length === 4) reader.resume();
          yield chunk;
          continue;
        }
        if (failed) throw failed.err;
        if (ended) {
          finished = true;
          return;
        }
        reader.resume();
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      if (!finished && !failed) {
        // Only the end of the chunked body is left after the terminal event: read it (briefly,
        // bounded) so the connection goes back to the pool; otherwise the request is stopped.
        // (awaited, so that the caller's next request finds the connection free)
        if (this.sawTerminal && !this.link.aborted) {
          reader.release();
          await this.drained;
        } else this.cancel();
      }
      this.link.release();
    }
  }

  bodyFailure(err: unknown): unknown {
    if (this.signal?.aborted) return abortError(this.signal);
    if (this.link.aborted) return this.link.error();
    const code = errorCode(err);
    if (code === 'UND_ERR_BODY_TIMEOUT') {
      return new UpstreamFailure('stream_closed', `stream closed before response.completed (no data for ${Math.round(this.timeoutMs / 1000)} s, codex.request-timeout-seconds)`, {
        code: 'timeout',
        cause: err,
      });
    }
    const reason = code ?? (err instanceof Error ? err.message : String(err));
    return new UpstreamFailure('stream_closed', `stream closed before response.completed (${scrubText(reason)})`, { code: 'stream_closed', cause: err });
  }
}

/**
 * read()'s two sides in one object: the request's body sink (forwarding to the consumer's sink
 * until the body ended, broke or was released) and the consumer's reader handle.
 */
class BodyReader implements BodySink, UpstreamReader {
  private done = false;

  constructor(
    private readonly stream: CodexStream,
    private readonly sink: UpstreamSink,
  ) {}

  data(chunk: Buffer): void {
    if (!this.done) this.sink.data(chunk);
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    this.stream.bodyDone();
    this.sink.end();
  }

  error(err: unknown): void {
    if (this.done) return;
    this.done = true;
    this.stream.bodyDone();
    this.sink.error(this.stream.bodyFailure(err));
  }

  pause(): void {
    this.stream.pauseBody();
  }

  resume(): void {
    this.stream.resumeBody();
  }

  release(): void {
    if (this.done) return;
    this.done = true;
    this.stream.releaseBody();
  }
}

// ---- helpers ------------------------------------------------------------------------------------

/** A header value undici sends as it is (no CR, LF, NUL or other control characters). */
const SENDABLE_HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Forwarded client headers a value undici would refuse is dropped from (the request is not failed for it, nor an account blamed). */
function forwardable(headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) if (SENDABLE_HEADER_VALUE.test(value)) out[name] = value;
  return out;
}

/**
 * The request body as a one-chunk iterable that lets go of the text once undici took it (with
 * the content-length header set, undici still sends it as one fixed-length body). A string or
 * Buffer body stays referenced by undici's request until the response ends, which for a stream
 * means the whole conversation held for the stream's whole life. The text goes to the socket as
 * it is: Node copies it into the write's own memory, freed when the write is done, where a
 * Buffer made from it would be freed only by a garbage collection of its own.
 */
function sentOnce(text: string): AsyncIterable<string> {
  return new OnceBody(text);
}

/** sentOnce's iterable, its own iterator: one small object for the request's life, the text dropped once taken. */
class OnceBody implements AsyncIterableIterator<string> {
  constructor(private left: string | undefined) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<string, undefined>> {
    const chunk = this.left;
    this.left = undefined;
    return Promise.resolve(chunk ? { value: chunk, done: false } : { value: undefined, done: true });
  }
}

function errorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const cause = (err as { cause?: unknown }).cause;
    if (cause && cause !== err) return errorCode(cause);
  }
  return undefined;
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** `{"models":[{slug,…}]}` (the backend), or `{"data":[{id}]}` / a bare array, → BackendModel[]. */
function modelsFromJson(text: string, status: number): BackendModel[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UpstreamFailure('server', 'the Codex backend answered /models with something that is not JSON', { status });
  }
  const root = json as { models?: unknown; data?: unknown } | unknown[] | null;
  const list = Array.isArray(root) ? root : Array.isArray(root?.models) ? root.models : Array.isArray(root?.data) ? root.data : undefined;
  if (!list) throw new UpstreamFailure('server', 'the Codex backend answered /models without a "models" list', { status });
  const models: BackendModel[] = [];
  for (const entry of list) {
    if (!entry || typeof entry !== 'object') continue;
    const e = entry as Record<string, unknown>;
    const slug = typeof e['slug'] === 'string' ? e['slug'] : typeof e['id'] === 'string' ? e['id'] : undefined;
    if (slug) models.push({ ...e, slug });
  }
  return models;
}
