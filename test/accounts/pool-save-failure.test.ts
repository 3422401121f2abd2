import { afterEach, describe, expect, it } from 'vitest';
import { AccountPool } from '../../src/accounts/pool.js';
import type { Credential } from '../../src/accounts/credential.js';
import { MemoryAccountStore } from '../../src/accounts/memory-store.js';
import { ManualClock } from '../../src/util/clock.js';
import { captureLogger, FakeTokens, makeCredential, testConfig, until } from './pool-helpers.js';

/**
 * After a refresh the old refresh token is spent, so tokens the store refuses to save are kept
 * in memory (requests go on working) and the save is retried until it works.
 */

/** A store whose next `failures` saves fail like a full disk would (the message even quotes the token). */
class FlakySaveStore extends MemoryAccountStore {
  failures = 0;
  attempts = 0;
  override async save(credential: Credential): Promise<string> {
    this.attempts++;
    if (this.failures > 0) {
      this.failures--;
      throw new Error(`ENOSPC: no space left on device, write (${credential.refreshToken} ${credential.accessToken})`);
    }
    return super.save(credential);
  }
}

const pools: AccountPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop();
});

async function setup(failures: number) {
  const clock = new ManualClock();
  const now = clock.now();
  const original = { ...makeCredential({ accountId: 'a', now }), expiresAt: now - 1000 };
  const store = new FlakySaveStore({ accounts: [original] });
  store.failures = failures;
  const tokens = new FakeTokens(clock);
  const log = captureLogger();
  const pool = new AccountPool({ store, tokens, clock, config: testConfig(), log, random: () => 0 });
  pools.push(pool);
  await pool.start();
  return { clock, store, tokens, log, pool, original };
}

const storedRefreshToken = async (store: MemoryAccountStore) => (await store.load('a'))!.credential.refreshToken;

describe('refreshed tokens the store cannot save', () => {
  it('are used in memory, the error is logged without secrets, and the save is retried shortly', async () => {
    const { clock, store, tokens, log, pool, original } = await setup(1);

    const first = await pool.withAccount({}, async ({ account }) => account.auth.accessToken);
    expect(tokens.calls).toEqual(['rt-a-0']);
    expect(first).not.toBe(original.accessToken);
    expect(await storedRefreshToken(store)).toBe('rt-a-0'); // not saved
    expect(store.attempts).toBe(1);

    // requests keep working with the unsaved tokens, without another refresh (rt-a-0 is spent)
    expect(await pool.withAccount({}, async ({ account }) => account.auth.accessToken)).toBe(first);
    expect(tokens.calls).toHaveLength(1);
    expect(pool.snapshot()[0]).toMatchObject({ state: 'ready' });

    const errorLine = log.lines.find((l) => l.level === 'error' && /could not be saved/.test(l.msg))!;
    expect(errorLine.msg).toContain('retrying the save');
    expect(errorLine.obj).toMatchObject({ accountId: 'a', retryInMs: 1000 });
    expect(JSON.stringify(errorLine.obj)).toContain('ENOSPC');
    const text = log.text();
    expect(text).not.toContain(first);
    expect(text).not.toContain('rt-a-1');

    await clock.advance(1000);
    await until(() => store.attempts === 2);
    await until(() => log.lines.some((l) => l.msg === 'Saved the refreshed tokens that were kept in memory'));
    const saved = (await store.load('a'))!.credential;
    expect(saved.refreshToken).toBe('rt-a-1');
    expect(saved.accessToken).toBe(first);
    expect(tokens.calls).toHaveLength(1); // the retry saved, it did not refresh
  });

  it('keeps retrying with backoff (1 s, 2 s, 4 s) while saving fails', async () => {
    const { clock, store, pool } = await setup(3);
    await pool.withAccount({}, async () => 'ok');
    expect(store.attempts).toBe(1);
    await clock.advance(999);
    expect(store.attempts).toBe(1);
    await clock.advance(1);
    await until(() => store.attempts === 2);
    await clock.advance(1999);
    expect(store.attempts).toBe(2);
    await clock.advance(1);
    await until(() => store.attempts === 3);
    expect(await storedRefreshToken(store)).toBe('rt-a-0');
    await clock.advance(4000);
    await until(() => store.attempts === 4);
    expect(await storedRefreshToken(store)).toBe('rt-a-1');
    await clock.advance(60_000);
    expect(store.attempts).toBe(4); // saved: no more retries
  });

  it('a refresh check that comes first saves the pending tokens', async () => {
    const { store, pool, tokens } = await setup(1);
    await pool.withAccount({}, async () => 'ok');
    expect(await pool.refreshAccount('a')).toBe(true); // forced refresh: rotates and saves
    expect(tokens.calls).toEqual(['rt-a-0', 'rt-a-1']);
    expect(await storedRefreshToken(store)).toBe('rt-a-2');
  });

  it('stop() makes one last attempt to save them', async () => {
    const { store, pool, log } = await setup(2);
    await pool.withAccount({}, async () => 'ok');
    expect(store.attempts).toBe(1);
    await pool.stop(); // the retry timer never fired (manual clock): stop tries once more
    expect(store.attempts).toBe(2);
    expect(await storedRefreshToken(store)).toBe('rt-a-0'); // that attempt failed too…
    expect(log.lines.some((l) => l.level === 'error' && /lost when this process ends/.test(l.msg))).toBe(true); // …and says so
    const { store: store2, pool: pool2 } = await setup(1);
    await pool2.withAccount({}, async () => 'ok');
    await pool2.stop();
    expect(await storedRefreshToken(store2)).toBe('rt-a-1');
  });

  it('a reload of the store does not swap them for the stored ones (whose refresh token is spent)', async () => {
    const { store, pool, tokens } = await setup(1);
    const inUse = await pool.withAccount({}, async ({ account }) => account.auth.accessToken);
    await pool.reload();
    expect(await pool.withAccount({}, async ({ account }) => account.auth.accessToken)).toBe(inUse);
    expect(await pool.refreshAccount('a')).toBe(true);
    expect(tokens.calls).toEqual(['rt-a-0', 'rt-a-1']);
    expect(await storedRefreshToken(store)).toBe('rt-a-2');
  });
});
