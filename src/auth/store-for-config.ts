import { FileAccountStore } from '../accounts/file-store.js';
import type { AccountStore } from '../accounts/store.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../util/clock.js';

/**
 * The account store the CLI commands (login, status, logout) work on: the configured one
 * (`store.type`: the auth dir by default, or PostgreSQL).
 */
export interface OpenedStore {
  store: AccountStore;
  /** Fails early (before a sign-in) when the store cannot be written; file store only. */
  ensureWritable(): Promise<void>;
  close(): Promise<void>;
}

export async function openAccountStore(config: Config, clock: Clock): Promise<OpenedStore> {
  if (config.store?.type === 'postgres') {
    const { PostgresAccountStore } = await import('../accounts/postgres-store.js');
    const store = new PostgresAccountStore({ connectionString: config.store.postgresUrl, table: config.store.postgresTable });
    return { store, ensureWritable: async () => undefined, close: () => store.close() };
  }
  const store = new FileAccountStore({ dir: config.authDir, clock });
  return { store, ensureWritable: () => store.ensureWritable(), close: async () => undefined };
}
