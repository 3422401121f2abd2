/**
 * POST /v1/chat/completions, independent of HTTP: the route and `cliproxy exec` both call
 * handleChatCompletion. It validates, resolves the model, translates to a Responses body, runs
 * the upstream call through the pool and returns either the finished completion or a stream of
 * chunks. Everything thrown from here happens before anything was sent to the client.
 */
import { randomUUID } from 'node:crypto';
import { parseChatCompletionRequest } from '../translate/chat-schema.js';
import { chatToResponses, usesLegacyFunctions } from '../translate/chat-to-responses.js';
import { ChatChunkSse, acceptRawTextDelta, chatChunksForEvent, textDeltaPartKey, chatErrorChunk, createChatStreamState, finishChatStream, roleChunk, type ChatStreamState } from '../translate/responses-to-chat.js';
import { chatCompletionFromEvents, type ChatCompletion } from '../translate/responses-to-chat-completion.js';
import { readTextDelta, type DeltaSpans } from '../upstream/text-delta-bytes.js';
import { TextDeltaTemplate } from '../upstream/text-delta-template.js';
import { UpstreamBody } from '../upstream/upstream-body.js';
import type { ResponsesEvent } from '../upstream/types.js';
import type { CallOptions, HandlerDeps } from './deps.js';
import { KEEP_ALIVE_INTERVAL_MS } from './keep-alive.js';
import { EventsToText, collectResponse, type MidStreamFailure } from './upstream-events.js';
import { openPumped, type Output, type StreamTranslator, type StreamBody } from './upstream-pump.js';
import { upstreamSessionId } from './session.js';

export type { ChatCompletion };

export type ChatCompletionOutcome =
  | { kind: 'json'; completion: ChatCompletion }
  | {
      kind: 'stream';
      /** The SSE text (`data: {chunk}` … `data: [DONE]`), pushed as the upstream answers. */
      body: StreamBody;
    };

export function newCompletionId(): string {
  // randomUUID draws from Node's batch of random bytes: ~0.2 µs, where randomBytes(12) costs a call into the CSPRNG (~5 µs) per request
  return `chatcmpl-${randomUUID().replaceAll('-', '')}`;
}

export function handleChatCompletion(deps: HandlerDeps, rawBody: unknown, call: CallOptions): Promise<ChatCompletionOutcome> {
  // two steps: the one that waits for the upstream holds the serialised body, not the parsed request (see UpstreamBody)
  return prepareChatCompletion(deps, rawBody, call)
    .then((prepared) => runChatCompletion(deps, prepared, call))
    .catch((err: unknown) => {
      throw deps.catalog.explainRefusal(err);
    });
}

/** A chat request, translated: what the upstream call and the answer's chunks need of it. */
interface PreparedChatCompletion {
  payload: UpstreamBody;
  affinityKey: string | undefined;
  sessionId: string | undefined;
  init: { id: string; model: string; created: number; legacyFunctions: boolean };
  stream: boolean;
  includeUsage: boolean;
}

async function prepareChatCompletion(deps: HandlerDeps, rawBody: unknown, call: CallOptions): Promise<PreparedChatCompletion> {
  const req = parseChatCompletionRequest(rawBody);
  if (call.trace) call.trace.model = req.model;
  const { model, effort } = await deps.catalog.resolve(req.model, call.signal);
  if (call.trace) call.trace.model = model;
  const { body, dropped, notes } = chatToResponses(req, { model, effort, reasoningSummary: deps.reasoningSummary, sessionId: call.sessionId });
  if (dropped.length) deps.log.debug({ dropped }, 'dropped parameters the Codex backend does not accept');
  for (const note of notes) deps.log.debug({ note }, 'left out of the conversation sent upstream');

  // prompt_cache_key: the client's, else `user`, else its session header, else derived from the conversation
  const affinityKey = typeof body['prompt_cache_key'] === 'string' ? (body['prompt_cache_key'] as string) : undefined;
  const sessionId = upstreamSessionId(body, undefined);
  return {
    payload: UpstreamBody.of(body),
    affinityKey,
    sessionId,
    init: { id: newCompletionId(), model: req.model, created: Math.floor(deps.clock.now() / 1000), legacyFunctions: usesLegacyFunctions(req) },
    stream: req.stream === true,
    includeUsage: req.stream_options?.include_usage === true,
  };
}

async function runChatCompletion(deps: HandlerDeps, p: PreparedChatCompletion, call: CallOptions): Promise<ChatCompletionOutcome> {
  const attemptCall = { signal: call.signal, sessionId: p.sessionId, trace: call.trace };
  if (!p.stream) {
    const events = await collectResponse(deps, p.payload, { ...attemptCall, affinityKey: p.affinityKey });
    return { kind: 'json', completion: chatCompletionFromEvents(events, p.init) };
  }
  const attempt = await openPumped(
    deps,
    { affinityKey: p.affinityKey, signal: call.signal },
    p.payload,
    attemptCall,
    () => new ChatSseTranslator(createChatStreamState({ ...p.init, includeUsage: p.includeUsage })),
    'started',
  );
  return {
    kind: 'stream',
    body: attempt.upstream.commit(attempt),
  };
}

