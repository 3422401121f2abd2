import { ApiError } from '../errors.js';

/** What a stream still running when the server shuts down ends with, through its translator's failure ending: a chat error chunk, a response.failed event, an Anthropic error event (503 → overloaded_error). */
export const SHUTDOWN_ERROR = new ApiError(503, 'server_error', 'server shutting down', { code: 'server_shutdown' });

/** How long a shutdown waits for active streams to send their ending before closing connections. */
export const STREAM_SHUTDOWN_GRACE_MS = 1000;
