import { ApiError, RateLimitError, ServiceUnavailableError } from '../errors.js';
import { apiErrorFromFailure } from '../upstream/api-error.js';
import { UpstreamFailure, type FailureKind } from '../upstream/types.js';
import { scrubText } from '../util/redact.js';

/**
 * The error a request gets when every account it may use is cooling down. It is a 429
 * `all_accounts_rate_limited` only when all of them rest because of usage or rate limits;
 * when some are out for another reason (a token the upstream still rejects after a refresh,
 * an overloaded or unreachable upstream, a failing token refresh) the client gets the error
 * that reason maps to (503 `account_unauthorized`, 503 overloaded, 502/504 …), so it is not
 * told to slow down when slowing down does not help. Retry-After is always the soonest time
 * an account is back.
 */

/** Cooldown reasons that are rate limits (the only ones a 429 `all_accounts_rate_limited` stands for). */
export const RATE_LIMIT_REASONS: ReadonlySet<string> = new Set(['usage_limit', 'rate_limited']);

export interface CoolingAccount {
  /** Cooldown reason (a failure kind, or `refresh_failed`). */
  reason: string;
  /** ms since epoch. */
  until: number;
}

const FAILURE_KINDS: ReadonlySet<string> = new Set<FailureKind>([
  'unauthorized',
  'usage_limit',
  'rate_limited',
  'overloaded',
  'server',
  'network',
  'bad_request',
  'forbidden',
  'not_found',
  'stream_closed',
  'response_failed',
]);

const AUTH_REASONS: ReadonlySet<string> = new Set(['unauthorized', 'forbidden']);

const REASON_TEXT: Record<string, string> = {
  unauthorized: 'rejected by the upstream (401) even after a token refresh',
  forbidden: 'refused by the upstream (403)',
  refresh_failed: 'waiting to retry a token refresh that failed',
  store_unavailable: 'waiting for the account store (PostgreSQL) to refresh its token',
  overloaded: 'backing off because the upstream is overloaded',
  server: 'backing off after upstream server errors',
  network: 'backing off because the upstream could not be reached',
  stream_closed: 'backing off after upstream streams ended early',
  usage_limit: 'at the usage limit',
  rate_limited: 'rate limited',
};

function reasonText(reason: string): string {
  return REASON_TEXT[reason] ?? `cooling down (${reason})`;
}

/**
 * `cooling` must be non-empty (every usable account the request may use). `lastFailure` is the
 * last failure this request saw; it supplies the detail when it is one of the reasons the
 * accounts are out for.
 */
export function coolingAccountsError(input: { cooling: readonly CoolingAccount[]; lastFailure?: unknown; now: number }): ApiError {
  const { cooling, now } = input;
  const soonest = Math.min(...cooling.map((c) => c.until));
  const retryAfterSeconds = Math.max(1, Math.ceil((soonest - now) / 1000));
  const n = cooling.length;
  const when = `the soonest is available again in ${retryAfterSeconds}s (at ${new Date(soonest).toISOString()}).`;

  const out = cooling.filter((c) => !RATE_LIMIT_REASONS.has(c.reason));
  if (out.length === 0) {
    return new RateLimitError(
      `${n === 1 ? 'The only usable Codex account is' : `All ${n} usable Codex accounts are`} rate limited or cooling down; ${when}`,
      { code: 'all_accounts_rate_limited', retryAfterSeconds },
    );
  }

  const last = input.lastFailure;
  const actual = last instanceof UpstreamFailure && out.some((c) => c.reason === last.kind) ? last : undefined;
  const reason = actual?.kind ?? [...out].sort((a, b) => a.until - b.until)[0]!.reason;
  const base = baseError(reason, actual, now);
  const detail = actual ? ` (${scrubText(actual.message)})` : '';

  let summary: string;
  if (n === 1) {
    summary = `The only usable Codex account is ${reasonText(reason)}${detail}`;
  } else {
    const counts = new Map<string, number>();
    for (const c of cooling) counts.set(c.reason, (counts.get(c.reason) ?? 0) + 1);
    const parts = [...counts].map(([r, k]) => `${k} ${reasonText(r)}${r === reason ? detail : ''}`);
    summary = `All ${n} usable Codex accounts are out: ${parts.join(', ')}`;
  }
  const advice = out.some((c) => AUTH_REASONS.has(c.reason))
    ? ' Run `cliproxy status` to see which account; if it keeps failing, sign it in again with `cliproxy login`.'
    : out.some((c) => c.reason === 'refresh_failed')
      ? ' Check that the issuer is reachable; `cliproxy status` lists the accounts.'
      : out.some((c) => c.reason === 'store_unavailable')
        ? ' The account store is unreachable; accounts whose token needs a refresh come back when it is.'
        : '';
  const message = `${summary}.${advice} Retry later: ${when}`;
  return new ApiError(base.status, base.type, message, { code: base.code, retryAfterSeconds, cause: actual });
}

/** Status, type and code for one reason, the same as the failure itself would map to. */
function baseError(reason: string, actual: UpstreamFailure | undefined, now: number): ApiError {
  if (actual) return apiErrorFromFailure(actual, now);
  if (reason === 'refresh_failed') return new ServiceUnavailableError('refresh failed', { code: 'account_refresh_failed' });
  if (reason === 'store_unavailable') return new ServiceUnavailableError('store unavailable', { code: 'store_unavailable' });
  if (FAILURE_KINDS.has(reason)) return apiErrorFromFailure(new UpstreamFailure(reason as FailureKind, reason), now);
  return new ServiceUnavailableError(reason);
}
