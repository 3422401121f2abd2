import type { FastifyPluginAsync } from 'fastify';
import { handleChatCompletion, type ChatStreamItem } from '../handlers/chat-completion.js';
import { sessionHeaderOf } from '../handlers/session.js';
import { SHUTDOWN_ERROR } from '../shutdown.js';
import { abortOnClientClose, sendSse } from '../sse.js';
import type { RouteContext } from './context.js';

/** SSE text for a chat stream. */
async function* chatSse(items: AsyncIterable<ChatStreamItem>): AsyncGenerator<string> {
  for await (const item of items) yield item.kind === 'keepalive' ? KEEP_ALIVE_COMMENT : sseData(item.chunk);
  yield 'data: [DONE]\n\n';
}

/** An SSE comment: ignored by every SSE parser, but it keeps idle-timeout proxies from cutting the stream. */
const KEEP_ALIVE_COMMENT = ': keep-alive\n\n';

function sseData(chunk: object): string {
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

export const chatCompletionsRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  app.post('/v1/chat/completions', async (req, reply) => {
    const controller = abortOnClientClose(reply);
    const outcome = await handleChatCompletion(ctx.handlers, req.body, {
      signal: controller.signal,
      sessionId: sessionHeaderOf(req.headers),
    });
    if (outcome.kind === 'json') return outcome.completion;
    return sendSse(
      reply,
      ctx.streams.track(reply.raw, chatSse(outcome.items), {
        ending: () => [sseData(outcome.errorChunk(SHUTDOWN_ERROR)), 'data: [DONE]\n\n'],
        onShutdown: () => controller.abort(new Error(SHUTDOWN_ERROR.message)),
      }),
    );
  });
};
