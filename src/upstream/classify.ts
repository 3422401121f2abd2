import { cleanUpstreamMessage } from './events.js';
import { UpstreamFailure } from './types.js';
import type { UsageSnapshot } from './types.js';
import { headerValue, parseUsageHeaders } from './usage-headers.js';
import type { HeaderBag } from './usage-headers.js';

/**
 * A non-2xx answer from the Codex backend → UpstreamFailure (protocol.md §4 "Errors and limits").
 * The pool decides what to do from `kind`; `message` is shown to clients, so it is scrubbed of
 * anything token-like and never includes an HTML page.
 *
 * | status / body                                                  | kind        |
 * |----------------------------------------------------------------|-------------|
 * | 401                                                            | unauthorized|
 * | 429 error.type/code usage_limit_reached (or "usage limit")     | usage_limit (resetAt ← resets_at, else now+resets_in_seconds, else Retry-After, else an exhausted usage window) |
 * | 429 / 403 usage_not_included                                   | forbidden   |
 * | any status with code server_is_overloaded / slow_down          | overloaded  |
 * | other 429 (rate_limit_exceeded, "try again in 1.5s"/"20ms")    | rate_limited (retryAfterMs ← message, else Retry-After / retry-after-ms) |
 * | 408, 5xx                                                       | server      |
 * | 403                                                            | forbidden   |
 * | 404                                                            | not_found   |
 * | other 4xx ({"detail": …} → the detail is the message)          | bad_request |
 * | 400 "The 'x' model is not supported …" / "… model does not exist" | bad_request, code model_not_found |
 */

/** How the backend refuses a model it does not serve to this account (a 400 `{"detail": …}`). */
const MODEL_REFUSAL = /\bmodel\b.*\b(is not supported|not supported|does not exist|not found)\b/i;

type Rec = Record<string, unknown>;
function rec(v: unknown): Rec | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined;
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}
function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

interface ParsedBody {
  message: string | undefined;
  code: string | undefined;
  resetsAt: number | undefined;
  resetsInSeconds: number | undefined;
}

function parseBody(bodyText: string): ParsedBody {
  let json: unknown;
  try {
    json = JSON.parse(bodyText);
  } catch {
    json = undefined;
  }
  const root = rec(json);
  if (!root) {
    // Not JSON: plain text is usable, an HTML page (proxy / Cloudflare) is not.
    const text = bodyText.trim();
    const plain = text !== '' && !text.startsWith('<') ? text : undefined;
    return { message: plain, code: undefined, resetsAt: undefined, resetsInSeconds: undefined };
  }
  const error = rec(root['error']);
  const detail = root['detail'];
  const detailText = str(detail) ?? str(rec(detail)?.['message']) ?? (detail !== undefined && typeof detail !== 'string' ? JSON.stringify(detail) : undefined);
  return {
    message: detailText ?? str(error?.['message']) ?? str(root['error']) ?? str(root['message']),
    code: str(error?.['code']) ?? str(error?.['type']) ?? str(rec(detail)?.['code']) ?? str(root['code']),
    resetsAt: num(error?.['resets_at']),
    resetsInSeconds: num(error?.['resets_in_seconds']),
  };
}

const UNIT_MS: Record<string, number> = { ms: 1, millisecond: 1, milliseconds: 1, s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000, m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000, h: 3_600_000, hour: 3_600_000, hours: 3_600_000 };

/** "Please try again in 1.5s" / "try again in 20ms" / "try again in 6m0s" / "try again in 12 seconds" → ms. */
export function retryAfterFromMessage(message: string): number | undefined {
  const m = /try again in\s+((?:\d+(?:\.\d+)?\s*(?:milliseconds?|ms|seconds?|secs?|minutes?|mins?|hours?|s|m|h)\s*)+)/i.exec(message);
  if (!m?.[1]) return undefined;
  let total = 0;
  for (const part of m[1].matchAll(/(\d+(?:\.\d+)?)\s*(milliseconds?|ms|seconds?|secs?|minutes?|mins?|hours?|s|m|h)/gi)) {
    total += Number(part[1]) * (UNIT_MS[part[2]!.toLowerCase()] ?? 1000);
  }
  return Math.round(total);
}

