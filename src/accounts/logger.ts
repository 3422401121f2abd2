/**
 * The logging surface the pool needs: pino-style methods taking either a message or a
 * structured object plus a message. Fastify's `app.log` and pino loggers fit as they are.
 */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** Discards everything (the default when no logger is given). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
