/**
 * The HTTP server: fastify with OpenAI-shaped errors everywhere, client auth on the API scope,
 * one plugin per route file. buildServer does not listen; run.ts does.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { AccountPool } from '../accounts/pool.js';
import type { Config } from '../config/schema.js';
import { ServiceUnavailableError } from '../errors.js';
import type { UpstreamClient } from '../upstream/types.js';
import type { Clock } from '../util/clock.js';
import { PINO_SECRET_FORMATTERS } from '../util/redact.js';
import { sendAnthropicError, wantsAnthropicErrors } from './anthropic-error.js';
import { registerClientAuth } from './client-auth.js';
import { handleClientError } from './client-error.js';
import { registerJsonBody } from './json-body.js';
import { registerLoopbackGuard } from './loopback-guard.js';
import { logServerError, routeNotFound, sendApiError, toClientError } from './error-mapping.js';
import { createHandlerDeps } from '../handlers/deps.js';
import { cachedAccountLabel, createMetrics } from './metrics.js';
import { chatCompletionsRoutes } from './routes/chat-completions.js';
import type { RouteContext } from './routes/context.js';
import { messagesRoutes } from './routes/messages.js';
import { modelsRoutes } from './routes/models.js';
import { responsesRoutes } from './routes/responses.js';
import { ActiveStreams } from './active-streams.js';
import { STREAM_SHUTDOWN_GRACE_MS } from './shutdown.js';
import { registerRequestLog } from './request-log.js';
import { UsageTracker } from './usage/tracker.js';
import { ConfigReloader, type ConfigSource } from './config-reload.js';

export interface ServerDeps {
  config: Config;
  pool: AccountPool;
  upstream: UpstreamClient;
  clock: Clock;
  /** false: no logs (tests); true: pino to stdout; an object: pino options (e.g. {stream}). Default true. */
  logger?: boolean | Record<string, unknown>;
  /** Revokes a removed account's refresh token (management API); default: the configured issuer's /oauth/revoke. */
  revoke?: (refreshToken: string) => Promise<void>;
  /** How to re-read the config (the command's loader); with a config file, edits and PUT /v0/management/config are applied live. */
  configSource?: ConfigSource;
  /** Debounce of the config file watcher (default 300 ms). */
  reloadDebounceMs?: number;
  /** Called after a reloaded config was applied (e.g. to set the level of loggers made before). */
  onConfigApplied?: (config: Config) => void;
  /** Usage per account and model (default: in memory only, no history). */
  usage?: UsageTracker;
  /** How many request-log lines GET /v0/management/logs can return (default 1000). */
  requestLogLines?: number;
  /** How long close() waits for streams in progress to send their ending; default 1000 ms. */
  streamShutdownGraceMs?: number;
}

const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** Routes logged at debug and kept out of the request-log buffer: probes, metrics, and the management API and dashboard (which poll). */
function isQuietRoute(route: string): boolean {
  return QUIET_ROUTES.has(route) || route.startsWith('/v0/management') || route.startsWith('/dashboard');
}

function loggerOptions(logger: ServerDeps['logger'], debug: boolean): FastifyServerOptions['logger'] {
  if (logger === false) return false;
  const base = { level: debug ? 'debug' : 'info', formatters: PINO_SECRET_FORMATTERS };
  return logger === true || logger === undefined ? base : { ...base, ...logger };
}

