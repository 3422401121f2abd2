import { FileAccountStore } from '../accounts/file-store.js';
import type { AccountStore } from '../accounts/store.js';
import { CliError } from '../errors.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../util/clock.js';

/**
 * The account store the CLI commands (login, status, logout) work on: the configured one
 * (`store.type`: the auth dir by default, or PostgreSQL).
 */
export interface OpenedStore {
  store: AccountStore;
  /** Fails early (before a sign-in) when the store cannot be written: the auth dir, or the database (connects and creates the table). */
  ensureWritable(): Promise<void>;
  close(): Promise<void>;
}

/** `warn` receives what the store fixed on its own (e.g. an auth dir others could read, tightened to 0700). */
export async function openAccountStore(config: Config, clock: Clock, warn?: (message: string) => void): Promise<OpenedStore> {
  if (config.store?.type === 'postgres') {
    const { PostgresAccountStore } = await import('../accounts/postgres-store.js');
    const store = new PostgresAccountStore({ connectionString: config.store.postgresUrl, table: config.store.postgresTable });
    const ensureWritable = () =>
      store.init().catch((err: unknown) => {
        throw new CliError(`${(err as Error).message}. Check store.postgres-url (CLIPROXY_POSTGRES_URL) and that the database accepts connections.`);
      });
    return { store, ensureWritable, close: () => store.close() };
  }
  const store = new FileAccountStore({ dir: config.authDir, clock, onWarning: warn });
  return { store, ensureWritable: () => store.ensureWritable(), close: async () => undefined };
}
