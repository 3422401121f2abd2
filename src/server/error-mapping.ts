/**
 * Every error a client can see goes through here: ApiError subclasses pass as they are,
 * UpstreamFailures become the matching ApiError, fastify's own errors (bad JSON, body too
 * large, wrong content type) get OpenAI's envelope, and anything else is a 500 without internals.
 */
import type { FastifyError, FastifyReply } from 'fastify';
import {
  ApiError,
  GatewayTimeoutError,
  InternalError,
  InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitError,
  ServiceUnavailableError,
  UpstreamBadGatewayError,
} from '../errors.js';
import { UpstreamFailure } from '../upstream/types.js';
import { scrubText } from '../util/redact.js';

const TIMEOUT_CODES = new Set(['timeout', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function retryAfterSeconds(f: UpstreamFailure, now: number): number | undefined {
  if (f.resetAt !== undefined && f.resetAt > now) return Math.max(1, Math.ceil((f.resetAt - now) / 1000));
  if (f.retryAfterMs !== undefined && f.retryAfterMs > 0) return Math.max(1, Math.ceil(f.retryAfterMs / 1000));
  return undefined;
}

function isTimeout(f: UpstreamFailure): boolean {
  return (f.code !== undefined && TIMEOUT_CODES.has(f.code)) || /timed?\s*out|timeout/i.test(f.message);
}

/** What the client is told when the upstream failed before anything was sent. */
export function upstreamFailureToApiError(f: UpstreamFailure, now: number): ApiError {
  const detail = scrubText(f.message);
  switch (f.kind) {
    case 'bad_request':
      return new InvalidRequestError(`Upstream rejected the request: ${detail}`, { code: f.code ?? 'upstream_bad_request' });
    case 'usage_limit':
      return new RateLimitError(`The ChatGPT account's usage limit was reached: ${detail}`, {
        code: 'usage_limit_reached',
        retryAfterSeconds: retryAfterSeconds(f, now),
      });
    case 'rate_limited':
      return new RateLimitError(`Upstream rate limit: ${detail}`, { retryAfterSeconds: retryAfterSeconds(f, now) });
    case 'overloaded':
      return new ServiceUnavailableError(`Upstream is overloaded, try again shortly: ${detail}`, {
        code: f.code ?? 'server_is_overloaded',
        retryAfterSeconds: retryAfterSeconds(f, now),
      });
    case 'unauthorized':
      return new ServiceUnavailableError(
        `The upstream rejected the account's token even after a refresh (${detail}). Sign the account in again with \`cliproxy login\`.`,
        { code: 'account_unauthorized' },
      );
    case 'forbidden':
      return new UpstreamBadGatewayError(`Upstream refused the account (403): ${detail}`, { code: 'upstream_forbidden' });
    case 'not_found':
      return new UpstreamBadGatewayError(`Upstream answered 404: ${detail}`, { code: 'upstream_not_found' });
    case 'network':
      if (isTimeout(f)) return new GatewayTimeoutError(`Upstream did not answer in time: ${detail}`);
      return new UpstreamBadGatewayError(`Could not reach the upstream: ${detail}`);
    case 'response_failed':
      if (f.code === 'rate_limit_exceeded' || f.code === 'usage_limit_reached') {
        return new RateLimitError(`Upstream response failed: ${detail}`, { code: f.code, retryAfterSeconds: retryAfterSeconds(f, now) });
      }
      if (f.code === 'server_is_overloaded' || f.code === 'slow_down') {
        return new ServiceUnavailableError(`Upstream response failed: ${detail}`, { code: f.code });
      }
      return new UpstreamBadGatewayError(`Upstream response failed: ${detail}`, { code: f.code ?? 'response_failed' });
    case 'stream_closed':
      return new UpstreamBadGatewayError(`Upstream stream ended early: ${detail}`, { code: 'stream_closed' });
    case 'server':
    default:
      if (isTimeout(f)) return new GatewayTimeoutError(`Upstream did not answer in time: ${detail}`);
      return new UpstreamBadGatewayError(`Upstream error${f.status ? ` ${f.status}` : ''}: ${detail}`);
  }
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
      return new InvalidRequestError(`Request body is not valid JSON: ${err.message}`, { code: 'invalid_json' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new InvalidRequestError('Request body is empty; send a JSON object.', { code: 'invalid_json' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'invalid_request_error', 'Unsupported Content-Type; send the body as JSON with "Content-Type: application/json".', {
        code: 'unsupported_media_type',
      });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new InvalidRequestError('Content-Length does not match the body.', { code: 'invalid_content_length' });
    default:
      if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
        return new ApiError(err.statusCode, 'invalid_request_error', err.message, { code: err.code.toLowerCase() });
      }
      return undefined;
  }
}

/** Any thrown value → the ApiError the client sees. */
export function toClientError(err: unknown, opts: { now: number; maxBodyMb: number }): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof UpstreamFailure) return upstreamFailureToApiError(err, opts.now);
  if (err instanceof SyntaxError && (err as { statusCode?: number }).statusCode === 400) {
    return new InvalidRequestError(`Request body is not valid JSON: ${err.message}`, { code: 'invalid_json' });
  }
  if (isFastifyError(err)) {
    const mapped = fastifyErrorToApiError(err, opts.maxBodyMb);
    if (mapped) return mapped;
  }
  return new InternalError(undefined, { cause: err });
}

/** Sends an ApiError as OpenAI's envelope, with Retry-After when it has one. */
export function sendApiError(reply: FastifyReply, err: ApiError): FastifyReply {
  if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
  return reply.code(err.status).type('application/json; charset=utf-8').send(err.toBody());
}

export function routeNotFound(method: string, url: string): NotFoundError {
  const path = url.split('?')[0] ?? url;
  return new NotFoundError(`Unknown route: ${method} ${path}. Available: POST /v1/chat/completions, POST /v1/responses, GET /v1/models.`, {
    code: 'unknown_route',
  });
}
