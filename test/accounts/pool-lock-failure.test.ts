import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AccountPool } from '../../src/accounts/pool.js';
import type { Credential, TokenSet } from '../../src/accounts/credential.js';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { MemoryAccountStore } from '../../src/accounts/memory-store.js';
import { TokenEndpointError } from '../../src/auth/token-errors.js';
import { ManualClock, systemClock } from '../../src/util/clock.js';
import { captureLogger, FakeTokens, makeCredential, testConfig } from './pool-helpers.js';

/** A file store that counts how often a refresh lock was asked for. */
class CountingFileStore extends FileAccountStore {
  lockCalls = 0;
  override withRefreshLock<T>(accountId: string, fn: () => Promise<T>): Promise<T> {
    this.lockCalls++;
    return super.withRefreshLock(accountId, fn);
  }
}

const pools: AccountPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop();
});

describe('a refresh whose lock cannot be taken', () => {
  it('refreshes in memory under the in-process single flight and warns once with the real reason', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-lockfail-'));
    const now = Date.now();
    const expired: Credential = { ...makeCredential({ accountId: 'a', now }), expiresAt: now - 1000 };
    const store = new CountingFileStore({ dir });
    await store.save(expired);
    writeFileSync(path.join(dir, '.locks'), 'not a directory'); // the lock directory cannot be created
    const tokens = new FakeTokens(systemClock);
    const log = captureLogger();
    const pool = new AccountPool({ store, tokens, clock: systemClock, config: testConfig(), log, random: () => 0 });
    pools.push(pool);
    await pool.start();

    // ten concurrent requests on the expired token: one refresh, every request served with the new token
    const served = await Promise.all(Array.from({ length: 10 }, () => pool.withAccount({}, async ({ account }) => account.auth.accessToken)));
    expect(tokens.calls).toEqual(['rt-a-0']);
    expect(new Set(served).size).toBe(1);
    expect(served[0]).not.toBe(expired.accessToken);
    expect(pool.snapshot()[0]).toMatchObject({ state: 'ready', cooldownReason: null, failures: 0 });
    // a forced refresh later: still works, and the same problem is not warned about again
    expect(await pool.refreshAccount('a')).toBe(true);
    expect(tokens.calls).toEqual(['rt-a-0', 'rt-a-1']);
    const warnings = log.lines.filter((l) => l.level === 'warn' && l.msg.startsWith('The refresh lock cannot be taken'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.obj).toMatchObject({ accountId: 'a' });
    expect(JSON.stringify(warnings[0]!.obj)).toContain('Cannot create the lock directory');
    expect(log.text()).not.toContain(expired.refreshToken);
    expect(log.text()).not.toContain('rt-a-1');
  });

  it('logs the issuer message of a transient failure, scrubbed of the tokens', async () => {
    const clock = new ManualClock();
    const now = clock.now();
    const expired: Credential = { ...makeCredential({ accountId: 'a', now }), expiresAt: now - 1000 };
    const store = new MemoryAccountStore({ accounts: [expired] });
    const tokens = {
      refresh(refreshToken: string): Promise<TokenSet> {
        return Promise.reject(new TokenEndpointError(`upstream gateway choked on ${refreshToken}`, { status: 502, permanent: false }));
      },
    };
    const log = captureLogger();
    const pool = new AccountPool({ store, tokens, clock, config: testConfig(), log, random: () => 0 });
    pools.push(pool);
    await pool.start();

    expect(await pool.refreshAccount('a')).toBe(false);
    const warning = log.lines.find((l) => l.level === 'warn' && l.msg === 'Token refresh failed; retrying later');
    const err = (warning?.obj as { err?: string } | undefined)?.err ?? '';
    expect(err).toContain('TokenEndpointError 502');
    expect(err).toContain('upstream gateway choked on');
    expect(log.text()).not.toContain(expired.refreshToken);
  });
});
