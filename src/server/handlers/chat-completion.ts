/**
 * POST /v1/chat/completions, independent of HTTP: the route and `cliproxy exec` both call
 * handleChatCompletion. It validates, resolves the model, translates to a Responses body, runs
 * the upstream call through the pool and returns either the finished completion or a stream of
 * chunks. Everything thrown from here happens before anything was sent to the client.
 */
import { randomBytes } from 'node:crypto';
import { parseChatCompletionRequest } from '../../translate/chat-schema.js';
import { chatToResponses, usesLegacyFunctions } from '../../translate/chat-to-responses.js';
import {
  chatChunksForEvent,
  chatErrorChunk,
  createChatStreamState,
  finishChatStream,
  roleChunk,
} from '../../translate/responses-to-chat.js';
import { chatCompletionFromEvents, type ChatCompletion } from '../../translate/responses-to-chat-completion.js';
import { isTerminalEvent } from '../../upstream/events.js';
import { UpstreamFailure, type ResponsesEvent } from '../../upstream/types.js';
import type { CallOptions, HandlerDeps } from './deps.js';
import { KEEP_ALIVE_INTERVAL_MS, nextOrTick } from './keep-alive.js';
import {
  asUpstreamFailure,
  cancelQuietly,
  collectResponse,
  midStreamFailure,
  openStream,
  recordOutcome,
  releaseStream,
} from './upstream-events.js';

export type { ChatCompletion };

/**
 * One item of a streamed completion: a chunk to send, the error chunk that ends it, or a
 * keep-alive (an SSE comment on the wire; nothing for `cliproxy exec`).
 */
export type ChatStreamItem = { kind: 'chunk'; chunk: object } | { kind: 'error'; chunk: object; message: string } | { kind: 'keepalive' };

export type ChatCompletionOutcome =
  | { kind: 'json'; completion: ChatCompletion }
  | {
      kind: 'stream';
      items: AsyncIterable<ChatStreamItem>;
      /** An error chunk for this stream, for ending it from outside (server shutdown). */
      errorChunk(err: { message: string; type: string; code: string | null }): object;
    };

export function newCompletionId(): string {
  return `chatcmpl-${randomBytes(12).toString('base64url')}`;
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
  const { model, effort } = await deps.catalog.resolve(req.model, call.signal);
  const { body, dropped, notes } = chatToResponses(req, { model, effort, reasoningSummary: deps.reasoningSummary, sessionId: call.sessionId });
  if (dropped.length) deps.log.debug({ dropped }, 'dropped parameters the Codex backend does not accept');
  for (const note of notes) deps.log.debug({ note }, 'left out of the conversation sent upstream');

  // prompt_cache_key: the client's, else `user`, else its session header, else derived from the conversation
  const affinityKey = typeof body['prompt_cache_key'] === 'string' ? (body['prompt_cache_key'] as string) : undefined;
  const sessionId = affinityKey;
  const init = { id: newCompletionId(), model: req.model, created: Math.floor(deps.clock.now() / 1000), legacyFunctions: usesLegacyFunctions(req) };

  if (!req.stream) {
    const events = await collectResponse(deps, body, { affinityKey, signal: call.signal, sessionId });
    return { kind: 'json', completion: chatCompletionFromEvents(events, init) };
  }

  const opened = await deps.pool.withAccount({ affinityKey, signal: call.signal }, ({ account }) =>
    openStream(deps, account, body, { signal: call.signal, sessionId }),
  );
  const includeUsage = req.stream_options?.include_usage === true;
  const state = createChatStreamState({ ...init, includeUsage });

  async function* items(): AsyncGenerator<ChatStreamItem> {
    let terminalEvent: ResponsesEvent | undefined;
    let ok = false;
    let failure: UpstreamFailure | undefined;
    try {
      // the stream is committed: the client sees it start now, whatever the model does first
      for (const chunk of roleChunk(state)) yield { kind: 'chunk', chunk };
      for (const ev of opened.head) {
        if (isTerminalEvent(ev)) terminalEvent = ev;
        for (const chunk of chatChunksForEvent(state, ev)) yield { kind: 'chunk', chunk };
      }
      while (!terminalEvent) {
        let next: IteratorResult<ResponsesEvent>;
        try {
          const pending = opened.rest.next();
          let r = await nextOrTick(deps.clock, KEEP_ALIVE_INTERVAL_MS, pending);
          while (r.tick) {
            yield { kind: 'keepalive' };
            r = await nextOrTick(deps.clock, KEEP_ALIVE_INTERVAL_MS, pending);
          }
          next = r.value;
        } catch (err) {
          throw asUpstreamFailure(err, call.signal);
        }
        if (next.done) throw new UpstreamFailure('stream_closed', 'stream closed before response.completed');
        const ev = next.value;
        if (isTerminalEvent(ev)) terminalEvent = ev;
        // throws UpstreamFailure('response_failed') on response.failed / error
        for (const chunk of chatChunksForEvent(state, ev)) yield { kind: 'chunk', chunk };
      }
      for (const chunk of finishChatStream(state)) yield { kind: 'chunk', chunk };
      ok = true;
      releaseStream(opened.rest);
    } catch (err) {
      if (call.signal.aborted) return;
      const failed = midStreamFailure(deps, err);
      failure = failed.failure;
      const chunk = chatErrorChunk(state, { message: failed.api.message, type: failed.api.type, code: failed.api.code });
      yield { kind: 'error', chunk, message: failed.api.message };
    } finally {
      if (!ok) cancelQuietly(opened.stream);
      if (!call.signal.aborted) recordOutcome(deps, opened.account.accountId, ok, terminalEvent ? [terminalEvent] : [], opened.stream.usage, failure);
    }
  }

  return { kind: 'stream', items: items(), errorChunk: (err) => chatErrorChunk(state, err) };
}
