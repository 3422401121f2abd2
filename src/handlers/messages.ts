/**
 * POST /v1/messages (Anthropic Messages API), independent of HTTP. Validates, maps the Claude model
 * name (config `claude-models`), translates to a Responses body (messages-to-responses) and runs
 * it through the same pool, retries and cooldowns as chat completions (openPumped /
 * collectResponse); the upstream events come back through responses-to-messages. Everything thrown
 * from here happens before anything was sent to the client.
 */
import { randomUUID } from 'node:crypto';
import { claudeModelTarget, type ReasoningEffort } from '../translate/claude-models.js';
import { parseCountTokensRequest, parseMessagesRequest, type MessagesRequest } from '../translate/messages-schema.js';
import { messagesToResponses, type MessagesToResponsesResult } from '../translate/messages-to-responses.js';
import {
  createMessagesStreamState,
  finishMessagesStream,
  messageFromStreamEvents,
  messagesErrorEvent,
  messagesEventsForEvent,
  messagesPing,
  type AnthropicMessage,
  type AnthropicStreamEvent,
  type MessagesStreamState,
} from '../translate/responses-to-messages.js';
import { estimateInputTokens } from '../translate/token-estimate.js';
import type { ResponsesEvent } from '../upstream/types.js';
import { UpstreamBody } from '../upstream/upstream-body.js';
import { anthropicErrorOf } from '../server/anthropic-error.js';
import type { CallOptions, HandlerDeps } from './deps.js';
import { affinityKeyOf, upstreamSessionId } from './session.js';
import { EventsToText, collectResponse, type MidStreamFailure } from './upstream-events.js';
import { openPumped, type Output, type StreamTranslator, type StreamBody } from './upstream-pump.js';

/** Anthropic sends `ping` events; we send one after this long without an upstream event. */
export const PING_INTERVAL_MS = 15_000;

export type MessagesOutcome =
  | { kind: 'json'; message: AnthropicMessage }
  | {
      kind: 'stream';
      /** The Anthropic SSE text (`event: <type>` + `data: <json>`), pushed as the upstream answers. */
      body: StreamBody;
    };

export function newMessageId(): string {
  // randomUUID: see newCompletionId
  return `msg_${randomUUID().replaceAll('-', '')}`;
}

interface Prepared {
  req: MessagesRequest;
  translated: MessagesToResponsesResult;
}

/**
 * The Codex model for a request: the claude-models target (or the name itself), checked against
 * the live list. A built-in default the accounts' plans do not offer falls back to the first
 * model of the live list, so Claude Code works out of the box whatever the plans offer.
 */
async function codexModelFor(deps: HandlerDeps, requested: string, signal: AbortSignal): Promise<{ model: string; effort?: ReasoningEffort }> {
  const target = claudeModelTarget(requested, deps.claudeModels ?? {});
  // the catalog never refuses a name (the backend decides); it resolves aliases and effort suffixes
  const resolved = await deps.catalog.resolve(target?.model ?? requested, signal);
  const effort = target?.effort ?? resolved.effort;
  if (!target?.builtIn) return { model: resolved.model, effort };
  const listed = await deps.catalog.list(signal).catch(() => []);
  if (listed.length === 0 || listed.some((m) => m.id === resolved.model)) return { model: resolved.model, effort };
  const first = listed[0]!;
  deps.log.info({ requested, default: target.model, using: first.id }, 'default claude-models target not offered by these accounts; using the first listed model (set claude-models to choose)');
  return { model: first.id, effort };
}

async function prepare(deps: HandlerDeps, req: MessagesRequest, signal: AbortSignal): Promise<Prepared> {
  const { model, effort } = await codexModelFor(deps, req.model, signal);
  const translated = messagesToResponses(req, { model, effort });
  if (translated.dropped.length) deps.log.debug({ dropped: translated.dropped }, 'dropped parameters the Codex backend does not accept');
  return { req, translated };
}

