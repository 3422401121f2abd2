import type { Config } from '../config/schema.js';
import { ApiError } from '../errors.js';
import { CLIENT_CAUSED_FAILURE_CODES } from '../upstream/api-error.js';
import { UpstreamFailure } from '../upstream/types.js';

/**
 * How long an account rests after a failed upstream call. Pure: the caller passes `now` and the
 * account's current backoff level, and applies the decision.
 */

export interface CooldownDecision {
  /** ms since epoch. */
  until: number;
  /** Short human-readable reason shown by `cliproxy status`. */
  reason: string;
  /** True when the exponential backoff was used: the account's backoff level goes up by one. */
  escalate: boolean;
}

export type CooldownSettings = Config['cooldown'];

const BACKOFF_BASE_MS = 1000;

/** Exponential backoff: 1 s, 2 s, 4 s, … capped at `maxBackoffSeconds` (cooldowns, refresh and save retries). */
export function backoffMs(level: number, maxBackoffSeconds: number): number {
  const capMs = maxBackoffSeconds * 1000;
  if (level >= 40) return capMs;
  return Math.min(BACKOFF_BASE_MS * 2 ** Math.max(0, level), capMs);
}

function backoff(now: number, level: number, settings: CooldownSettings, reason: string): CooldownDecision {
  return { until: now + backoffMs(level, settings.maxBackoffSeconds), reason, escalate: true };
}

/**
 * The cooldown for one failure, or null when the failure says nothing about the account
 * (bad_request, not_found, response_failed: the request itself was at fault).
 */
export function cooldownFor(failure: UpstreamFailure, now: number, backoffLevel: number, settings: CooldownSettings): CooldownDecision | null {
  const resetAt = failure.resetAt !== undefined && failure.resetAt > now ? failure.resetAt : undefined;
  const retryAfterMs = failure.retryAfterMs !== undefined && failure.retryAfterMs > 0 ? failure.retryAfterMs : undefined;
  switch (failure.kind) {
    case 'usage_limit':
      if (resetAt !== undefined) return { until: resetAt, reason: 'usage_limit', escalate: false };
      if (retryAfterMs !== undefined) return { until: now + retryAfterMs, reason: 'usage_limit', escalate: false };
      return backoff(now, backoffLevel, settings, 'usage_limit');
    case 'rate_limited':
      if (retryAfterMs !== undefined) return { until: now + retryAfterMs, reason: 'rate_limited', escalate: false };
      if (resetAt !== undefined) return { until: resetAt, reason: 'rate_limited', escalate: false };
      return backoff(now, backoffLevel, settings, 'rate_limited');
    case 'overloaded':
    case 'server':
    case 'network':
    case 'stream_closed': {
      const transientMs = settings.transientSeconds * 1000;
      const ms = Math.min(Math.max(transientMs, retryAfterMs ?? 0), settings.maxBackoffSeconds * 1000);
      return { until: now + ms, reason: failure.kind, escalate: false };
    }
    case 'forbidden':
    case 'unauthorized':
      return backoff(now, backoffLevel, settings, failure.kind);
    case 'bad_request':
    case 'not_found':
    case 'response_failed':
      return null;
  }
}

/**
 * True when the request itself caused the failure (the upstream's 400/413/422, or a
 * response.failed about the client's input): the client gets a 4xx and the account is neither
 * cooled down nor counted as failing.
 */
export function isRequestCaused(failure: UpstreamFailure): boolean {
  if (failure.kind === 'bad_request') return true;
  return failure.kind === 'response_failed' && failure.code !== undefined && CLIENT_CAUSED_FAILURE_CODES.has(failure.code);
}

/**
 * A failure the request itself caused: a 4xx raised before or instead of the upstream call (a body
 * that cannot be sent), the upstream's 400/413/422, a response.failed about the input.
 */
export function isClientFault(err: unknown): boolean {
  if (err instanceof UpstreamFailure) return isRequestCaused(err);
  return err instanceof ApiError && err.status < 500;
}
