/**
 * "Loopback" means loopback: without api-keys the server binds only loopback addresses
 * (host-policy.ts), but a web page can still reach it through DNS rebinding (a name of the
 * attacker's that resolves to 127.0.0.1) or send it cross-origin requests. So, with no keys,
 * a request is answered only when its `Host` is a loopback name or address with this server's
 * port, and, when a browser sends an `Origin`, that origin is loopback too. Anything else → 403.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { quoteInput } from '../util/quote.js';
import { isLoopbackHost } from './host-policy.js';

const HOST_HEADER = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/;

/** True when `host` (a Host header) names a loopback address or `localhost` and the port is `port` (80 when absent). */
export function isLoopbackHostHeader(host: string | undefined, port: number): boolean {
  if (host === undefined) return false;
  const m = HOST_HEADER.exec(host.trim());
  if (!m) return false;
  const [, name, portText] = m;
  return isLoopbackHost(name!) && Number(portText ?? '80') === port;
}

/** True when `origin` (an Origin header) is an http(s) origin on a loopback name or address. */
export function isLoopbackOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // includes the opaque origin "null"
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHost(url.hostname);
}

function forbidden(message: string, code: string): ApiError {
  return new ApiError(403, 'permission_error', message, { code });
}

/** The reason a request must be refused with no api-keys configured, or undefined when it may pass. */
export function loopbackViolation(req: Pick<FastifyRequest, 'headers' | 'socket'>): ApiError | undefined {
  const port = req.socket.localPort ?? 0;
  const host = req.headers.host;
  if (!isLoopbackHostHeader(host, port)) {
    return forbidden(
      `Host ${host === undefined ? '(none)' : quoteInput(host)} is not this server's loopback address: with no api-keys configured, cliproxy answers only ` +
        `requests addressed to localhost, 127.0.0.1 or [::1] on port ${port} (this protects against DNS rebinding). Set api-keys to serve other names.`,
      'host_not_allowed',
    );
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !isLoopbackOrigin(origin)) {
    return forbidden(
      `Origin ${quoteInput(origin)} is not allowed: with no api-keys configured, cliproxy refuses requests from web pages that are not on this machine. Set api-keys to allow it.`,
      'origin_not_allowed',
    );
  }
  return undefined;
}

/**
 * Refuses non-loopback Host / Origin on every route while no api-keys are configured. `apiKeys`
 * is asked on every request: a config reload may add or remove them.
 */
export function registerLoopbackGuard(app: FastifyInstance, apiKeys: () => readonly string[]): void {
  // callback style, as every hook on the request path: an async hook costs a promise and a microtask turn per request
  app.addHook('onRequest', (req, _reply, done) => {
    done(apiKeys().length > 0 ? undefined : loopbackViolation(req));
  });
}
