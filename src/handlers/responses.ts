/**
 * POST /v1/responses (and /backend-api/codex/responses): pass-through for Responses clients.
 * The body gets only the fixes the backend requires; a streaming client receives the upstream's
 * SSE bytes unchanged (framed on the side, once, only to know whether the stream ended properly,
 * and to append a response.failed event when it did not); a non-streaming client gets the
 * assembled response object.
 */
import { InvalidRequestError } from '../errors.js';
import { fixResponsesRequest } from '../translate/responses-request.js';
import { responseFromEvents } from '../translate/responses-assembler.js';
import { failureFromEvent, TERMINAL_EVENT_TYPES } from '../upstream/events.js';
import { SseByteEvents, type SseConsumer } from '../upstream/sse-bytes.js';
import { jsonObjectMembers } from '../upstream/json-member-bytes.js';
import { UpstreamBody } from '../upstream/upstream-body.js';
import type { ResponsesEvent, UpstreamFailure } from '../upstream/types.js';
import type { CallOptions, HandlerDeps } from './deps.js';
import { affinityKeyOf, upstreamSessionId } from './session.js';
import { ProgressTracker, collectResponse, type MidStreamFailure } from './upstream-events.js';
import type { OutputBuilder } from './output-builder.js';
import { openPumped, type Output, type StreamTranslator, type StreamBody } from './upstream-pump.js';

export type ResponsesOutcome =
  | { kind: 'json'; response: Record<string, unknown> }
  | {
      kind: 'stream';
      /** The upstream's SSE bytes, pushed as they arrive. */
      body: StreamBody;
    };

/**
 * Passes the SSE bytes through unchanged while framing them once, on the bytes (SseByteEvents):
 * JSON is parsed only for the events it must see (the prelude, the first content event, the
 * terminal event); once content started, events named (`event:` line) and not terminal are
 * skipped undecoded: the deltas, nearly every event of a stream. O(1) memory, whatever the
 * stream length.
 */
class PassThroughWatcher extends ProgressTracker implements StreamTranslator, SseConsumer {
  responseId: string | undefined;
  failedInBand: UpstreamFailure | undefined;
  /** Whether the bytes passed on so far end on an event boundary (a blank line). */
  private atEventBoundary = true;
  private readonly frames = new SseByteEvents(this);

  /** SseConsumer: before the first content event every event, after it only the terminal ones (and unnamed ones). */
  wants(name: string | undefined): boolean {
    return !this.started || name === undefined || TERMINAL_EVENT_TYPES.has(name);
  }

  /** SseConsumer: the bytes pass through untouched, so an event we cannot read is the client's to judge. */
  invalid(): void {}

  feed(chunk: Buffer, out: OutputBuilder): void {
    if (!this.ended) this.frames.feed(chunk);
    if (chunk.length > 0) this.atEventBoundary = endsWithBlankLine(chunk);
    out.addBytes(chunk);
  }

  endOfBody(): void {
    // no flush: an event without its blank line never reached the client as an event either
  }

  /**
   * response.created, response.in_progress and response.completed carry the whole response (the
   * instructions, the tools, and in the last one the answer again): only `response.id` and
   * `response.usage` are needed, read from the bytes (jsonObjectMembers) instead of parsing it
   * all. False (then the event is parsed) for any other event, or one whose bytes are not plain
   * (a `type` that is not its name, no usage where one is needed).
   */
  raw(name: string | undefined, data: Buffer): boolean {
    if (name !== 'response.completed' && (this.started || (name !== 'response.created' && name !== 'response.in_progress'))) return false;
    const [type, response] = jsonObjectMembers(data, ['type', 'response']) ?? [];
    if (!type || !response || type.toString('latin1') !== `"${name}"`) return false;
    const [id, usage] = jsonObjectMembers(response, ['id', 'usage']) ?? [];
    if (name === 'response.completed' && !usage) return false;
    let event: ResponsesEvent;
    try {
      event = { type: name, response: { id: id && JSON.parse(id.toString('utf8')), usage: usage && JSON.parse(usage.toString('utf8')) } };
    } catch {
      return false;
    }
    this.event(event);
    return true;
  }

