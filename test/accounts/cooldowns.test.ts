import { describe, expect, it } from 'vitest';
import { backoffMs, cooldownFor } from '../../src/accounts/cooldowns.js';
import { UpstreamFailure } from '../../src/upstream/types.js';

const settings = { transientSeconds: 5, maxBackoffSeconds: 1800 };
const now = Date.UTC(2026, 0, 1);

describe('cooldown math', () => {
  it('usage_limit cools down until resets_at', () => {
    const f = new UpstreamFailure('usage_limit', 'limit', { status: 429, resetAt: now + 7_200_000, retryAfterMs: 60_000 });
    expect(cooldownFor(f, now, 0, settings)).toEqual({ until: now + 7_200_000, reason: 'usage_limit', escalate: false });
  });

  it('usage_limit with only resets_in_seconds / Retry-After uses the relative wait', () => {
    const f = new UpstreamFailure('usage_limit', 'limit', { status: 429, retryAfterMs: 90_000 });
    expect(cooldownFor(f, now, 3, settings)?.until).toBe(now + 90_000);
  });

  it('a resets_at already in the past falls back to the relative wait, then to backoff', () => {
    const past = new UpstreamFailure('usage_limit', 'limit', { resetAt: now - 1000, retryAfterMs: 4000 });
    expect(cooldownFor(past, now, 0, settings)?.until).toBe(now + 4000);
    const bare = new UpstreamFailure('usage_limit', 'limit', { resetAt: now - 1000 });
    expect(cooldownFor(bare, now, 0, settings)).toEqual({ until: now + 1000, reason: 'usage_limit', escalate: true });
  });

  it('backoff doubles from 1 s and is capped at max-backoff-seconds (30 min)', () => {
    const seq = Array.from({ length: 14 }, (_, level) => backoffMs(level, 1800) / 1000);
    expect(seq).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1800, 1800, 1800]);
    expect(backoffMs(1000, 1800)).toBe(1_800_000);
    const f = new UpstreamFailure('usage_limit', 'limit');
    expect(cooldownFor(f, now, 5, settings)?.until).toBe(now + 32_000);
    expect(cooldownFor(f, now, 30, settings)?.until).toBe(now + 1_800_000);
  });

  it('rate_limited waits Retry-After ("try again in N s")', () => {
    const f = new UpstreamFailure('rate_limited', 'slow', { status: 429, retryAfterMs: 12_000 });
    expect(cooldownFor(f, now, 0, settings)).toEqual({ until: now + 12_000, reason: 'rate_limited', escalate: false });
  });

  it('overloaded, server and network errors get the short transient cooldown', () => {
    for (const kind of ['overloaded', 'server', 'network'] as const) {
      expect(cooldownFor(new UpstreamFailure(kind, 'x'), now, 4, settings)).toEqual({ until: now + 5000, reason: kind, escalate: false });
    }
    expect(cooldownFor(new UpstreamFailure('overloaded', 'x', { retryAfterMs: 20_000 }), now, 0, settings)?.until).toBe(now + 20_000);
    expect(cooldownFor(new UpstreamFailure('server', 'x'), now, 0, { transientSeconds: 2, maxBackoffSeconds: 60 })?.until).toBe(now + 2000);
  });

  it('request-level failures do not cool the account down', () => {
    for (const kind of ['bad_request', 'not_found', 'response_failed'] as const) {
      expect(cooldownFor(new UpstreamFailure(kind, 'x', { status: 400 }), now, 0, settings)).toBeNull();
    }
  });
});
