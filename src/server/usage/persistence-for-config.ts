import type { Config } from '../../config/schema.js';
import type { Clock } from '../../util/clock.js';
import { FileUsagePersistence } from './file-persistence.js';
import type { UsagePersistence } from './tracker.js';

/** Where the usage history lives: next to the accounts (the auth dir, or the PostgreSQL database). */
export async function usagePersistenceFor(config: Config, clock: Clock): Promise<UsagePersistence> {
  if (config.store.type === 'postgres' && config.store.postgresUrl) {
    const { PostgresUsagePersistence } = await import('./postgres-persistence.js');
    return new PostgresUsagePersistence({ connectionString: config.store.postgresUrl, accountsTable: config.store.postgresTable, schema: config.store.postgresSchema, clock });
  }
  return new FileUsagePersistence(config.authDir);
}