/** POST /v1/messages/count_tokens: the request translated as for /v1/messages, then estimated (token-estimate.ts). */
export async function handleCountTokens(deps: HandlerDeps, rawBody: unknown, signal: AbortSignal): Promise<{ input_tokens: number }> {
  const { translated } = await prepare(deps, parseCountTokensRequest(rawBody), signal);
  return { input_tokens: estimateInputTokens(translated.body) };
}

export function handleMessages(deps: HandlerDeps, rawBody: unknown, call: CallOptions): Promise<MessagesOutcome> {
  // two steps: the one that waits for the upstream holds the serialised body, not the parsed request (see UpstreamBody)
  return prepareMessages(deps, rawBody, call).then((prepared) => runMessages(deps, prepared, call));
}

/** A Messages request, translated: what the upstream call and the answer's events need of it. */
interface PreparedMessages {
  payload: UpstreamBody;
  affinityKey: string | undefined;
  sessionId: string | undefined;
  state: MessagesStreamState;
  stream: boolean;
}

async function prepareMessages(deps: HandlerDeps, rawBody: unknown, call: CallOptions): Promise<PreparedMessages> {
  const { req, translated } = await prepare(deps, parseMessagesRequest(rawBody), call.signal);
  const { body, limits, thinking } = translated;
  if (call.trace) call.trace.model = body['model'] as string;
  const affinityKey = affinityKeyOf({ promptCacheKey: translated.affinityKey }, call.sessionId);
  const sessionId = upstreamSessionId(body, call.sessionId);
  const state = createMessagesStreamState({
    id: newMessageId(),
    model: req.model,
    thinking,
    maxTokens: limits.maxTokens,
    stopSequences: limits.stopSequences,
    inputTokensEstimate: estimateInputTokens(body),
  });
  return { payload: UpstreamBody.of(body), affinityKey, sessionId, state, stream: req.stream === true };
}

async function runMessages(deps: HandlerDeps, p: PreparedMessages, call: CallOptions): Promise<MessagesOutcome> {
  const attemptCall = { signal: call.signal, sessionId: p.sessionId, trace: call.trace };
  if (!p.stream) {
    const events = await collectResponse(deps, p.payload, { ...attemptCall, affinityKey: p.affinityKey });
    const out: AnthropicStreamEvent[] = [];
    for (const ev of events) out.push(...messagesEventsForEvent(p.state, ev));
    out.push(...finishMessagesStream(p.state));
    return { kind: 'json', message: messageFromStreamEvents(out) };
  }
  const attempt = await openPumped(deps, { affinityKey: p.affinityKey, signal: call.signal }, p.payload, attemptCall, () => new MessagesSseTranslator(p.state), 'started');
  return {
    kind: 'stream',
    body: attempt.upstream.commit(attempt),
  };
}

/** One Anthropic SSE event: `event: <type>` + `data: <json>`. */
export function sseEvent(event: { type: string }): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * Responses SSE bytes → Anthropic SSE text, one parse per upstream event. The proxy may end the
 * message itself (a stop sequence, max_tokens): the stream is then `cut` and the upstream
 * request cancelled. Pings every PING_INTERVAL_MS of upstream silence, as Anthropic's API does.
 */
class MessagesSseTranslator extends EventsToText implements StreamTranslator {
  cut = false;
  readonly keepAlive: StreamTranslator['keepAlive'];

  constructor(private readonly state: MessagesStreamState) {
    super();
    this.keepAlive = { everyMs: PING_INTERVAL_MS, output: () => sseEvents(messagesPing(state)) };
  }

  protected translate(ev: ResponsesEvent): string {
    // throws UpstreamFailure('response_failed') on response.failed / error
    const out = sseEvents(messagesEventsForEvent(this.state, ev));
    if (this.state.done && !this.ended) {
      this.ended = true;
      this.cut = true;
    }
    return out;
  }

  closing(): Output {
    return sseEvents(finishMessagesStream(this.state));
  }

  failureEnding({ api }: MidStreamFailure): Output {
    return sseEvent(messagesErrorEvent(this.state, anthropicErrorOf(api).body.error));
  }
}

function sseEvents(events: readonly AnthropicStreamEvent[]): string {
  let out = '';
  for (const e of events) out += sseEvent(e);
  return out;
}
