import type { FastifyPluginAsync } from 'fastify';
import { handleResponses } from '../../handlers/responses.js';
import { codexClientHeaders, sessionHeaderOf } from '../../handlers/session.js';
import { abortOnClientClose, sendSse } from '../sse.js';
import type { RouteContext } from './context.js';
import { takeBody } from './take-body.js';

/** /v1/responses for Responses clients, and /backend-api/codex/responses for clients whose base_url is a Codex backend. */
export const responsesRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  for (const path of ['/v1/responses', '/backend-api/codex/responses']) {
    app.post(path, async (req, reply) => {
      const controller = abortOnClientClose(reply);
      const outcome = await handleResponses(ctx.handlers, takeBody(req), {
        signal: controller.signal,
        sessionId: sessionHeaderOf(req.headers),
        upstreamHeaders: codexClientHeaders(req.headers),
        trace: req.trace,
      });
      if (outcome.kind === 'json') return outcome.response;
      ctx.streams.track(reply.raw, outcome.body);
      return sendSse(reply, outcome.body);
    });
  }
};
