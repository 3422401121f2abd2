/**
 * The one mapping from an UpstreamFailure (what went wrong talking to the Codex backend) to the
 * ApiError a client sees. The server's error handler, its streaming paths and the non-streaming
 * chat translation all use it, so a failure gets the same status and code on every path.
 */
import {
  ApiError,
  GatewayTimeoutError,
  InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitError,
  ServiceUnavailableError,
  UpstreamBadGatewayError,
} from '../errors.js';
import { boundEchoedText } from '../util/quote.js';
import { scrubText } from '../util/redact.js';
import type { UpstreamFailure } from './types.js';

/**
 * `response.failed` codes that describe the client's own input (a bad image, a prompt that is
 * too long or refused): the client gets a 400 it can act on. Every other failure is the
 * upstream's problem: 502 (or 429/503 for the rate-limit and overload codes).
 */
export const CLIENT_CAUSED_FAILURE_CODES: ReadonlySet<string> = new Set([
  'invalid_prompt',
  'context_length_exceeded',
  'invalid_image',
  'invalid_image_format',
  'invalid_base64_image',
  'invalid_image_url',
  'image_too_large',
  'image_too_small',
  'image_parse_error',
  'image_content_policy_violation',
  'invalid_image_mode',
  'image_file_too_large',
  'unsupported_image_media_type',
  'empty_image_file',
  'failed_to_download_image',
  'image_file_not_found',
  'content_filter',
]);

const RATE_LIMIT_FAILURE_CODES: ReadonlySet<string> = new Set(['rate_limit_exceeded', 'usage_limit_reached']);
const OVERLOAD_FAILURE_CODES: ReadonlySet<string> = new Set(['server_is_overloaded', 'slow_down']);
const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'timeout',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Seconds for Retry-After: time until resetAt if it is in the future (needs `now`), else the relative wait. */
function retryAfterSecondsOf(f: UpstreamFailure, now: number | undefined): number | undefined {
  if (f.resetAt !== undefined && now !== undefined && f.resetAt > now) return Math.max(1, Math.ceil((f.resetAt - now) / 1000));
  if (f.retryAfterMs !== undefined && f.retryAfterMs > 0) return Math.max(1, Math.ceil(f.retryAfterMs / 1000));
  return undefined;
}

function isTimeout(f: UpstreamFailure): boolean {
  return (f.code !== undefined && TIMEOUT_CODES.has(f.code)) || /timed?\s*out|timeout/i.test(f.message);
}

/** A `response.failed` the pool gave up on (or that arrived mid-stream) → what the client sees. */
function apiErrorFromResponseFailed(f: UpstreamFailure, detail: string, now: number | undefined): ApiError {
  const code = f.code;
  if (code !== undefined && CLIENT_CAUSED_FAILURE_CODES.has(code)) return new InvalidRequestError(detail, { code, cause: f });
  if (code !== undefined && RATE_LIMIT_FAILURE_CODES.has(code)) {
    return new RateLimitError(`Upstream response failed: ${detail}`, { code, retryAfterSeconds: retryAfterSecondsOf(f, now), cause: f });
  }
  if (code !== undefined && OVERLOAD_FAILURE_CODES.has(code)) {
    return new ServiceUnavailableError(`Upstream response failed: ${detail}`, { code, cause: f });
  }
  return new UpstreamBadGatewayError(`Upstream response failed: ${detail}`, { code: code ?? 'upstream_error', cause: f });
}

/**
 * What the client is told when the upstream failed. `now` (ms) turns a resetAt into Retry-After;
 * without it only a relative retry-after is used.
 */
export function apiErrorFromFailure(f: UpstreamFailure, now?: number): ApiError {
  // the upstream may echo what the client sent: bounded like any quote of client input
  const detail = boundEchoedText(scrubText(f.message));
  const retryAfterSeconds = retryAfterSecondsOf(f, now);
  switch (f.kind) {
    case 'bad_request':
      // the backend's own sentence ("The 'x' model is not supported when using Codex with a ChatGPT account.")
      if (f.code === 'model_not_found') return new NotFoundError(detail, { param: 'model', code: 'model_not_found', cause: f });
      if (f.status === 413) return new PayloadTooLargeError(`Upstream rejected the request as too large: ${detail}`, { cause: f });
      return new InvalidRequestError(`Upstream rejected the request: ${detail}`, { code: f.code ?? 'upstream_bad_request', cause: f });
    case 'usage_limit':
      return new RateLimitError(`The ChatGPT account's usage limit was reached: ${detail}`, { code: 'usage_limit_reached', retryAfterSeconds, cause: f });
    case 'rate_limited':
      return new RateLimitError(`Upstream rate limit: ${detail}`, { retryAfterSeconds, cause: f });
    case 'overloaded':
      return new ServiceUnavailableError(`Upstream is overloaded, try again shortly: ${detail}`, {
        code: f.code ?? 'server_is_overloaded',
        retryAfterSeconds,
        cause: f,
      });
    case 'unauthorized':
      return new ServiceUnavailableError(
        `The upstream rejected the account's token even after a refresh (${detail}). Sign the account in again with \`cliproxy login\`.`,
        { code: 'account_unauthorized', cause: f },
      );
    case 'forbidden':
      return new UpstreamBadGatewayError(`Upstream refused the account (403): ${detail}`, { code: 'upstream_forbidden', cause: f });
    case 'not_found':
      return new UpstreamBadGatewayError(`Upstream answered 404: ${detail}`, { code: 'upstream_not_found', cause: f });
    case 'network':
      if (isTimeout(f)) return new GatewayTimeoutError(`Upstream timeout: ${detail}`, { cause: f });
      // The detail already says where and what ("could not reach the Codex backend at … Check codex.base-url …").
      return new UpstreamBadGatewayError(`Network error: ${detail}`, { cause: f });
    case 'response_failed':
      return apiErrorFromResponseFailed(f, detail, now);
    case 'stream_closed':
      return new UpstreamBadGatewayError(`Upstream stream ended early: ${detail}`, { code: 'stream_closed', cause: f });
    case 'server':
    default:
      if (isTimeout(f)) return new GatewayTimeoutError(`Upstream timeout: ${detail}`, { cause: f });
      return new UpstreamBadGatewayError(`Upstream error${f.status ? ` ${f.status}` : ''}: ${detail}`, { cause: f });
  }
}
