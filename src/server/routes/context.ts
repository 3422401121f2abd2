import type { HandlerDeps } from '../handlers/deps.js';
import type { ActiveStreams } from '../active-streams.js';

/** What every route plugin receives as its options. */
export interface RouteContext {
  handlers: HandlerDeps;
  /** Streams in progress (ended properly on shutdown). */
  streams: ActiveStreams;
  /** config max-body-mb, for the body-too-large message of scopes with their own error handler. */
  maxBodyMb: number;
}
