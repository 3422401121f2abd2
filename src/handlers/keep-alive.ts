/**
 * How often a committed chat stream sends an SSE comment while the backend is silent (long
 * reasoning): proxies and clients with idle timeouts (often 30-60 s) keep the connection.
 * The pump sends it (StreamTranslator.keepAlive), on the injected clock.
 */
export const KEEP_ALIVE_INTERVAL_MS = 15_000;
