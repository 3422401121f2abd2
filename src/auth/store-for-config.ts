import { FileAccountStore } from '../accounts/file-store.js';
import type { Logger } from '../accounts/logger.js';
import { cryptoFor, type StoreCrypto } from '../accounts/store-cipher.js';
import type { AccountStore } from '../accounts/store.js';
import { ConfigError } from '../config/load.js';
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

/** The encryption the config asks for (store.encryption-key); a bad key is a config error. */
export function storeCryptoFor(config: Config): StoreCrypto {
  try {
    return cryptoFor(config.store?.encryptionKey);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

export interface OpenStoreOptions {
  log?: Logger;
  /** Overrides the configured encryption (store rekey). */
  crypto?: StoreCrypto;
  /** Overrides the configured store type (store migrate). */
  type?: 'file' | 'postgres';
  /** Receives what the store fixed on its own (e.g. an auth dir others could read, tightened to 0700). */
  warn?: (message: string) => void;
}

export async function openAccountStore(config: Config, clock: Clock, opts: OpenStoreOptions = {}): Promise<OpenedStore> {
  const crypto = opts.crypto ?? storeCryptoFor(config);
  const type = opts.type ?? config.store?.type ?? 'file';
  if (type === 'postgres') {
    if (!config.store.postgresUrl) throw new ConfigError('store.postgres-url: required for the postgres store (or set CLIPROXY_POSTGRES_URL / PGSTORE_DSN)');
    const { PostgresAccountStore } = await import('../accounts/postgres-store.js');
    const store = new PostgresAccountStore({
      connectionString: config.store.postgresUrl,
      table: config.store.postgresTable,
      schema: config.store.postgresSchema,
      crypto,
      log: opts.log,
    });
    const ensureWritable = () =>
      store.init().catch((err: unknown) => {
        throw new CliError(`${(err as Error).message}. Check store.postgres-url (CLIPROXY_POSTGRES_URL / PGSTORE_DSN) and that the database accepts connections.`);
      });
    return { store, ensureWritable, close: () => store.close() };
  }
  const store = new FileAccountStore({ dir: config.authDir, clock, crypto, onWarning: opts.warn });
  return { store, ensureWritable: () => store.ensureWritable(), close: async () => undefined };
}
