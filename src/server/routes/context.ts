import type { HandlerDeps } from '../../handlers/deps.js';
import type { ActiveStreams } from '../active-streams.js';

/** What every route plugin receives as its options. */
export interface RouteContext {
  handlers: HandlerDeps;
  /** Streams in progress (ended properly on shutdown). */
  streams: ActiveStreams;
}
