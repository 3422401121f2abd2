/**
 * Starting the server for real: check the bind address against the API-key rule, build the
 * runtime (store, pool, upstream), listen, and print where it listens and how many accounts
 * it loaded. Used by `cliproxy serve` and `cliproxy demo`.
 */
import type { Writable } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ConfigSource } from './config-reload.js';
import { pino } from 'pino';
import type { Logger } from '../accounts/logger.js';
import { silentLogger } from '../accounts/logger.js';
import { createRuntime, type Runtime } from '../app/runtime.js';
import { stderrLogger } from '../app/stderr-logger.js';
import type { Config } from '../config/schema.js';
import { systemClock, type Clock } from '../util/clock.js';
import { buildServer } from './app.js';
import { assertHostAllowed } from './host-policy.js';
import { formatUrl } from './url.js';
import { usagePersistenceFor } from './usage/persistence-for-config.js';
import { UsageTracker } from './usage/tracker.js';

export interface StartServerDeps {
  clock?: Clock;
  /** Where the startup lines go. */
  stdout: Writable;
  /** Where the logs go (pino JSON lines). */
  stderr: Writable;
  /** An existing runtime (the server then does not close it); default: built from config. */
  runtime?: Runtime;
  /** false disables request logs (tests). */
  logs?: boolean;
  /** How to re-read the config: with a config file, edits are then applied live (hot reload). */
  configSource?: ConfigSource;
  /** Debounce of the config file watcher (default 300 ms). */
  reloadDebounceMs?: number;
}

