import type { FastifyPluginAsync } from 'fastify';
import { handleChatCompletion } from '../../handlers/chat-completion.js';
import { sessionHeaderOf } from '../../handlers/session.js';
import { abortOnClientClose, sendSse } from '../sse.js';
import type { RouteContext } from './context.js';
import { takeBody } from './take-body.js';

export const chatCompletionsRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  app.post('/v1/chat/completions', async (req, reply) => {
    const controller = abortOnClientClose(reply);
    const outcome = await handleChatCompletion(ctx.handlers, takeBody(req), {
      signal: controller.signal,
      sessionId: sessionHeaderOf(req.headers),
      trace: req.trace,
    });
    if (outcome.kind === 'json') return outcome.completion;
    ctx.streams.track(reply.raw, outcome.body);
    return sendSse(reply, outcome.body);
  });
};