  event(ev: ResponsesEvent): void {
    if (this.ended) return;
    const id = (ev['response'] as { id?: unknown } | undefined)?.id;
    if (typeof id === 'string') this.responseId = id;
    this.track(ev);
    // the client already has the upstream's response.failed: nothing more to send
    if (this.ended) this.failedInBand = failureFromEvent(ev);
  }

  closing(): Output {
    return '';
  }

  failureEnding(mid: MidStreamFailure): Output {
    return this.failedEvent(mid.code, mid.api.message);
  }

  /** A response.failed event; closes an event cut off mid-way first, so it is parsed as an event of its own. */
  failedEvent(code: string, message: string): Output {
    const event = failedEventBytes(this.responseId, code, message);
    if (this.atEventBoundary) return event;
    const out = new Uint8Array(event.length + 2);
    out.set(BLANK_LINE);
    out.set(event, 2);
    return out;
  }
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

export function handleResponses(deps: HandlerDeps, rawBody: unknown, call: CallOptions): Promise<ResponsesOutcome> {
  // two steps: the one that waits for the upstream holds the serialised body, not the parsed request (see UpstreamBody)
  return prepareResponses(deps, rawBody, call)
    .then((prepared) => runResponses(deps, prepared, call))
    .catch((err: unknown) => {
      throw deps.catalog.explainRefusal(err);
    });
}

/** A Responses request with the backend's fixes: what the upstream call needs of it. */
interface PreparedResponses {
  payload: UpstreamBody;
  affinityKey: string | undefined;
  sessionId: string | undefined;
  stream: boolean;
}

async function prepareResponses(deps: HandlerDeps, rawBody: unknown, call: CallOptions): Promise<PreparedResponses> {
  if (rawBody === null || typeof rawBody !== 'object' || Array.isArray(rawBody)) {
    throw new InvalidRequestError('The request body must be a JSON object.', { code: 'invalid_value' });
  }
  const input = rawBody as Record<string, unknown>;
  // validates `model` (and the rest) before the catalog is asked
  const { body, dropped, clientWantsStream } = fixResponsesRequest(input);
  if (call.trace) call.trace.model = body['model'] as string;
  const { model, effort } = await deps.catalog.resolve(body['model'] as string, call.signal);
  body['model'] = model;
  if (call.trace) call.trace.model = model;
  // the suffix is the client's explicit choice (`gpt-5-high`): it sets the effort
  if (effort) body['reasoning'] = { ...(isRecord(body['reasoning']) ? body['reasoning'] : {}), effort };
  if (dropped.length) deps.log.debug({ dropped }, 'dropped parameters the Codex backend does not accept');

  const affinityKey = affinityKeyOf({ promptCacheKey: body['prompt_cache_key'], user: input['user'] }, call.sessionId);
  const sessionId = upstreamSessionId(body, call.sessionId);
  return { payload: UpstreamBody.of(body), affinityKey, sessionId, stream: clientWantsStream };
}

async function runResponses(deps: HandlerDeps, p: PreparedResponses, call: CallOptions): Promise<ResponsesOutcome> {
  const attemptCall = { signal: call.signal, sessionId: p.sessionId, upstreamHeaders: call.upstreamHeaders, trace: call.trace };
  if (!p.stream) {
    const events = await collectResponse(deps, p.payload, { ...attemptCall, affinityKey: p.affinityKey });
    return { kind: 'json', response: responseFromEvents(events) };
  }
  const attempt = await openPumped(deps, { affinityKey: p.affinityKey, signal: call.signal }, p.payload, attemptCall, () => new PassThroughWatcher(), 'started');
  return {
    kind: 'stream',
    body: attempt.upstream.commit(attempt),
  };
}