export interface ServerHandle {
  app: FastifyInstance;
  runtime: Runtime;
  host: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

type Level = keyof Logger;

/**
 * A logger for the pool, which starts (and reports unreadable account files, "Loaded N Codex
 * accounts") before fastify's logger exists: entries are kept until the target is set, then
 * written to it in order, so nothing logged at start-up is lost.
 */
export function bufferingLogger(): { log: Logger; setTarget(l: Logger): void } {
  let target: Logger | undefined;
  const pending: { level: Level; obj: object | string; msg?: string }[] = [];
  const at = (level: Level) => (obj: object | string, msg?: string) => {
    if (target) target[level](obj, msg);
    else pending.push({ level, obj, msg });
  };
  return {
    log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
    setTarget(l) {
      target = l;
      for (const e of pending.splice(0)) l[e.level](e.obj, e.msg);
    },
  };
}

/**
 * A plain management key in the config file is replaced there by its hash before anything
 * else (as CLIProxyAPI does), so the file never keeps it. When the file cannot be written the
 * key is hashed in memory only and a warning says so.
 */
async function hashManagementKeyAtStart(config: Config, stderr: Writable): Promise<{ config: Config; hashedInto: string | null }> {
  const key = config.management.secretKey;
  if (config.management.keyFrom !== 'file' || key === null) return { config, hashedInto: null };
  // the management key's module (yaml, scrypt) is loaded only when there is a key
  const { hashKeyInConfigFile, isManagementKeyHash } = await import('./management/key.js');
  if (isManagementKeyHash(key)) return { config, hashedInto: null };
  try {
    const hash = await hashKeyInConfigFile(config.source);
    if (hash === null) return { config, hashedInto: null };
    return { config: { ...config, management: { ...config.management, secretKey: hash } }, hashedInto: config.source };
  } catch (err) {
    stderr.write(`Warning: could not write the hashed management key into ${config.source} (${(err as NodeJS.ErrnoException).code ?? 'error'}); it stays in plain text there.\n`);
    return { config, hashedInto: null };
  }
}

/** Log bytes gathered before a write to a non-terminal stderr, and the longest a line waits. */
const LOG_BATCH_BYTES = 8192;
const LOG_FLUSH_MS = 500;

/**
 * Where the server's log lines go: pretty, coloured lines on a terminal; JSON lines otherwise.
 * On the process's own stderr (a pipe or a file: a log collector) the lines are written
 * asynchronously and in batches (pino's sonic-boom destination, at most LOG_FLUSH_MS late): a
 * write per request line cost about a tenth of the CPU time under load, and a slow reader would
 * stall the event loop. What is buffered is written out on close and at exit.
 */
async function logStream(stderr: Writable & { isTTY?: boolean }): Promise<{ stream: Writable | ReturnType<typeof pino.destination>; flush(last?: boolean): void }> {
  if (stderr.isTTY === true) {
    // loaded only for a terminal
    const { default: pretty } = await import('pino-pretty');
    return { stream: pretty({ destination: stderr, colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }), flush: () => undefined };
  }
  if (stderr !== process.stderr) return { stream: stderr, flush: () => undefined };
  // lines are gathered up to LOG_BATCH_BYTES per write, and written at least every LOG_FLUSH_MS
  const dest = pino.destination({ dest: 2, sync: false, minLength: LOG_BATCH_BYTES });
  const timer = setInterval(() => dest.flush(), LOG_FLUSH_MS);
  timer.unref();
  return {
    stream: dest,
    /** Writes what is buffered now; `last` (the default) also stops the periodic writes. */
    flush: (last = true) => {
      if (last) clearInterval(timer);
      try {
        dest.flushSync();
      } catch {
        // nothing buffered, or stderr is gone: nothing to keep
      }
    },
  };
}

export async function startServer(configIn: Config, deps: StartServerDeps): Promise<ServerHandle> {
  assertHostAllowed(configIn.host, configIn.apiKeys);
  const { config, hashedInto } = await hashManagementKeyAtStart(configIn, deps.stderr);
  const clock = deps.clock ?? systemClock;
  const poolLog = bufferingLogger();
  const ownsRuntime = deps.runtime === undefined;
  // if the server never comes up, what the pool found at start-up still goes to stderr
  const flushToStderr = () => poolLog.setTarget(deps.logs === false ? silentLogger : stderrLogger(deps.stderr, 'info'));
  let runtime: Runtime;
  try {
    runtime = deps.runtime ?? (await createRuntime(config, { clock, log: poolLog.log }));
  } catch (err) {
    flushToStderr();
    throw err;
  }
  const usage = new UsageTracker(clock, await usagePersistenceFor(config, clock), poolLog.log);
  await usage.start();
  const logs = deps.logs === false ? { stream: undefined, flush: () => undefined } : await logStream(deps.stderr);
  let app: FastifyInstance;
  let poolLogger: FastifyBaseLogger | undefined;
  try {
    app = await buildServer({
      usage,
      configSource: deps.configSource,
      reloadDebounceMs: deps.reloadDebounceMs,
      onConfigApplied: (next) => {
        if (poolLogger) poolLogger.level = next.debug ? 'debug' : 'info';
      },
      config,
      pool: runtime.pool,
      upstream: runtime.upstream,
      clock,
      logger: logs.stream === undefined ? false : { stream: logs.stream },
    });
    poolLogger = app.log.child({ component: 'pool' });
    poolLog.setTarget(poolLogger);
    await app.listen({ host: config.host, port: config.port });
    // what start-up logged (accounts loaded, migrations applied) is out before "listening on"
    logs.flush(false);
  } catch (err) {
    logs.flush();
    flushToStderr();
    await usage.close();
    if (ownsRuntime) await runtime.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = formatUrl(config.host, port);
  const { total, usable } = runtime.pool.size();
  deps.stdout.write(`listening on ${url}\n`);
  deps.stdout.write(`Loaded ${total} Codex account${total === 1 ? '' : 's'}${total !== usable ? ` (${usable} usable now)` : ''}\n`);
  if (total === 0) deps.stdout.write(`No accounts in ${runtime.store.description}: sign one in with \`cliproxy login\`.\n`);
  if (config.apiKeys.length === 0) deps.stdout.write('No api-keys configured: accepting requests without a key (loopback only).\n');
  if (hashedInto) deps.stdout.write(`remote-management.secret-key in ${hashedInto} replaced by its scrypt hash.\n`);
  if (config.management.secretKey !== null) deps.stdout.write(`Management API at ${url}/v0/management, dashboard at ${url}/dashboard\n`);

  let closing: Promise<void> | undefined;
  return {
    app,
    runtime,
    host: config.host,
    port,
    url,
    close() {
      closing ??= (async () => {
        try {
          await app.close();
          await usage.close();
          if (ownsRuntime) await runtime.close();
        } finally {
          logs.flush();
        }
      })();
      return closing;
    },
  };
}
