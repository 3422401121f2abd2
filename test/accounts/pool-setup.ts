import { AccountPool, type PoolOptions } from '../../src/accounts/pool.js';
import { MemoryAccountStore } from '../../src/accounts/memory-store.js';
import type { Credential } from '../../src/accounts/credential.js';
import { ManualClock } from '../../src/util/clock.js';
import { captureLogger, FakeTokens, makeCredential, testConfig } from './pool-helpers.js';

export interface PoolFixture {
  clock: ManualClock;
  store: MemoryAccountStore;
  tokens: FakeTokens;
  log: ReturnType<typeof captureLogger>;
  pool: AccountPool;
}

/** A started pool over a memory store holding one fresh account per id (customise via `edit`). */
export async function poolWith(
  ids: string[],
  opts: { config?: Parameters<typeof testConfig>[0]; edit?: (c: Credential) => Credential; extra?: Partial<PoolOptions> } = {},
): Promise<PoolFixture> {
  const clock = new ManualClock();
  const now = clock.now();
  const accounts = ids.map((id) => (opts.edit ?? ((c: Credential) => c))(makeCredential({ accountId: id, now })));
  const store = new MemoryAccountStore({ accounts, description: 'test-store' });
  const tokens = new FakeTokens(clock);
  const log = captureLogger();
  const pool = new AccountPool({ store, tokens, clock, config: testConfig(opts.config), log, random: () => 0, ...opts.extra });
  await pool.start();
  return { clock, store, tokens, log, pool };
}

/** One request that succeeds and reports which account served it. */
export function servedBy(pool: AccountPool, affinityKey?: string): Promise<string> {
  return pool.withAccount({ affinityKey }, async ({ account }) => account.accountId);
}

export function tally(ids: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ids) out[id] = (out[id] ?? 0) + 1;
  return out;
}
