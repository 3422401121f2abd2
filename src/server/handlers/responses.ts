/**
 * POST /v1/responses (and /backend-api/codex/responses): pass-through for Responses clients.
 * The body gets only the fixes the backend requires; a streaming client receives the upstream's
 * SSE bytes unchanged (parsed on the side only to know whether the stream ended properly, and to
 * append a response.failed event when it did not); a non-streaming client gets the assembled
 * response object.
 */
import { createParser, type EventSourceParser } from 'eventsource-parser';
import type { PoolAccount } from '../../accounts/pool.js';
import { InvalidRequestError } from '../../errors.js';
import { fixResponsesRequest } from '../../translate/responses-request.js';
import { responseFromEvents } from '../../translate/responses-assembler.js';
import { failureFromEvent, isTerminalEvent, TERMINAL_EVENT_TYPES } from '../../upstream/events.js';
import { UpstreamFailure, type ResponsesEvent, type UpstreamStream } from '../../upstream/types.js';
import type { CallOptions, HandlerDeps } from './deps.js';
import { affinityKeyOf } from './session.js';
import {
  PRELUDE_EVENTS,
  asUpstreamFailure,
  cancelQuietly,
  collectResponse,
  failAttempt,
  midStreamFailure,
  recordOutcome,
  releaseStream,
  startAttempt,
} from './upstream-events.js';

export type ResponsesOutcome =
  | { kind: 'json'; response: Record<string, unknown> }
  | {
      kind: 'stream';
      bytes: AsyncIterable<Uint8Array>;
      /** A response.failed event that ends this stream from outside (server shutdown). */
      failedEvent(code: string, message: string): Uint8Array;
    };

/**
 * Watches SSE bytes go by without changing them: remembers the response id, the first event
 * past the prelude and the terminal event (O(1) memory, whatever the stream length). Once the
 * first content event was seen, events named (`event:` line) and not terminal are skipped
 * without parsing their JSON: the deltas, nearly every event of a stream.
 */
class SseWatcher {
  responseId: string | undefined;
  firstContent: ResponsesEvent | undefined;
  terminal: ResponsesEvent | undefined;
  private readonly decoder = new TextDecoder();
  private readonly parser: EventSourceParser;

  constructor() {
    this.parser = createParser({
      onEvent: (msg) => {
        if (this.firstContent && msg.event && !TERMINAL_EVENT_TYPES.has(msg.event)) return;
        let ev: ResponsesEvent;
        try {
          ev = JSON.parse(msg.data) as ResponsesEvent;
        } catch {
          return;
        }
        if (typeof ev !== 'object' || ev === null) return;
        if (typeof ev.type !== 'string' && msg.event) ev = { ...ev, type: msg.event };
        const id = (ev['response'] as { id?: unknown } | undefined)?.id;
        if (typeof id === 'string') this.responseId = id;
        if (!this.firstContent && !PRELUDE_EVENTS.has(ev.type)) this.firstContent = ev;
        if (!this.terminal && isTerminalEvent(ev)) this.terminal = ev;
      },
    });
  }

  feed(bytes: Uint8Array): void {
    this.parser.feed(this.decoder.decode(bytes, { stream: true }));
  }

  /** The events recordOutcome needs (the terminal one carries the token usage). */
  get summary(): ResponsesEvent[] {
    return this.terminal ? [this.terminal] : [];
  }
}

interface OpenedRaw {
  account: PoolAccount;
  stream: UpstreamStream;
  head: Uint8Array[];
  rest: AsyncIterator<Uint8Array>;
  watcher: SseWatcher;
}

async function openRaw(deps: HandlerDeps, account: PoolAccount, body: Record<string, unknown>, call: CallOptions): Promise<OpenedRaw> {
  const started = await startAttempt(deps, account, body, call);
  const { stream } = started;
  const rest = stream.raw()[Symbol.asyncIterator]();
  const watcher = new SseWatcher();
  const head: Uint8Array[] = [];
  try {
    while (!watcher.firstContent) {
      const next = await rest.next();
      if (next.done) throw new UpstreamFailure('stream_closed', 'stream closed before response.completed');
      head.push(next.value);
      watcher.feed(next.value);
    }
    const failure = failureFromEvent(watcher.firstContent);
    if (failure) throw failure;
  } catch (err) {
    throw failAttempt(deps, account, started, err, call.signal);
  }
  deps.onAttempt?.(account.accountId, 'ok');
  return { account, stream, head, rest, watcher };
}

const BLANK_LINE = new TextEncoder().encode('\n\n');