/** Retry-After (seconds or an HTTP date) or retry-after-ms → ms. */
function retryAfterFromHeaders(headers: HeaderBag, now: number): number | undefined {
  const ms = num(headerValue(headers, 'retry-after-ms'));
  if (ms !== undefined && ms >= 0) return Math.round(ms);
  const raw = headerValue(headers, 'retry-after');
  if (raw === undefined) return undefined;
  const seconds = num(raw);
  if (seconds !== undefined) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function exhaustedWindowReset(usage: UsageSnapshot): number | undefined {
  for (const w of [usage.primary, usage.secondary]) {
    if (w?.usedPercent !== undefined && w.usedPercent >= 100 && w.resetAt !== undefined) return w.resetAt;
  }
  return undefined;
}

const OVERLOADED_CODES = new Set(['server_is_overloaded', 'slow_down']);

/** `usage` is the snapshot of `headers` when the caller already parsed it (parsed here otherwise). */
export function classifyFailure(status: number, headers: HeaderBag, bodyText: string, now: number, usage: UsageSnapshot = parseUsageHeaders(headers, now)): UpstreamFailure {
  const body = parseBody(bodyText);
  const upstreamMessage = body.message === undefined ? undefined : cleanUpstreamMessage(body.message);
  const code = body.code;
  const base = { status, usage, ...(code ? { code } : {}) };
  const msg = (fallback: string) => upstreamMessage ?? fallback;

  if (status === 401) {
    return new UpstreamFailure('unauthorized', msg('the Codex backend rejected the access token (HTTP 401)'), base);
  }
  if ((status === 429 || status === 403) && code === 'usage_not_included') {
    return new UpstreamFailure('forbidden', msg("this account's plan does not include Codex"), base);
  }
  if (code !== undefined && OVERLOADED_CODES.has(code)) {
    return new UpstreamFailure('overloaded', msg('the Codex backend is overloaded'), {
      ...base,
      ...optional('retryAfterMs', retryAfterFromHeaders(headers, now)),
    });
  }
  if (status === 429) {
    const isUsageLimit = code === 'usage_limit_reached' || (code === undefined && /usage limit/i.test(body.message ?? ''));
    const headerWait = retryAfterFromHeaders(headers, now);
    if (isUsageLimit) {
      const relative = body.resetsInSeconds !== undefined ? Math.round(body.resetsInSeconds * 1000) : headerWait;
      const resetAt =
        body.resetsAt !== undefined
          ? Math.round(body.resetsAt * 1000)
          : relative !== undefined
            ? now + relative
            : exhaustedWindowReset(usage);
      return new UpstreamFailure('usage_limit', msg('the usage limit of this account has been reached'), {
        ...base,
        code: code ?? 'usage_limit_reached',
        ...optional('resetAt', resetAt),
        ...optional('retryAfterMs', relative ?? (resetAt !== undefined ? Math.max(0, resetAt - now) : undefined)),
      });
    }
    const wait = (body.message !== undefined ? retryAfterFromMessage(body.message) : undefined) ?? headerWait;
    return new UpstreamFailure('rate_limited', msg('rate limited by the Codex backend'), {
      ...base,
      code: code ?? 'rate_limit_exceeded',
      ...optional('retryAfterMs', wait),
    });
  }
  if (status >= 500 || status === 408) {
    return new UpstreamFailure('server', msg(`the Codex backend failed (HTTP ${status})`), base);
  }
  if (status === 403) return new UpstreamFailure('forbidden', msg('the Codex backend refused this account (HTTP 403)'), base);
  if (status === 404) return new UpstreamFailure('not_found', msg('not found on the Codex backend (HTTP 404)'), base);
  if (status >= 400 && code === undefined && upstreamMessage !== undefined && MODEL_REFUSAL.test(upstreamMessage)) {
    return new UpstreamFailure('bad_request', upstreamMessage, { ...base, code: 'model_not_found' });
  }
  if (status >= 400) return new UpstreamFailure('bad_request', msg(`the Codex backend rejected the request (HTTP ${status})`), base);
  return new UpstreamFailure('server', `unexpected HTTP ${status} from the Codex backend`, base);
}

function optional<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}
