/**
 * The pool blames an account only for what the upstream did: a request the client got wrong
 * (an ApiError 4xx raised by the attempt, an upstream bad_request, a response.failed about the
 * input) is rethrown at once, without a retry on another account, a cooldown or a failure count.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidRequestError, InternalError } from '../../src/errors.js';
import { UpstreamFailure } from '../../src/upstream/types.js';
import { poolWith, type PoolFixture } from './pool-setup.js';

let fx: PoolFixture | undefined;
afterEach(async () => {
  await fx?.pool.stop();
  fx = undefined;
});

const requestFaults: [string, () => Error][] = [
  ['an InvalidRequestError from the attempt (a body that cannot be sent)', () => new InvalidRequestError('cannot be sent', { code: 'invalid_body' })],
  ['an upstream 400', () => new UpstreamFailure('bad_request', 'Unsupported parameter: x', { status: 400 })],
  ['an upstream 413', () => new UpstreamFailure('bad_request', 'too large', { status: 413 })],
  ['a response.failed blaming the input', () => new UpstreamFailure('response_failed', 'too long', { code: 'context_length_exceeded' })],
];

describe('blame', () => {
  for (const [name, make] of requestFaults) {
    it(`${name}: thrown as is, tried on one account only, nothing counted against it`, async () => {
      fx = await poolWith(['a', 'b', 'c']);
      let attempts = 0;
      const err = await fx.pool
        .withAccount({}, async () => {
          attempts++;
          throw make();
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(attempts).toBe(1);
      for (const s of fx.pool.snapshot()) expect({ failures: s.failures, cooldownReason: s.cooldownReason, state: s.state }).toEqual({ failures: 0, cooldownReason: null, state: 'ready' });
      // the same failure after the first byte (a stream already committed): not the account's either
      const attempt = await fx.pool.open({}, async () => 'opened');
      attempt.commit();
      attempt.fail(make());
      for (const s of fx.pool.snapshot()) expect({ failures: s.failures, cooldownReason: s.cooldownReason }).toEqual({ failures: 0, cooldownReason: null });
    });
  }

  it('our own bug (a 500) and an upstream 5xx still count; only the upstream one cools', async () => {
    fx = await poolWith(['a', 'b']);
    await fx.pool.withAccount({}, async () => {
      throw new InternalError();
    }).catch(() => undefined);
    expect(fx.pool.snapshot().reduce((n, s) => n + s.failures, 0)).toBe(1);
    expect(fx.pool.snapshot().every((s) => s.cooldownReason === null)).toBe(true);
    let first = true;
    await fx.pool.withAccount({}, async () => {
      if (first) {
        first = false;
        throw new UpstreamFailure('server', 'boom', { status: 500 });
      }
      return 'ok';
    });
    expect(fx.pool.snapshot().filter((s) => s.cooldownReason === 'server')).toHaveLength(1);
  });
});