const DONE = 'data: [DONE]\n\n';
/**
 * Templates one stream may make (one per part, normally): an upstream that writes its deltas
 * differently each time would make one per delta, for nothing; past this many, deltas are read
 * the ordinary way.
 */
const MAX_TEMPLATES = 64;
/** An SSE comment: ignored by every SSE parser, but it keeps idle-timeout proxies from cutting the stream. */
const KEEP_ALIVE_COMMENT = ': keep-alive\n\n';
const CHAT_KEEP_ALIVE = { everyMs: KEEP_ALIVE_INTERVAL_MS, output: () => KEEP_ALIVE_COMMENT };

function sseData(chunk: object): string {
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/**
 * Responses SSE bytes → chat.completion.chunk SSE text: one parse per upstream event (none for
 * the text deltas, written from their bytes), the chunks serialised from the stream's template. The role
 * chunk goes first, as soon as the stream is committed (whatever the model does first); while
 * the backend is silent (long reasoning) a keep-alive comment every KEEP_ALIVE_INTERVAL_MS.
 */
class ChatSseTranslator extends EventsToText implements StreamTranslator {
  readonly keepAlive = CHAT_KEEP_ALIVE;
  private readonly sse: ChatChunkSse;

  constructor(readonly state: ChatStreamState) {
    super();
    this.sse = new ChatChunkSse(state);
  }

  protected translate(ev: ResponsesEvent): string {
    let out = '';
    // the commit point: the first event past the prelude
    if (this.started) for (const chunk of roleChunk(this.state)) out += this.sse.text(chunk);
    // throws UpstreamFailure('response_failed') on response.failed / error
    for (const chunk of chatChunksForEvent(this.state, ev)) out += this.sse.text(chunk);
    return out;
  }

  /**
   * The current part's text deltas as the upstream writes them, made from the last delta read the
   * ordinary way: the deltas that follow match it byte for byte but for their values, and go out
   * without being read key by key (translateEvent, and translateRaw for an event split between
   * two chunks).
   */
  private template: TextDeltaTemplate | undefined;
  private templatesMade = 0;

  /** A whole text delta event at an event boundary that matches the template: its chunk goes out from the bytes. */
  protected override translateEvent(buf: Buffer, pos: number, words: DataView): number {
    const template = this.template;
    if (template === undefined) return -1;
    const next = template.matchEvent(buf, pos, words);
    return next >= 0 && this.sendTemplated(buf, template) ? next : -1;
  }

  /** Text deltas (nearly every event of an answer) go out from the upstream's bytes: the delta's JSON literal between the chunk's fixed parts. */
  protected override translateRaw(name: string | undefined, data: Buffer): boolean {
    if (name !== 'response.output_text.delta') return false;
    const template = this.template;
    if (template !== undefined && template.matchData(data)) return this.sendTemplated(data, template);
    const makeTemplate = this.templatesMade < MAX_TEMPLATES;
    const spans: DeltaSpans | undefined = makeTemplate ? { spans: [], duplicateKey: false } : undefined;
    const delta = readTextDelta(data, spans);
    if (!delta) return false;
    const key = textDeltaPartKey(delta.itemIdStart < 0 ? undefined : data.toString('utf8', delta.itemIdStart, delta.itemIdEnd), delta.outputIndex, delta.contentIndex);
    if (!acceptRawTextDelta(this.state, key, delta.empty)) return false;
    if (!delta.empty) this.sendContent(delta.literal, 0, delta.literal.length);
    if (spans && TextDeltaTemplate.usable(spans)) {
      this.template = new TextDeltaTemplate(data, spans, key);
      this.templatesMade++;
    }
    return true;
  }

  /** The chunk for the delta the template just matched in `buf`; false (nothing sent) when the event must take the ordinary path. */
  private sendTemplated(buf: Buffer, template: TextDeltaTemplate): boolean {
    if (!acceptRawTextDelta(this.state, template.key, template.empty)) return false;
    if (!template.empty) this.sendContent(buf, template.literalStart, template.literalEnd);
    return true;
  }

  /** A content chunk around the delta's JSON literal `buf[start, end)`, as the backend wrote it. */
  private sendContent(buf: Uint8Array, start: number, end: number): void {
    const out = this.out!;
    out.addBytes(this.sse.contentPrefix);
    out.addRange(buf, start, end);
    out.addBytes(this.sse.contentSuffix);
  }

  closing(): Output {
    let out = '';
    for (const chunk of finishChatStream(this.state)) out += this.sse.text(chunk);
    return out + DONE;
  }

  failureEnding({ api }: MidStreamFailure): Output {
    return sseData(chatErrorChunk(this.state, { message: api.message, type: api.type, code: api.code })) + DONE;
  }
}
