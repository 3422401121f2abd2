/**
 * GET /dashboard (and its script and style): the built-in web dashboard, served only when the
 * management API is on, to the same addresses (loopback unless allow-remote). The page holds no
 * data; it asks for the management key and calls /v0/management/* with it.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiError } from '../../errors.js';
import { isLoopbackHost } from '../host-policy.js';
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from './assets.js';

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function send(reply: FastifyReply, type: string, body: string): FastifyReply {
  return reply.headers(SECURITY_HEADERS).type(type).send(body);
}

export async function dashboardRoutes(app: FastifyInstance, opts: { allowRemote: boolean }): Promise<void> {
  app.addHook('onRequest', async (req) => {
    if (!opts.allowRemote && !isLoopbackHost(req.socket.remoteAddress ?? req.ip)) {
      throw new ApiError(403, 'permission_error', 'The dashboard only answers on loopback; set remote-management.allow-remote: true to open it to other addresses.', {
        code: 'management_remote_disabled',
      });
    }
  });
  app.get('/dashboard', async (_req, reply) => send(reply, 'text/html; charset=utf-8', DASHBOARD_HTML));
  app.get('/dashboard/app.js', async (_req, reply) => send(reply, 'text/javascript; charset=utf-8', DASHBOARD_JS));
  app.get('/dashboard/app.css', async (_req, reply) => send(reply, 'text/css; charset=utf-8', DASHBOARD_CSS));
}