function endsWithBlankLine(b: Uint8Array): boolean {
  const n = b.length;
  return n >= 2 && b[n - 1] === 0x0a && (b[n - 2] === 0x0a || (n >= 3 && b[n - 2] === 0x0d && b[n - 3] === 0x0a));
}

/** The SSE bytes of a response.failed event that closes a stream the upstream abandoned. */
export function failedEventBytes(responseId: string | undefined, code: string, message: string): Uint8Array {
  const event = {
    type: 'response.failed',
    response: { id: responseId ?? null, object: 'response', status: 'failed', error: { code, message }, output: [] },
  };
  return new TextEncoder().encode(`event: response.failed\ndata: ${JSON.stringify(event)}\n\n`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export async function handleResponses(deps: HandlerDeps, rawBody: unknown, call: CallOptions): Promise<ResponsesOutcome> {
  try {
    return await responses(deps, rawBody, call);
  } catch (err) {
    throw deps.catalog.explainRefusal(err);
  }
}

async function responses(deps: HandlerDeps, rawBody: unknown, call: CallOptions): Promise<ResponsesOutcome> {
  if (rawBody === null || typeof rawBody !== 'object' || Array.isArray(rawBody)) {
    throw new InvalidRequestError('The request body must be a JSON object.', { code: 'invalid_value' });
  }
  const input = rawBody as Record<string, unknown>;
  // validates `model` (and the rest) before the catalog is asked
  const { body, dropped, clientWantsStream } = fixResponsesRequest(input);
  const { model, effort } = await deps.catalog.resolve(body['model'] as string, call.signal);
  body['model'] = model;
  // the suffix is the client's explicit choice (`gpt-5-high`): it sets the effort
  if (effort) body['reasoning'] = { ...(isRecord(body['reasoning']) ? body['reasoning'] : {}), effort };
  if (dropped.length) deps.log.debug({ dropped }, 'dropped parameters the Codex backend does not accept');

  const affinityKey = affinityKeyOf({ promptCacheKey: body['prompt_cache_key'], user: input['user'] }, call.sessionId);
  const sessionId = typeof body['prompt_cache_key'] === 'string' ? (body['prompt_cache_key'] as string) : call.sessionId;
  const attemptCall = { signal: call.signal, sessionId, upstreamHeaders: call.upstreamHeaders };

  if (!clientWantsStream) {
    const events = await collectResponse(deps, body, { ...attemptCall, affinityKey });
    return { kind: 'json', response: responseFromEvents(events) };
  }

  const opened = await deps.pool.withAccount({ affinityKey, signal: call.signal }, ({ account }) => openRaw(deps, account, body, attemptCall));

  /** Whether the bytes sent so far end on an event boundary (a blank line). */
  let atEventBoundary = true;
  const sent = (b: Uint8Array): Uint8Array => {
    if (b.length > 0) atEventBoundary = endsWithBlankLine(b);
    return b;
  };

  async function* bytes(): AsyncGenerator<Uint8Array> {
    let ok = false;
    let failure: UpstreamFailure | undefined;
    try {
      for (const b of opened.head) yield sent(b);
      while (!opened.watcher.terminal) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await opened.rest.next();
        } catch (err) {
          throw asUpstreamFailure(err, call.signal);
        }
        if (next.done) break;
        opened.watcher.feed(next.value);
        yield sent(next.value);
      }
      const terminal = opened.watcher.terminal;
      if (!terminal) throw new UpstreamFailure('stream_closed', 'stream closed before response.completed');
      // the client already has the upstream's response.failed: nothing more to send
      failure = failureFromEvent(terminal);
      ok = failure === undefined;
      releaseStream(opened.rest);
    } catch (err) {
      if (call.signal.aborted) return;
      const failed = midStreamFailure(deps, err);
      failure = failed.failure;
      yield failedEventBytes(opened.watcher.responseId, failed.code, failed.api.message);
    } finally {
      if (!ok) cancelQuietly(opened.stream);
      if (!call.signal.aborted) recordOutcome(deps, opened.account.accountId, ok, opened.watcher.summary, opened.stream.usage, failure);
    }
  }

  return {
    kind: 'stream',
    bytes: bytes(),
    failedEvent(code, message) {
      const event = failedEventBytes(opened.watcher.responseId, code, message);
      if (atEventBoundary) return event;
      // close the event cut off mid-way so the failure is parsed as an event of its own
      const out = new Uint8Array(event.length + 2);
      out.set(BLANK_LINE);
      out.set(event, 2);
      return out;
    },
  };
}
