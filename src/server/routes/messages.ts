import type { FastifyPluginAsync } from 'fastify';
import { sessionHeaderOf } from '../../handlers/session.js';
import { abortOnClientClose, sendSse } from '../sse.js';
import type { RouteContext } from './context.js';
import { takeBody } from './take-body.js';

/** The session id Claude Code sends with every request, else the generic session headers. */
function sessionOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const cc = headers['x-claude-code-session-id'];
  if (typeof cc === 'string' && cc.trim()) return cc.trim().slice(0, 200);
  return sessionHeaderOf(headers);
}

/**
 * POST /v1/messages (also `?beta=true`, as Claude Code sends it) and /v1/messages/count_tokens.
 * Errors here, client auth included, are answered in Anthropic's format (app.ts, wantsAnthropicErrors).
 */
export const messagesRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  // the Anthropic translation is loaded at the first /v1/messages request, not at start-up
  let handlers: Promise<typeof import('../../handlers/messages.js')> | undefined;
  const load = () => (handlers ??= import('../../handlers/messages.js'));

  app.post('/v1/messages', async (req, reply) => {
    const controller = abortOnClientClose(reply);
    const { handleMessages } = await load();
    const outcome = await handleMessages(ctx.handlers, takeBody(req), { signal: controller.signal, sessionId: sessionOf(req.headers), trace: req.trace });
    if (outcome.kind === 'json') return outcome.message;
    ctx.streams.track(reply.raw, outcome.body);
    return sendSse(reply, outcome.body);
  });

  app.post('/v1/messages/count_tokens', async (req, reply) => {
    const controller = abortOnClientClose(reply);
    const { handleCountTokens } = await load();
    return handleCountTokens(ctx.handlers, takeBody(req), controller.signal);
  });
};
