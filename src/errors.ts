/**
 * Typed errors that map onto OpenAI's error envelope:
 *   {"error":{"message","type","param","code"}} with the matching HTTP status.
 * Every error a client can see is one of these; anything else becomes a 500 `server_error`.
 */

export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
  };
}

export interface ApiErrorOptions {
  param?: string | null;
  code?: string | null;
  /** Seconds, sent as the Retry-After header. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, type: string, message: string, options: ApiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.type = type;
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400: the request is malformed or asks for something unsupported. */
export class InvalidRequestError extends ApiError {
  constructor(message: string, options: ApiErrorOptions = {}) {
    super(400, 'invalid_request_error', message, options);
  }
}

/** 401: missing or wrong API key. */
export class AuthenticationError extends ApiError {
  constructor(message = 'Invalid API key. Send it as "Authorization: Bearer <key>" or "x-api-key: <key>".', options: ApiErrorOptions = {}) {
    super(401, 'invalid_request_error', message, { code: 'invalid_api_key', ...options });
  }
}

/** 404: unknown model or route. */
export class NotFoundError extends ApiError {
  constructor(message: string, options: ApiErrorOptions = {}) {
    super(404, 'invalid_request_error', message, options);
  }
}

/** 413: body larger than `max-body-mb`. */
export class PayloadTooLargeError extends ApiError {
  constructor(message: string, options: ApiErrorOptions = {}) {
    super(413, 'invalid_request_error', message, { code: 'request_too_large', ...options });
  }
}

/** 429: rate limited (every account cooling down, or the upstream said so). */
export class RateLimitError extends ApiError {
  constructor(message: string, options: ApiErrorOptions = {}) {
    super(429, 'rate_limit_error', message, { code: 'rate_limit_exceeded', ...options });
  }
}

/** 502: the upstream answered with something we could not use. */
export class UpstreamBadGatewayError extends ApiError {
  constructor(message: string, options: ApiErrorOptions = {}) {
    super(502, 'upstream_error', message, { code: 'upstream_error', ...options });
  }
}

/** 503: no account can serve (none logged in, all need login, upstream overloaded). */
export class ServiceUnavailableError extends ApiError {
  constructor(message: string, options: ApiErrorOptions = {}) {
    super(503, 'service_unavailable', message, { code: 'service_unavailable', ...options });
  }
}

/** 504: the upstream did not answer in time. */
export class GatewayTimeoutError extends ApiError {
  constructor(message: string, options: ApiErrorOptions = {}) {
    super(504, 'upstream_error', message, { code: 'upstream_timeout', ...options });
  }
}

/** 500: a bug. The message is generic; the details go to the log. */
export class InternalError extends ApiError {
  constructor(message = 'Internal server error', options: ApiErrorOptions = {}) {
    super(500, 'server_error', message, { code: 'internal_error', ...options });
  }
}

/** Errors for the CLI: a message for the user and the exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}
