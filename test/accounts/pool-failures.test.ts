import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, RateLimitError, ServiceUnavailableError } from '../../src/errors.js';
import { UpstreamFailure } from '../../src/upstream/types.js';
import { accessTokenFor, makeCredential } from './pool-helpers.js';
import { poolWith, servedBy, type PoolFixture } from './pool-setup.js';

let fx: PoolFixture | undefined;
afterEach(async () => {
  await fx?.pool.stop();
  fx = undefined;
});

describe('retries on the next account', () => {
  it('an overloaded account is skipped transparently and cools down briefly', async () => {
    fx = await poolWith(['a', 'b', 'c']);
    const seen: string[] = [];
    const result = await fx.pool.withAccount({}, async ({ account, attempt }) => {
      seen.push(`${attempt}:${account.accountId}`);
      if (account.accountId === 'a') throw new UpstreamFailure('overloaded', 'server_is_overloaded', { status: 503 });
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(seen).toEqual(['1:a', '2:b']);
    const a = fx.pool.snapshot().find((s) => s.accountId === 'a')!;
    expect(a).toMatchObject({ state: 'cooling', cooldownReason: 'overloaded', failures: 1, requests: 1, cooldownUntil: fx.clock.now() + 5000 });
    await fx.clock.advance(5000);
    expect(fx.pool.snapshot().find((s) => s.accountId === 'a')!.state).toBe('ready');
  });

  it('stops after request-retry extra attempts and rethrows the last failure', async () => {
    fx = await poolWith(['a', 'b', 'c'], { config: { requestRetry: 1 } });
    let calls = 0;
    const err = await fx.pool
      .withAccount({}, async () => {
        calls++;
        throw new UpstreamFailure('server', 'boom', { status: 500 });
      })
      .catch((e: unknown) => e);
    expect(calls).toBe(2);
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect((err as UpstreamFailure).kind).toBe('server');
  });

  it('accounts out of quota do not use up request-retry: every account is asked before a 429', async () => {
    fx = await poolWith(['a', 'b', 'c', 'd', 'e'], { config: { requestRetry: 1 } });
    const tried: string[] = [];
    const served = await fx.pool.withAccount({}, async ({ account }) => {
      tried.push(account.accountId);
      if (account.accountId !== 'e') throw new UpstreamFailure('usage_limit', 'limit', { status: 429, resetAt: fx!.clock.now() + 60_000 });
      return account.accountId;
    });
    expect(served).toBe('e');
    expect(tried).toEqual(['a', 'b', 'c', 'd', 'e']);
    // the last one runs out too: now the client gets the 429, with the soonest reset
    const err = await fx.pool
      .withAccount({}, async () => {
        throw new UpstreamFailure('usage_limit', 'limit', { status: 429, resetAt: fx!.clock.now() + 60_000 });
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429, code: 'all_accounts_rate_limited', retryAfterSeconds: 60 });
  });

  it('request-level failures are rethrown without retry or cooldown', async () => {
    fx = await poolWith(['a', 'b']);
    for (const kind of ['bad_request', 'not_found', 'response_failed'] as const) {
      let calls = 0;
      const err = await fx.pool
        .withAccount({}, async () => {
          calls++;
          throw new UpstreamFailure(kind, 'nope', { status: 400 });
        })
        .catch((e: unknown) => e);
      expect(calls).toBe(1);
      expect((err as UpstreamFailure).kind).toBe(kind);
    }
    expect(fx.pool.snapshot().every((s) => s.state === 'ready')).toBe(true);
  });

  it('errors that are not upstream failures pass through untouched', async () => {
    fx = await poolWith(['a', 'b']);
    let calls = 0;
    const boom = new Error('client went away');
    await expect(
      fx.pool.withAccount({}, async () => {
        calls++;
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(calls).toBe(1);
  });

  it('an aborted request stops without cooling the account', async () => {
    fx = await poolWith(['a', 'b']);
    const ac = new AbortController();
    const err = await fx.pool
      .withAccount({ signal: ac.signal }, async () => {
        ac.abort();
        throw new UpstreamFailure('network', 'aborted');
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect(fx.pool.snapshot().every((s) => s.state === 'ready')).toBe(true);
    await expect(fx.pool.withAccount({ signal: ac.signal }, async () => 1)).rejects.toThrow(/abort/i);
  });
});

describe('when nothing can serve', () => {
  it('all accounts cooling → 429 all_accounts_rate_limited with the soonest reset', async () => {
    fx = await poolWith(['a', 'b', 'c']);
    const now = fx.clock.now();
    const resets: Record<string, UpstreamFailure> = {
      a: new UpstreamFailure('usage_limit', 'limit', { status: 429, resetAt: now + 120_000 }),
      b: new UpstreamFailure('usage_limit', 'limit', { status: 429, retryAfterMs: 45_200 }),
      c: new UpstreamFailure('rate_limited', 'try again in 300s', { status: 429, retryAfterMs: 300_000 }),
    };
    const err = await fx.pool
      .withAccount({}, async ({ account }) => {
        throw resets[account.accountId]!;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    const rl = err as RateLimitError;
    expect(rl.status).toBe(429);
    expect(rl.code).toBe('all_accounts_rate_limited');
    expect(rl.retryAfterSeconds).toBe(46);
    expect(rl.message).toContain('46s');
    expect(rl.message).toContain(new Date(now + 45_200).toISOString());

    let called = false;
    const again = await fx.pool.withAccount({}, async () => (called = true)).catch((e: unknown) => e);
    expect(called).toBe(false);
    expect((again as RateLimitError).retryAfterSeconds).toBe(46);

    await fx.clock.advance(45_200);
    expect(await servedBy(fx.pool)).toBe('b');
  });

  it('retryAfterSeconds is at least 1', async () => {
    fx = await poolWith(['a']);
    const err = await fx.pool
      .withAccount({}, async () => {
        throw new UpstreamFailure('rate_limited', 'x', { retryAfterMs: 200 });
      })
      .catch((e: unknown) => e);
    expect((err as RateLimitError).retryAfterSeconds).toBe(1);
  });

  it('no accounts at all → 503 telling the user to run cliproxy login', async () => {
    fx = await poolWith([]);
    const err = await fx.pool.withAccount({}, async () => 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect((err as ServiceUnavailableError).status).toBe(503);
    expect((err as Error).message).toMatch(/cliproxy login/);
    expect(fx.pool.size()).toEqual({ total: 0, usable: 0 });
  });

  it('all disabled or needing login → 503 with the counts', async () => {
    fx = await poolWith(['a', 'b', 'c'], {
      edit: (c) =>
        c.accountId === 'c' ? { ...c, disabled: true } : { ...c, needsLogin: { reason: 'refresh_token_reused', at: Date.UTC(2026, 0, 1) } },
    });
    const err = await fx.pool.withAccount({}, async () => 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect((err as Error).message).toContain('2 need a new login (refresh_token_reused)');
    expect((err as Error).message).toContain('1 is disabled');
    expect((err as Error).message).toContain('cliproxy login');
    expect(fx.pool.size()).toEqual({ total: 3, usable: 0 });
    expect(fx.pool.snapshot().map((s) => s.state)).toEqual(['needs-login', 'needs-login', 'disabled']);
  });
});

describe('when every account is out for something other than a rate limit', () => {
  const unauthorized = () => new UpstreamFailure('unauthorized', 'token rejected', { status: 401 });

  it('one account still rejected after a refresh → 503 account_unauthorized naming status and login, not a 429', async () => {
    fx = await poolWith(['a']);
    let calls = 0;
    const err = await fx.pool
      .withAccount({}, async () => {
        calls++;
        throw unauthorized();
      })
      .catch((e: unknown) => e);
    expect(calls).toBe(2);
    expect(fx.tokens.calls).toEqual(['rt-a-0']);
    expect(err).not.toBeInstanceOf(RateLimitError);
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect(e).toMatchObject({ status: 503, type: 'service_unavailable', code: 'account_unauthorized', retryAfterSeconds: 1 });
    expect(e.message).toContain('even after a token refresh (token rejected)');
    expect(e.message).toContain('cliproxy status');
    expect(e.message).toContain('cliproxy login');
    expect(e.message).not.toMatch(/rate limited/);

    // while it is still cooling, a new request is told the same (from the cooldown reason alone)
    let called = false;
    const again = (await fx.pool.withAccount({}, async () => (called = true)).catch((x: unknown) => x)) as ApiError;
    expect(called).toBe(false);
    expect(again).toMatchObject({ status: 503, code: 'account_unauthorized', retryAfterSeconds: 1 });
    expect(again.message).toContain('cliproxy login');
  });

  it('every account overloaded → 503 with the overload code and Retry-After = the soonest cooldown end', async () => {
    fx = await poolWith(['a', 'b']);
    const err = (await fx.pool
      .withAccount({}, async () => {
        throw new UpstreamFailure('overloaded', 'busy', { status: 503, code: 'server_is_overloaded' });
      })
      .catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 503, type: 'service_unavailable', code: 'server_is_overloaded', retryAfterSeconds: 5 });
    expect(err.message).toContain('All 2 usable Codex accounts are out: 2 backing off because the upstream is overloaded (busy)');
  });

  it('server errors and unreachable upstream → 502 upstream_error with Retry-After', async () => {
    for (const failure of [new UpstreamFailure('server', 'boom', { status: 500 }), new UpstreamFailure('network', 'ECONNREFUSED')]) {
      await fx?.pool.stop();
      fx = await poolWith(['a']);
      const err = (await fx.pool
        .withAccount({}, async () => {
          throw failure;
        })
        .catch((e: unknown) => e)) as ApiError;
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ status: 502, type: 'upstream_error', code: 'upstream_error', retryAfterSeconds: 5 });
      expect(err.message).toContain(failure.message);
    }
  });

  it('some rate limited, one unauthorized → the auth error (not 429), listing both, Retry-After = soonest overall', async () => {
    fx = await poolWith(['a', 'b']);
    const now = fx.clock.now();
    const err = (await fx.pool
      .withAccount({}, async ({ account }) => {
        if (account.accountId === 'a') throw new UpstreamFailure('usage_limit', 'limit', { status: 429, resetAt: now + 600_000 });
        throw unauthorized();
      })
      .catch((e: unknown) => e)) as ApiError;
    expect(err).not.toBeInstanceOf(RateLimitError);
    expect(err).toMatchObject({ status: 503, code: 'account_unauthorized', retryAfterSeconds: 1 });
    expect(err.message).toContain('1 at the usage limit');
    expect(err.message).toContain('1 rejected by the upstream (401) even after a token refresh');
  });

  it('the only account waiting on a failed token refresh → 503 account_refresh_failed', async () => {
    fx = await poolWith(['a'], { edit: (c) => ({ ...c, expiresAt: c.lastRefresh! - 1000 }) });
    fx.tokens.willFail({ transient: 502 });
    let called = false;
    const err = (await fx.pool.withAccount({}, async () => (called = true)).catch((e: unknown) => e)) as ApiError;
    expect(called).toBe(false);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 503, code: 'account_refresh_failed', retryAfterSeconds: 1 });
    expect(err.message).toContain('token refresh that failed');
  });
});

describe('401 from the upstream', () => {
  it('refreshes once and retries on the same account with the new token, which was saved first', async () => {
    fx = await poolWith(['a', 'b']);
    const original = (await fx.store.load('a'))!.credential.accessToken;
    const seen: string[] = [];
    const result = await fx.pool.withAccount({}, async ({ account }) => {
      seen.push(account.accountId);
      if (account.auth.accessToken === original) throw new UpstreamFailure('unauthorized', 'expired', { status: 401 });
      const stored = (await fx!.store.load(account.accountId))!.credential;
      expect(stored.accessToken).toBe(account.auth.accessToken);
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(seen).toEqual(['a', 'a']);
    expect(fx.tokens.calls).toEqual(['rt-a-0']);
  });

  it('the same-account retry after a refresh does not use up request-retry', async () => {
    fx = await poolWith(['a', 'b'], { config: { requestRetry: 0 } });
    const original = (await fx.store.load('a'))!.credential.accessToken;
    const seen: number[] = [];
    const result = await fx.pool.withAccount({}, async ({ account, attempt }) => {
      seen.push(attempt);
      if (account.auth.accessToken === original) throw new UpstreamFailure('unauthorized', 'expired', { status: 401 });
      return account.accountId;
    });
    expect(result).toBe('a');
    expect(seen).toEqual([1, 2]);
  });

  it('a second 401 after the refresh moves on to the next account without another refresh', async () => {
    fx = await poolWith(['a', 'b']);
    const seen: string[] = [];
    const result = await fx.pool.withAccount({}, async ({ account }) => {
      seen.push(account.accountId);
      if (account.accountId === 'a') throw new UpstreamFailure('unauthorized', 'no', { status: 401 });
      return account.accountId;
    });
    expect(result).toBe('b');
    expect(seen).toEqual(['a', 'a', 'b']);
    expect(fx.tokens.calls).toHaveLength(1);
    expect(fx.pool.snapshot()[0]).toMatchObject({ state: 'cooling', cooldownReason: 'unauthorized' });
  });

  it('adopts a token another process already stored instead of refreshing', async () => {
    fx = await poolWith(['a']);
    const now = fx.clock.now();
    const rotated = makeCredential({ accountId: 'a', now, accessToken: accessTokenFor('a', now + 3600_000, 99), refreshToken: 'rt-a-99', lastRefresh: now + 1 });
    const tokensSeen: string[] = [];
    const result = await fx.pool.withAccount({}, async ({ account }) => {
      tokensSeen.push(account.auth.accessToken);
      if (tokensSeen.length === 1) {
        await fx!.store.save(rotated); // the other process refreshed meanwhile
        throw new UpstreamFailure('unauthorized', 'expired', { status: 401 });
      }
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(tokensSeen[1]).toBe(rotated.accessToken);
    expect(fx.tokens.calls).toEqual([]);
  });
});
