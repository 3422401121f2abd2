import { ApiError } from '../errors.js';

/** What a stream still running when the server shuts down ends with (chat error chunk / response.failed). */
export const SHUTDOWN_ERROR = new ApiError(503, 'server_error', 'server shutting down', { code: 'server_shutdown' });

/** How long a shutdown waits for active streams to send their ending before closing connections. */
export const STREAM_SHUTDOWN_GRACE_MS = 1000;
