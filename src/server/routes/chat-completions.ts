import type { FastifyPluginAsync } from 'fastify';
import { handleChatCompletion, type ChatStreamItem } from '../handlers/chat-completion.js';
import { sessionHeaderOf } from '../handlers/session.js';
import { abortOnClientClose, sendSse } from '../sse.js';
import type { RouteContext } from './context.js';

/** SSE text for a chat stream; `onStart`/`onEnd` bracket it (they only run if the stream is actually read). */
async function* chatSse(items: AsyncIterable<ChatStreamItem>, onStart: () => void, onEnd: () => void): AsyncGenerator<string> {
  onStart();
  try {
    for await (const item of items) yield `data: ${JSON.stringify(item.chunk)}\n\n`;
    yield 'data: [DONE]\n\n';
  } finally {
    onEnd();
  }
}

export const chatCompletionsRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  app.post('/v1/chat/completions', async (req, reply) => {
    const controller = abortOnClientClose(reply);
    const outcome = await handleChatCompletion(ctx.handlers, req.body, {
      signal: controller.signal,
      sessionId: sessionHeaderOf(req.headers),
    });
    if (outcome.kind === 'json') return outcome.completion;
    const gauge = ctx.metrics.activeStreams;
    return sendSse(reply, chatSse(outcome.items, () => gauge.inc(), () => gauge.dec()));
  });
};