/** The compiler factory for fastify schemas, which this server does not use: a route that declares one fails at start-up. */
function noSchemaCompiler(): never {
  throw new Error('fastify route schemas are not used here: validate with zod in the handler');
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config, pool, clock } = deps;
  const app = Fastify({
    logger: loggerOptions(deps.logger, config.debug),
    bodyLimit: Math.floor(config.maxBodyMb * 1024 * 1024),
    // one summary line per request from the onResponse hook below instead of fastify's two
    logController: new LogController({ disableRequestLogging: true }),
    // during a shutdown our onRequest hook answers with OpenAI's envelope instead of fastify's own 503 body
    return503OnClosing: false,
    forceCloseConnections: true,
    // a request (headers and body) that does not arrive in time gets a 408; an idle connection is closed
    requestTimeout: config.server.requestTimeoutSeconds * 1000,
    // node checks that timeout every 30 s by default: often enough to honour a short one
    http: {
      connectionsCheckingInterval: Math.min(5000, Math.max(100, (config.server.requestTimeoutSeconds * 1000) / 4)),
      // node only enforces requestTimeout while headersTimeout is not longer than it
      headersTimeout: Math.min(60_000, config.server.requestTimeoutSeconds * 1000),
      // a request without Host is answered by the loopback guard / routes in the envelope, not by node's bare 400
      requireHostHeader: false,
    },
    // malformed URLs: OpenAI's envelope, not fastify's own body
    frameworkErrors: (err, req, reply) => {
      const apiError = toClientError(err, { now: clock.now(), maxBodyMb: config.maxBodyMb });
      void (wantsAnthropicErrors(req) ? sendAnthropicError(reply, apiError) : sendApiError(reply, apiError));
    },
    connectionTimeout: config.server.connectionTimeoutSeconds * 1000,
    clientErrorHandler: handleClientError,
    // no route declares a fastify JSON schema (bodies are checked with zod, see json-body.ts):
    // without these, fastify loads ajv and fast-json-stringify at start-up for nothing
    schemaController: { compilersFactory: { buildValidator: noSchemaCompiler, buildSerializer: noSchemaCompiler } },
  });
  app.server.maxConnections = config.server.maxConnections;
  registerJsonBody(app);

  const metrics = createMetrics(() => pool.size());
  const accountLabel = cachedAccountLabel();
  const usage = deps.usage ?? new UsageTracker(clock, null, app.log);
  // the running config: the keys config/live.ts lists change on reload, the others stay
  let running = config;
  const requestLog = registerRequestLog(app, { clock, accountLabel, usage, isQuiet: isQuietRoute, capacity: deps.requestLogLines });
  const handlers = createHandlerDeps(deps, {
    log: app.log,
    onAttempt: (accountId, outcome) => metrics.upstreamAttempts.inc({ account: accountLabel(accountId), outcome }),
  });
  const streams = new ActiveStreams(metrics.activeStreams);
  const reloader = deps.configSource
    ? new ConfigReloader({
        source: deps.configSource,
        running: config,
        clock,
        log: app.log,
        debounceMs: deps.reloadDebounceMs,
        apply(next) {
          running = next;
          pool.updateConfig(next);
          handlers.catalog.setAliases(next.modelAliases);
          handlers.claudeModels = next.claudeModels;
          app.log.level = next.debug ? 'debug' : 'info';
          deps.onConfigApplied?.(next);
        },
      })
    : null;
  if (reloader) {
    app.addHook('onReady', async () => reloader.watch());
    app.addHook('onClose', async () => reloader.close());
  }
  const ctx: RouteContext = { handlers, streams };

  // close(): refuse new requests, end every stream in progress with an error event, then fastify closes the connections
  let closing = false;
  app.addHook('onRequest', (_req, _reply, done) => {
    done(closing ? new ServiceUnavailableError('The server is shutting down; retry shortly.', { code: 'server_shutdown' }) : undefined);
  });
  registerLoopbackGuard(app, () => running.apiKeys);
  app.addHook('preClose', async () => {
    closing = true;
    if (streams.size > 0) app.log.info({ streams: streams.size }, 'ending streams in progress');
    await streams.endAll(deps.streamShutdownGraceMs ?? STREAM_SHUTDOWN_GRACE_MS, clock);
  });

  app.setErrorHandler((err, req, reply) => {
    if (reply.raw.destroyed) {
      req.log.debug({ err: (err as Error).message }, 'client went away before the response');
      return;
    }
    const apiError = toClientError(err, { now: clock.now(), maxBodyMb: config.maxBodyMb });
    logServerError(req.log, apiError, err);
    return wantsAnthropicErrors(req) ? sendAnthropicError(reply, apiError) : sendApiError(reply, apiError);
  });
  app.setNotFoundHandler((req, reply) => {
    const notFound = routeNotFound(req.method, req.url);
    return wantsAnthropicErrors(req) ? sendAnthropicError(reply, notFound) : sendApiError(reply, notFound);
  });

  app.addHook('onResponse', (req, reply, done) => {
    metrics.requests.inc({ route: req.routeOptions.url ?? 'unmatched', method: req.method, status: String(reply.statusCode) });
    done();
  });

  // liveness: 200 whenever the process serves
  app.get('/healthz', async () => {
    const accounts = pool.size();
    return { status: accounts.usable > 0 ? 'ok' : 'no_usable_accounts', accounts };
  });
  // readiness: 200 while at least one account can serve, else 503 with the reason
  // degraded (still 200) while the account store is unreachable: the instance serves with the tokens it holds
  app.get('/readyz', async (_req, reply) => {
    const accounts = pool.size();
    const store = pool.storeAvailable() ? 'ok' : 'unavailable';
    const reason = pool.unusableReason();
    if (reason !== null) return reply.code(503).send({ status: 'not_ready', reason, store, accounts });
    return { status: store === 'ok' ? 'ready' : 'degraded', store, accounts };
  });

  await app.register(async (api) => {
    registerClientAuth(api, () => running.apiKeys);
    await api.register(chatCompletionsRoutes, ctx);
    await api.register(responsesRoutes, ctx);
    await api.register(messagesRoutes, ctx);
    await api.register(modelsRoutes, ctx);
    api.get('/metrics', async (_req, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  });

  const managementKey = config.management.secretKey;
  if (managementKey !== null) {
    // loaded only when the management API is on
    const [{ managementApi }, { ManagementKeyVerifier }, { TokenClient }, { dashboardRoutes }] = await Promise.all([
      import('./management/index.js'),
      import('./management/key.js'),
      import('../auth/token-client.js'),
      import('./dashboard/routes.js'),
    ]);
    const tokens = new TokenClient({ issuer: config.codex.issuer, clientId: config.codex.clientId, timeoutMs: 5000 });
    await app.register(managementApi, {
      verifier: await ManagementKeyVerifier.fromConfigured(managementKey),
      allowRemote: config.management.allowRemote,
      pool,
      clock,
      revoke: deps.revoke ?? ((token) => tokens.revoke(token)),
      log: app.log,
      usage,
      requestLog,
      config: () => running,
      reloader,
    });
    await app.register(dashboardRoutes, { allowRemote: config.management.allowRemote });
  }

  return app;
}
