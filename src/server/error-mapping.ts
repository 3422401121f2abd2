/**
 * Every error a client can see goes through here: ApiError subclasses pass as they are,
 * UpstreamFailures become the matching ApiError (src/upstream/api-error.ts, the one mapper),
 * fastify's own errors (bad JSON, body too large, wrong content type) get OpenAI's envelope,
 * and anything else is a 500 without internals.
 */
import type { FastifyError, FastifyReply } from 'fastify';
import { ApiError, InternalError, InvalidRequestError, NotFoundError, PayloadTooLargeError } from '../errors.js';
import { apiErrorFromFailure } from '../upstream/api-error.js';
import { UpstreamFailure } from '../upstream/types.js';
import { clip, quoteInput } from '../util/quote.js';

/**
 * fastify 5 reports every JSON syntax error as FST_ERR_CTP_INVALID_JSON_BODY (its parser's
 * SyntaxError, with position and a quote of the body, is dropped), so there is no position to add.
 */
export const INVALID_JSON_MESSAGE = 'Request body is not valid JSON.';

/** 415 for a media type (or charset) other than JSON in UTF-8/UTF-16. */
export function unsupportedMediaType(
  message = 'Unsupported Content-Type; send the body as JSON with "Content-Type: application/json".',
): ApiError {
  return new ApiError(415, 'invalid_request_error', message, { code: 'unsupported_media_type' });
}

function isFastifyError(err: unknown): err is FastifyError {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' && (err as { code: string }).code.startsWith('FST_');
}

/** fastify's request-parsing errors → OpenAI-shaped errors with a message that says what to fix. */
function fastifyErrorToApiError(err: FastifyError, maxBodyMb: number): ApiError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError(`Request body is larger than the ${maxBodyMb} MB limit (config max-body-mb).`);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      // never the parser's message: it may quote part of the body (which can hold a secret)
      return new InvalidRequestError(INVALID_JSON_MESSAGE, { code: 'invalid_json' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new InvalidRequestError('Request body is empty; send a JSON object.', { code: 'invalid_json' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return unsupportedMediaType();
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new InvalidRequestError('Content-Length does not match the body.', { code: 'invalid_content_length' });
    case 'FST_ERR_BAD_URL':
      return new InvalidRequestError('Malformed URL: a percent-escape in the path is not valid.', { code: 'invalid_url' });
    default:
      if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
        // fastify's messages can quote the request: at most 200 characters of it
        return new ApiError(err.statusCode, 'invalid_request_error', clip(err.message), { code: err.code.toLowerCase() });
      }
      return undefined;
  }
}

/** Any thrown value → the ApiError the client sees. */
export function toClientError(err: unknown, opts: { now: number; maxBodyMb: number }): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof UpstreamFailure) return apiErrorFromFailure(err, opts.now);
  if (isFastifyError(err)) {
    const mapped = fastifyErrorToApiError(err, opts.maxBodyMb);
    if (mapped) return mapped;
  }
  return new InternalError(undefined, { cause: err });
}

/** What logServerError writes to. */
export interface ServerErrorLog {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/**
 * The one log rule for a failed request (server and `cliproxy exec`): our own bugs (InternalError)
 * at error with the original error and its stack; other 5xx (the upstream or the pool could not
 * serve) at warn with status and code only; client errors are not logged here.
 */
export function logServerError(log: ServerErrorLog, apiError: ApiError, original: unknown): void {
  if (apiError instanceof InternalError) log.error({ err: original }, 'request failed');
  else if (apiError.status >= 500) log.warn({ status: apiError.status, code: apiError.code }, apiError.message);
}

/** Sends an ApiError as OpenAI's envelope, with Retry-After when it has one. */
export function sendApiError(reply: FastifyReply, err: ApiError): FastifyReply {
  if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
  return reply.code(err.status).type('application/json; charset=utf-8').send(err.toBody());
}

export function routeNotFound(method: string, url: string): NotFoundError {
  const path = url.split('?')[0] ?? url;
  return new NotFoundError(`Unknown route: ${quoteInput(method, 20)} ${quoteInput(path)}. Available: POST /v1/chat/completions, POST /v1/responses, POST /v1/messages, GET /v1/models.`, {
    code: 'unknown_route',
  });
}
