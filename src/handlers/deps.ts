import type { Logger } from '../accounts/logger.js';
import type { AccountPool } from '../accounts/pool.js';
import type { Config } from '../config/schema.js';
import type { UpstreamClient } from '../upstream/types.js';
import type { Clock } from '../util/clock.js';
import { ModelCatalog } from '../server/model-catalog.js';
import type { RequestTrace } from '../server/request-log.js';

/** What the request handlers need; the server and `cliproxy exec` build it with createHandlerDeps. */
export interface HandlerDeps {
  pool: Pick<AccountPool, 'open'>;
  upstream: UpstreamClient;
  catalog: ModelCatalog;
  clock: Clock;
  log: Logger;
  /** config `claude-models`: Anthropic model names → Codex model + effort (/v1/messages). */
  claudeModels?: Config['claudeModels'];
  /** `codex.reasoning-summary`: the summary chat requests get unless they ask for another. */
  reasoningSummary?: Config['codex']['reasoningSummary'];
  /** Called once per upstream attempt with the account id and `ok` or the failure kind (metrics). */
  onAttempt?: (accountId: string, outcome: string) => void;
}

/** The parts of a Runtime (src/app/runtime.ts) the handlers are built from. */
export interface HandlerSources {
  config: Config;
  pool: AccountPool;
  upstream: UpstreamClient;
  clock: Clock;
}

/** The handlers' dependencies over a runtime, with the model catalog (cache and aliases from config). */
export function createHandlerDeps(runtime: HandlerSources, opts: { log: Logger; onAttempt?: HandlerDeps['onAttempt'] }): HandlerDeps {
  const { config, pool, upstream, clock } = runtime;
  const catalog = new ModelCatalog({
    pool,
    upstream,
    clock,
    cacheSeconds: config.modelsCacheSeconds,
    aliases: config.modelAliases,
    effortSuffixes: config.modelEffortSuffixes,
    clientVersion: config.codex.clientVersion,
    log: opts.log,
  });
  return { pool, upstream, catalog, clock, log: opts.log, reasoningSummary: config.codex.reasoningSummary, onAttempt: opts.onAttempt, claudeModels: config.claudeModels };
}

/** Per-call inputs that do not come from the JSON body. */
export interface CallOptions {
  /** Aborted when the client goes away; cancels the upstream request. */
  signal: AbortSignal;
  /** A session id header from the client (session_id / x-session-id), used for affinity and caching. */
  sessionId?: string;
  /** A Codex client's own headers, forwarded upstream unchanged (/v1/responses only). */
  upstreamHeaders?: Readonly<Record<string, string>>;
  /** Filled in as the call goes (model, attempts, account, tokens) for the request log and usage. */
  trace?: RequestTrace;
}
