/**
 * POST /v1/chat/completions, independent of HTTP: the route and `cliproxy exec` both call
 * handleChatCompletion. It validates, resolves the model, translates to a Responses body, runs
 * the upstream call through the pool and returns either the finished completion or a stream of
 * chunks. Everything thrown from here happens before anything was sent to the client.
 */
import { randomBytes } from 'node:crypto';
import { parseChatCompletionRequest } from '../../translate/chat-schema.js';
import { chatToResponses } from '../../translate/chat-to-responses.js';
import {
  chatChunksForEvent,
  chatErrorChunk,
  createChatStreamState,
  finishChatStream,
} from '../../translate/responses-to-chat.js';
import { chatCompletionFromEvents, type ChatCompletion } from '../../translate/responses-to-chat-completion.js';
import type { ResponsesEvent } from '../../upstream/types.js';
import { UpstreamFailure } from '../../upstream/types.js';
import { apiErrorFromFailure } from '../../upstream/api-error.js';
import type { CallOptions, HandlerDeps } from './deps.js';
import { affinityKeyOf } from './session.js';
import { TERMINAL_EVENTS, asUpstreamFailure, collectRest, failureFromEvent, isFailureEvent, openStream, recordOutcome } from './upstream-events.js';

export type { ChatCompletion };

/** One item of a streamed completion: a chunk to send, or the error chunk that ends it. */
export type ChatStreamItem = { kind: 'chunk'; chunk: object } | { kind: 'error'; chunk: object; message: string };

export type ChatCompletionOutcome =
  | { kind: 'json'; completion: ChatCompletion }
  | {
      kind: 'stream';
      id: string;
      items: AsyncIterable<ChatStreamItem>;
      /** An error chunk for this stream, for ending it from outside (server shutdown). */
      errorChunk(err: { message: string; type: string; code: string | null }): object;
    };

export function newCompletionId(): string {
  return `chatcmpl-${randomBytes(12).toString('base64url')}`;
}

export async function handleChatCompletion(deps: HandlerDeps, rawBody: unknown, call: CallOptions): Promise<ChatCompletionOutcome> {
  const req = parseChatCompletionRequest(rawBody);
  const model = await deps.catalog.resolve(req.model, call.signal);
  const { body, dropped } = chatToResponses(req, { model });
  if (dropped.length) deps.log.debug({ dropped }, 'dropped parameters the Codex backend does not accept');

  const affinityKey = affinityKeyOf({ promptCacheKey: req.prompt_cache_key, user: req.user }, call.sessionId);
  const sessionId = typeof body['prompt_cache_key'] === 'string' ? (body['prompt_cache_key'] as string) : call.sessionId;
  const init = { id: newCompletionId(), model: req.model, created: Math.floor(deps.clock.now() / 1000) };

  if (!req.stream) {
    const result = await deps.pool.withAccount({ affinityKey, signal: call.signal }, async ({ account }) => {
      const opened = await openStream(deps, account, body, { signal: call.signal, sessionId });
      const events = await collectRest(opened, call.signal);
      return { opened, events };
    });
    recordOutcome(deps, result.opened.account.accountId, true, result.events, result.opened.stream.usage);
    return { kind: 'json', completion: chatCompletionFromEvents(result.events, init) };
  }

  const opened = await deps.pool.withAccount({ affinityKey, signal: call.signal }, ({ account }) =>
    openStream(deps, account, body, { signal: call.signal, sessionId }),
  );
  const includeUsage = req.stream_options?.include_usage === true;
  const state = createChatStreamState({ ...init, includeUsage });

  async function* items(): AsyncGenerator<ChatStreamItem> {
    let terminalEvent: ResponsesEvent | undefined;
    let ok = false;
    let failure: unknown;
    try {
      for (const ev of opened.head) {
        if (TERMINAL_EVENTS.has(ev.type)) terminalEvent = ev;
        for (const chunk of chatChunksForEvent(state, ev)) yield { kind: 'chunk', chunk };
      }
      while (!terminalEvent) {
        let next: IteratorResult<ResponsesEvent>;
        try {
          next = await opened.rest.next();
        } catch (err) {
          throw asUpstreamFailure(err, call.signal);
        }
        if (next.done) throw new UpstreamFailure('stream_closed', 'stream closed before response.completed');
        const ev = next.value;
        if (isFailureEvent(ev)) throw failureFromEvent(ev);
        if (TERMINAL_EVENTS.has(ev.type)) terminalEvent = ev;
        for (const chunk of chatChunksForEvent(state, ev)) yield { kind: 'chunk', chunk };
      }
      for (const chunk of finishChatStream(state)) yield { kind: 'chunk', chunk };
      ok = true;
    } catch (err) {
      if (call.signal.aborted) return;
      const failed = err instanceof UpstreamFailure ? err : new UpstreamFailure('server', 'internal error while streaming');
      if (err instanceof UpstreamFailure) failure = err; // our own bugs do not cool the account down
      if (!(err instanceof UpstreamFailure)) deps.log.error({ err }, 'chat stream failed');
      else deps.log.warn({ kind: failed.kind, code: failed.code }, 'upstream failed mid-stream');
      const api = apiErrorFromFailure(failed, deps.clock.now());
      const chunk = chatErrorChunk(state, { message: api.message, type: api.type, code: api.code });
      yield { kind: 'error', chunk, message: api.message };
    } finally {
      if (!ok) {
        try {
          opened.stream.cancel();
        } catch {
          // already closed
        }
      }
      if (!call.signal.aborted) recordOutcome(deps, opened.account.accountId, ok, terminalEvent ? [terminalEvent] : [], opened.stream.usage, failure);
    }
  }

  return { kind: 'stream', id: init.id, items: items(), errorChunk: (err) => chatErrorChunk(state, err) };
}
