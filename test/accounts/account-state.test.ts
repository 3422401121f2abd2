import { describe, expect, it } from 'vitest';
import { AccountEntry, isUsableCredential, stateOf, statusFromStored } from '../../src/accounts/account-state.js';
import type { Credential } from '../../src/accounts/credential.js';
import { withRefreshedTokens } from '../../src/accounts/refresher.js';
import { credentialFromTokens, expiresAtFrom } from '../../src/auth/credential-from-tokens.js';
import { accessTokenFor, fakeJwt, makeCredential } from './pool-helpers.js';

const NOW = Date.UTC(2026, 5, 1);

function entry(c: Credential): AccountEntry {
  return new AccountEntry({ credential: c, location: 'x' }, 0);
}

describe('AccountEntry.tokenWinner', () => {
  const mine = makeCredential({ accountId: 'a', now: NOW, refreshToken: 'rt-a-1' });

  it('is same when the stored tokens are ours', () => {
    expect(entry(mine).tokenWinner({ ...mine, disabled: true })).toBe('same');
  });

  it('is stored when the stored tokens were refreshed later (or at the same time)', () => {
    expect(entry(mine).tokenWinner({ ...mine, refreshToken: 'rt-a-2', lastRefresh: NOW + 1 })).toBe('stored');
    expect(entry(mine).tokenWinner({ ...mine, refreshToken: 'rt-a-2', lastRefresh: NOW })).toBe('stored');
  });

  it('is ours when ours were refreshed later', () => {
    expect(entry(mine).tokenWinner({ ...mine, refreshToken: 'rt-a-0', lastRefresh: NOW - 1 })).toBe('ours');
  });

  it('is ours at the same time when ours are unsaved (the stored refresh token is spent), stored when newer', () => {
    const e = entry(mine);
    e.useTokens(mine, undefined); // a failed save left them unsaved
    expect(e.tokenWinner({ ...mine, refreshToken: 'rt-a-0', lastRefresh: NOW })).toBe('ours');
    expect(e.tokenWinner({ ...mine, refreshToken: 'rt-a-9', lastRefresh: NOW + 1 })).toBe('stored');
  });
});

describe('AccountEntry.mergeStored: the one rule for what the store holds', () => {
  const mine = makeCredential({ accountId: 'a', now: NOW, refreshToken: 'rt-a-1' });
  const older = { ...mine, accessToken: 'at-old', refreshToken: 'rt-a-0', lastRefresh: NOW - 1000 };
  const newer = { ...mine, accessToken: 'at-new', refreshToken: 'rt-a-2', lastRefresh: NOW + 1000 };

  it('ours are newer: our tokens stay, the flags and the location follow the store', () => {
    const e = entry(mine);
    expect(e.mergeStored({ credential: { ...older, disabled: true, email: 'renamed@example.com', planType: 'pro' }, location: 'y' })).toBe('ours');
    expect(e.credential).toMatchObject({ accessToken: mine.accessToken, refreshToken: 'rt-a-1', disabled: true, email: 'renamed@example.com', planType: 'pro' });
    expect(e.location).toBe('y');
  });

  it('stored are newer: they replace ours and end a cooldown that was about the old tokens', () => {
    const e = entry(mine);
    e.coolDown(NOW + 60_000, 'refresh_failed');
    e.refreshFailed();
    expect(e.mergeStored({ credential: newer, location: 'x' })).toBe('stored');
    expect(e.credential).toEqual(newer);
    expect(e.isCooling(NOW)).toBe(false);
    expect(e.refreshFailed()).toBe(0); // the backoff started over
  });

  it('a usage cooldown is not ended by new tokens', () => {
    const e = entry(mine);
    e.coolDown(NOW + 60_000, 'usage_limit');
    e.mergeStored({ credential: newer, location: 'x' });
    expect(e.isCooling(NOW)).toBe(true);
  });

  it('same tokens: a needs-login mark in the store is adopted, and ours is kept when the store has none', () => {
    const marked = { reason: 'refresh_token_reused', at: NOW };
    const e = entry(mine);
    expect(e.mergeStored({ credential: { ...mine, needsLogin: marked }, location: 'x' })).toBe('same');
    expect(e.credential.needsLogin).toEqual(marked);
    expect(e.isUsable()).toBe(false);
    e.mergeStored({ credential: mine, location: 'x' });
    expect(e.credential.needsLogin).toEqual(marked); // the store cannot revive tokens we know are dead
  });

  it('new tokens in the store (a new login) clear a needs-login mark', () => {
    const e = entry(mine);
    e.markNeedsLogin('refresh_token_reused', NOW);
    e.mergeStored({ credential: newer, location: 'x' });
    expect(e.isUsable()).toBe(true);
  });
});

describe('account state without a pool', () => {
  it('stateOf and isUsableCredential agree with statusFromStored', () => {
    const ready = makeCredential({ accountId: 'r', now: NOW });
    const expired = { ...ready, expiresAt: NOW - 1 };
    const needs = { ...ready, needsLogin: { reason: 'refresh_token_reused', at: NOW } };
    const disabled = { ...needs, disabled: true };
    expect([ready, expired, needs, disabled].map((c) => stateOf(c, NOW))).toEqual(['ready', 'expired', 'needs-login', 'disabled']);
    expect([ready, expired, needs, disabled].map(isUsableCredential)).toEqual([true, true, false, false]);
    expect(statusFromStored({ credential: expired, location: '/auth/x.json' }, NOW)).toMatchObject({ state: 'expired', location: '/auth/x.json', requests: 0, usage: null });
    expect(stateOf(ready, NOW, { cooling: true, refreshing: false })).toBe('cooling');
  });
});

describe('expiresAtFrom', () => {
  it("is the access token's exp, else now + expires_in, else unknown, for a login and a refresh alike", () => {
    const withExp = { idToken: fakeJwt({ email: 'a@example.com' }), accessToken: accessTokenFor('a', NOW + 7_200_000, 1), refreshToken: 'rt', tokenType: 'Bearer', expiresIn: 60 };
    const opaque = { ...withExp, accessToken: 'opaque-access-token' };
    const neither = { ...opaque, expiresIn: undefined };
    expect(expiresAtFrom(withExp, NOW)).toBe(NOW + 7_200_000);
    expect(expiresAtFrom(opaque, NOW)).toBe(NOW + 60_000);
    expect(expiresAtFrom(neither, NOW)).toBeNull();
    const cur = makeCredential({ accountId: 'a', now: NOW - 1000 });
    for (const t of [withExp, opaque, neither]) {
      expect(withRefreshedTokens(cur, t, NOW).expiresAt).toBe(expiresAtFrom(t, NOW));
      expect(credentialFromTokens(t, 'device', NOW, undefined, 'a').expiresAt).toBe(expiresAtFrom(t, NOW));
    }
  });
});
