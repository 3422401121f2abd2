/**
 * The sandbox HTTP server: one port, issuer paths at the root, backend paths under
 * /backend-api/codex. Logs one line per request (method, path, status; never bodies,
 * query strings or headers) unless quiet.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { SandboxCore } from './core.js';
import { HttpError, sendJson, type Handler, type Request } from './http.js';
import { authorizeDecision, authorizeGet, deviceCallbackPage, openidConfiguration, revokeEndpoint, tokenEndpoint } from './issuer-routes.js';
import { appsMcpEndpoint, emptyPluginPage, noSuggestedPlugins } from './apps-routes.js';
import { deviceDecisionPost, devicePageGet, devicePagePost, deviceTokenEndpoint, userCodeEndpoint } from './device-routes.js';
import {
  accountsCheckEndpoint,
  analyticsEndpoint,
  modelsEndpoint,
  responsesEndpoint,
  userSettingsEndpoint,
  whamUsageEndpoint,
} from './backend-routes.js';

export const BACKEND_PREFIX = '/backend-api/codex';

function buildRoutes(core: SandboxCore): Map<string, Handler> {
  const routes = new Map<string, Handler>();
  const add = (method: string, path: string, h: Handler) => routes.set(`${method} ${path}`, h);
  add('GET', '/oauth/authorize', authorizeGet(core));
  add('POST', '/oauth/authorize/decision', authorizeDecision(core));
  add('POST', '/oauth/token', tokenEndpoint(core));
  add('POST', '/oauth/revoke', revokeEndpoint(core));
  add('GET', '/.well-known/openid-configuration', openidConfiguration(core));
  add('POST', '/api/accounts/deviceauth/usercode', userCodeEndpoint(core));
  add('POST', '/api/accounts/deviceauth/token', deviceTokenEndpoint(core));
  add('GET', '/deviceauth/callback', deviceCallbackPage());
  add('GET', '/codex/device', devicePageGet());
  add('POST', '/codex/device', devicePagePost(core));
  add('POST', '/codex/device/decision', deviceDecisionPost(core));
  add('POST', `${BACKEND_PREFIX}/responses`, responsesEndpoint(core));
  add('GET', `${BACKEND_PREFIX}/models`, modelsEndpoint(core));
  add('POST', `${BACKEND_PREFIX}/analytics-events/events`, analyticsEndpoint());
  add('GET', '/backend-api/wham/usage', whamUsageEndpoint(core));
  add('GET', '/backend-api/wham/accounts/check', accountsCheckEndpoint(core));
  add('GET', '/backend-api/wham/settings/user', userSettingsEndpoint(core));
  add('GET', '/backend-api/ps/plugins/installed', emptyPluginPage(core));
  add('GET', '/backend-api/ps/plugins/list', emptyPluginPage(core));
  add('GET', '/backend-api/ps/plugins/suggested/codex', noSuggestedPlugins(core));
  add('POST', '/backend-api/ps/mcp', appsMcpEndpoint());
  return routes;
}

export function createSandboxServer(getCore: () => SandboxCore, log: ((line: string) => void) | undefined): Server {
  let routes: Map<string, Handler> | undefined;
  return createServer((raw: IncomingMessage, res: ServerResponse) => {
    routes ??= buildRoutes(getCore());
    const url = new URL(raw.url ?? '/', 'http://sandbox.invalid');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const method = (raw.method ?? 'GET').toUpperCase();
    const req: Request = { method, path, query: url.searchParams, headers: raw.headers, raw };
    if (log) res.on('close', () => log(`sandbox: ${method} ${path} ${res.statusCode}${res.writableFinished ? '' : ' (connection closed early)'}`));
    const handler = routes.get(`${method} ${path}`) ?? routes.get(`${method === 'HEAD' ? 'GET' : method} ${path}`);
    if (!handler) {
      const allowed = [...routes.keys()].filter((k) => k.endsWith(` ${path}`));
      if (allowed.length > 0) return sendJson(res, 405, { error: { message: `Method ${method} not allowed on ${path}`, code: 'method_not_allowed' } });
      return sendJson(res, 404, { error: { message: `Not found: ${method} ${path}`, code: 'not_found' } });
    }
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (err instanceof HttpError) return sendJson(res, err.status, err.body);
        sendJson(res, 500, { error: { message: 'sandbox internal error', code: 'server_error' } });
        log?.(`sandbox: internal error on ${method} ${path}: ${err instanceof Error ? err.message : String(err)}`);
      });
  });
}
