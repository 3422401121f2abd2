import type { HandlerDeps } from '../handlers/deps.js';
import type { ModelCatalog } from '../model-catalog.js';
import type { ServerMetrics } from '../metrics.js';
import type { ActiveStreams } from '../active-streams.js';

/** What every route plugin receives as its options. */
export interface RouteContext {
  handlers: HandlerDeps;
  catalog: ModelCatalog;
  metrics: ServerMetrics;
  /** Streams in progress (ended properly on shutdown). */
  streams: ActiveStreams;
}
