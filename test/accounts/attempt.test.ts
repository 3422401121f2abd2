import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamFailure } from '../../src/upstream/types.js';
import { poolWith, type PoolFixture } from './pool-setup.js';

let fx: PoolFixture | undefined;
afterEach(async () => {
  await fx?.pool.stop();
  fx = undefined;
});

function counts(f: PoolFixture): Array<{ requests: number; successes: number; failures: number }> {
  return f.pool.snapshot().map(({ requests, successes, failures }) => ({ requests, successes, failures }));
}

describe('AccountPool.open → Attempt', () => {
  it('hands out the account and what the opener returned; settles exactly once', async () => {
    fx = await poolWith(['a']);
    const attempt = await fx.pool.open({}, async ({ account, attempt: n }) => ({ id: account.accountId, n }));
    expect(attempt.account.accountId).toBe('a');
    expect(attempt.upstream).toEqual({ id: 'a', n: 1 });
    expect(counts(fx)).toEqual([{ requests: 1, successes: 0, failures: 0 }]);
    attempt.commit();
    attempt.finish({ inputTokens: 2, outputTokens: 3 });
    attempt.fail(new UpstreamFailure('server', 'late'));
    attempt.finish({ inputTokens: 2, outputTokens: 3 });
    expect(attempt.state).toBe('finished');
    expect(fx.pool.snapshot()[0]).toMatchObject({ requests: 1, successes: 1, failures: 0, inputTokens: 2, outputTokens: 3, state: 'ready' });
  });

  it('abandon (client gone, shutdown) counts neither a success nor a failure and cools nothing', async () => {
    fx = await poolWith(['a']);
    const attempt = await fx.pool.open({}, async () => 1);
    attempt.commit();
    attempt.abandon();
    attempt.fail(new UpstreamFailure('server', 'after abandon'));
    expect(fx.pool.snapshot()[0]).toMatchObject({ requests: 1, successes: 0, failures: 0, state: 'ready' });
  });

  it('our own bug after commit counts a failure without cooling the account down', async () => {
    fx = await poolWith(['a']);
    const attempt = await fx.pool.open({}, async () => 1);
    attempt.commit();
    attempt.fail(new TypeError('bug'));
    expect(fx.pool.snapshot()[0]).toMatchObject({ requests: 1, failures: 1, state: 'ready' });
  });

  it('a 401 refreshed and retried on the same account is one request, not two', async () => {
    fx = await poolWith(['a']);
    let calls = 0;
    const attempt = await fx.pool.open({}, async ({ account }) => {
      calls++;
      if (calls === 1) throw new UpstreamFailure('unauthorized', 'token expired', { status: 401 });
      return account.auth.accessToken;
    });
    attempt.finish();
    expect(calls).toBe(2);
    expect(counts(fx)).toEqual([{ requests: 1, successes: 1, failures: 0 }]);
  });

  it('counted: false (the catalog) uses selection and cooldowns but counts nothing', async () => {
    fx = await poolWith(['a', 'b']);
    const served = await fx.pool.withAccount({ counted: false }, async ({ account }) => {
      if (account.accountId === 'a') throw new UpstreamFailure('server', 'boom', { status: 500 });
      return account.accountId;
    });
    expect(served).toBe('b');
    expect(counts(fx)).toEqual([
      { requests: 0, successes: 0, failures: 0 },
      { requests: 0, successes: 0, failures: 0 },
    ]);
    expect(fx.pool.snapshot()[0]!.state).toBe('cooling');
  });
});
