/**
 * POST /v1/messages (Anthropic Messages API), independent of HTTP. Validates, maps the Claude model
 * name (config `claude-models`), translates to a Responses body (messages-to-responses) and runs
 * it through the same pool, retries and cooldowns as chat completions (openStream /
 * collectResponse); the upstream events come back through responses-to-messages. Everything thrown
 * from here happens before anything was sent to the client.
 */
import { randomBytes } from 'node:crypto';
import { claudeModelTarget, type ReasoningEffort } from '../../translate/claude-models.js';
import { parseCountTokensRequest, parseMessagesRequest, type MessagesRequest } from '../../translate/messages-schema.js';
import { messagesToResponses, type MessagesToResponsesResult } from '../../translate/messages-to-responses.js';
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
} from '../../translate/responses-to-messages.js';
import { estimateInputTokens } from '../../translate/token-estimate.js';
import { isTerminalEvent } from '../../upstream/events.js';
import { UpstreamFailure, type ResponsesEvent } from '../../upstream/types.js';
import { anthropicErrorOf } from '../anthropic-error.js';
import type { CallOptions, HandlerDeps } from './deps.js';
import { affinityKeyOf } from './session.js';
import {
  asUpstreamFailure,
  cancelQuietly,
  collectResponse,
  midStreamFailure,
  openStream,
  recordOutcome,
  releaseStream,
} from './upstream-events.js';

/** Anthropic sends `ping` events; we send one after this long without an upstream event. */
export const PING_INTERVAL_MS = 15_000;

/** One item of a streamed message: an event to send, or the error event that ends the stream. */
export type MessagesStreamItem = { kind: 'event'; event: AnthropicStreamEvent } | { kind: 'error'; event: AnthropicStreamEvent; message: string };

export type MessagesOutcome =
  | { kind: 'json'; message: AnthropicMessage }
  | {
      kind: 'stream';
      items: AsyncIterable<MessagesStreamItem>;
      /** An error event for this stream, for ending it from outside (server shutdown). */
      errorEvent(err: { status: number; message: string }): AnthropicStreamEvent;
    };

export function newMessageId(): string {
  return `msg_${randomBytes(12).toString('base64url')}`;
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

export async function handleMessages(deps: HandlerDeps, rawBody: unknown, call: CallOptions): Promise<MessagesOutcome> {
  const { req, translated } = await prepare(deps, parseMessagesRequest(rawBody), call.signal);
  const { body, limits, thinking } = translated;
  const affinityKey = affinityKeyOf({ promptCacheKey: translated.affinityKey }, call.sessionId);
  const sessionId = translated.affinityKey ?? call.sessionId;
  const state = createMessagesStreamState({
    id: newMessageId(),
    model: req.model,
    thinking,
    maxTokens: limits.maxTokens,
    stopSequences: limits.stopSequences,
    inputTokensEstimate: estimateInputTokens(body),
  });

  if (!req.stream) {
    const events = await collectResponse(deps, body, { affinityKey, signal: call.signal, sessionId });
    const out: AnthropicStreamEvent[] = [];
    for (const ev of events) out.push(...messagesEventsForEvent(state, ev));
    out.push(...finishMessagesStream(state));
    return { kind: 'json', message: messageFromStreamEvents(out) };
  }

  const opened = await deps.pool.withAccount({ affinityKey, signal: call.signal }, ({ account }) =>
    openStream(deps, account, body, { signal: call.signal, sessionId }),
  );

  async function* items(): AsyncGenerator<MessagesStreamItem> {
    let terminalEvent: ResponsesEvent | undefined;
    let ok = false;
    let failure: UpstreamFailure | undefined;
    const events = (ev: ResponsesEvent) => messagesEventsForEvent(state, ev).map((event) => ({ kind: 'event' as const, event }));
    try {
      for (const ev of opened.head) {
        if (isTerminalEvent(ev)) terminalEvent = ev;
        yield* events(ev);
      }
      // until the upstream ends, or the proxy ended the message (stop sequence, max_tokens)
      while (!terminalEvent && !state.done) {
        const next = yield* nextWithPings(deps, opened.rest, state, call.signal);
        if (next.done) throw new UpstreamFailure('stream_closed', 'stream closed before response.completed');
        if (isTerminalEvent(next.value)) terminalEvent = next.value;
        // throws UpstreamFailure('response_failed') on response.failed / error
        yield* events(next.value);
      }
      for (const event of finishMessagesStream(state)) yield { kind: 'event', event };
      ok = true;
      if (terminalEvent) releaseStream(opened.rest);
      else cancelQuietly(opened.stream); // cut by the proxy: the rest of the upstream answer is not needed
    } catch (err) {
      if (call.signal.aborted) return;
      const failed = midStreamFailure(deps, err);
      failure = failed.failure;
      const event = messagesErrorEvent(state, anthropicErrorOf(failed.api).body.error);
      yield { kind: 'error', event, message: failed.api.message };
    } finally {
      if (!ok) cancelQuietly(opened.stream);
      if (!call.signal.aborted) recordOutcome(deps, opened.account.accountId, ok, terminalEvent ? [terminalEvent] : [], opened.stream.usage, failure);
    }
  }

  return { kind: 'stream', items: items(), errorEvent: (err) => messagesErrorEvent(state, anthropicErrorOf(err).body.error) };
}

/**
 * The next upstream event; while none arrives, a `ping` (after message_start) every
 * PING_INTERVAL_MS on the injected clock, as Anthropic's API does.
 */
async function* nextWithPings(
  deps: HandlerDeps,
  rest: AsyncIterator<ResponsesEvent>,
  state: MessagesStreamState,
  signal: AbortSignal,
): AsyncGenerator<MessagesStreamItem, IteratorResult<ResponsesEvent>> {
  const pending = rest.next().catch((err: unknown) => {
    throw asUpstreamFailure(err, signal);
  });
  for (;;) {
    let cancel = () => {};
    const tick = new Promise<'ping'>((resolve) => {
      cancel = deps.clock.schedule(PING_INTERVAL_MS, () => resolve('ping'));
    });
    try {
      const r = await Promise.race([pending, tick]);
      if (r !== 'ping') return r;
    } finally {
      cancel();
    }
    for (const event of messagesPing(state)) yield { kind: 'event', event };
  }
}
