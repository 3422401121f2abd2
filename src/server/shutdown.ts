/** What a stream still running when the server shuts down ends with (chat error chunk / response.failed). */
export const SHUTDOWN_ERROR = { message: 'server shutting down', type: 'server_error', code: 'server_shutdown' } as const;

/** How long a shutdown waits for active streams to send their ending before closing connections. */
export const STREAM_SHUTDOWN_GRACE_MS = 1000;
