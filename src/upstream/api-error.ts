import {
  ApiError,
  GatewayTimeoutError,
  InvalidRequestError,
  NotFoundError,
  RateLimitError,
  ServiceUnavailableError,
  UpstreamBadGatewayError,
} from '../errors.js';
import type { UpstreamFailure } from './types.js';

/**
 * `response.failed` codes that describe the client's own input (a bad image, a prompt that is
 * too long or refused): the client gets a 400 it can act on. Every other failure is the
 * upstream's problem: 502.
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

/**
 * An UpstreamFailure the pool gave up on → what the client sees. Messages are already scrubbed
 * by whoever built the failure (classifyFailure / failureFromEvent).
 */
export function apiErrorFromFailure(f: UpstreamFailure, now?: number): ApiError {
  const retryAfterSeconds = retryAfterSecondsOf(f, now);
  switch (f.kind) {
    case 'bad_request':
      return new InvalidRequestError(f.message, { code: f.code ?? 'upstream_bad_request', cause: f });
    case 'not_found':
      return new NotFoundError(f.message, { code: f.code ?? 'not_found', cause: f });
    case 'usage_limit':
      return new RateLimitError(f.message, { code: 'usage_limit_reached', cause: f, ...(retryAfterSeconds ? { retryAfterSeconds } : {}) });
    case 'rate_limited':
      return new RateLimitError(f.message, { code: 'rate_limit_exceeded', cause: f, ...(retryAfterSeconds ? { retryAfterSeconds } : {}) });
    case 'overloaded':
      return new ServiceUnavailableError(f.message, { code: f.code ?? 'server_is_overloaded', cause: f });
    case 'network':
      return f.code === 'timeout' ? new GatewayTimeoutError(f.message, { cause: f }) : new UpstreamBadGatewayError(f.message, { cause: f });
    case 'response_failed':
      if (f.code && CLIENT_CAUSED_FAILURE_CODES.has(f.code)) return new InvalidRequestError(f.message, { code: f.code, cause: f });
      return new UpstreamBadGatewayError(f.message, { code: f.code ?? 'upstream_error', cause: f });
    case 'unauthorized':
    case 'forbidden':
    case 'server':
    case 'stream_closed':
      return new UpstreamBadGatewayError(f.message, { code: f.code ?? 'upstream_error', cause: f });
  }
}

/** Seconds for Retry-After: the relative wait if given, else time until resetAt (needs `now`). */
function retryAfterSecondsOf(f: UpstreamFailure, now: number | undefined): number | undefined {
  if (f.retryAfterMs !== undefined) return Math.max(1, Math.ceil(f.retryAfterMs / 1000));
  if (f.resetAt !== undefined && now !== undefined) return Math.max(1, Math.ceil((f.resetAt - now) / 1000));
  return undefined;
}
