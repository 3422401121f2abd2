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
import { readTextDelta, type RawTextDelta } from '../upstream/text-delta-bytes.js';
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

export async function handleChatCompletion(deps: HandlerDeps, rawBody: unknown, call: CallOptions): Promise<ChatCompletionOutcome> {
  try {
    return await chatCompletion(deps, rawBody, call);
  } catch (err) {
    throw deps.catalog.explainRefusal(err);
  }
}

async function chatCompletion(deps: HandlerDeps, rawBody: unknown, call: CallOptions): Promise<ChatCompletionOutcome> {
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
  const init = { id: newCompletionId(), model: req.model, created: Math.floor(deps.clock.now() / 1000), legacyFunctions: usesLegacyFunctions(req) };

  if (!req.stream) {
    const events = await collectResponse(deps, body, { affinityKey, signal: call.signal, sessionId, trace: call.trace });
    return { kind: 'json', completion: chatCompletionFromEvents(events, init) };
  }

  const includeUsage = req.stream_options?.include_usage === true;
  const attempt = await openPumped(
    deps,
    { affinityKey, signal: call.signal },
    body,
    { signal: call.signal, sessionId, trace: call.trace },
    () => new ChatSseTranslator(createChatStreamState({ ...init, includeUsage })),
    'started',
  );
  const pump = attempt.upstream;
  return {
    kind: 'stream',
    body: pump.commit(attempt),
  };
}

const DONE = 'data: [DONE]\n\n';
/** An SSE comment: ignored by every SSE parser, but it keeps idle-timeout proxies from cutting the stream. */
const KEEP_ALIVE_COMMENT = ': keep-alive\n\n';
const CHAT_KEEP_ALIVE = { everyMs: KEEP_ALIVE_INTERVAL_MS, output: () => KEEP_ALIVE_COMMENT };

function sseData(chunk: object): string {
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/**
 * Responses SSE bytes → chat.completion.chunk SSE text: one parse per upstream event, the
 * chunks serialised from the stream's template, one string out per upstream chunk. The role
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

  /** Text deltas (nearly every event of an answer) go out from the upstream's bytes: the delta's JSON literal between the chunk's fixed parts. */
  protected override translateRaw(name: string | undefined, data: Buffer): boolean {
    if (name !== 'response.output_text.delta') return false;
    const delta = readTextDelta(data);
    if (!delta) return false;
    if (!acceptRawTextDelta(this.state, this.partKey(data, delta), delta.empty)) return false;
    if (!delta.empty) {
      this.send(this.sse.contentPrefix);
      this.send(delta.literal);
      this.send(this.sse.contentSuffix);
    }
    return true;
  }

  /** The last delta's item id bytes and part key: consecutive deltas of one part (all of them, nearly) decode nothing. */
  private lastItemId: Buffer | undefined;
  private lastKey = '';
  private lastOutputIndex: number | undefined;
  private lastContentIndex: number | undefined;

  private partKey(data: Buffer, d: RawTextDelta): string {
    const id = d.itemIdStart < 0 ? undefined : data.subarray(d.itemIdStart, d.itemIdEnd);
    const same =
      d.contentIndex === this.lastContentIndex &&
      (id === undefined ? this.lastItemId === undefined && d.outputIndex === this.lastOutputIndex : this.lastItemId !== undefined && id.equals(this.lastItemId));
    if (same && this.lastKey !== '') return this.lastKey;
    this.lastItemId = id === undefined ? undefined : Buffer.from(id);
    this.lastOutputIndex = d.outputIndex;
    this.lastContentIndex = d.contentIndex;
    this.lastKey = textDeltaPartKey(id?.toString('utf8'), d.outputIndex, d.contentIndex);
    return this.lastKey;
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
