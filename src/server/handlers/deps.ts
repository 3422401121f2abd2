import type { AccountPool } from '../../accounts/pool.js';
import type { UpstreamClient } from '../../upstream/types.js';
import type { Clock } from '../../util/clock.js';
import type { ModelCatalog } from '../model-catalog.js';
import type { Logger } from '../../accounts/logger.js';

export type { Logger } from '../../accounts/logger.js';
export { silentLogger } from '../../accounts/logger.js';

/** What the request handlers need; the server and `cliproxy exec` build the same thing. */
export interface HandlerDeps {
  pool: Pick<AccountPool, 'withAccount' | 'recordResult'>;
  upstream: UpstreamClient;
  catalog: ModelCatalog;
  clock: Clock;
  log: Logger;
  /** Called once per upstream attempt with the account id and `ok` or the failure kind (metrics). */
  onAttempt?: (accountId: string, outcome: string) => void;
}

/** Per-call inputs that do not come from the JSON body. */
export interface CallOptions {
  /** Aborted when the client goes away; cancels the upstream request. */
  signal: AbortSignal;
  /** A session id header from the client (session_id / x-session-id), used for affinity and caching. */
  sessionId?: string;
}
