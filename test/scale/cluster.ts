import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { PostgresAccountStore } from '../../src/accounts/postgres-store.js';
import { credentialFromTokens } from '../../src/auth/credential-from-tokens.js';
import { startSandbox, type MintedAccount, type Sandbox } from '../../src/sandbox/index.js';
import { startInstance, type Instance } from '../helpers/instances.js';
import { dropSchema, TEST_POSTGRES_URL, uniqueSchema } from '../helpers/postgres.js';

/**
 * A team set-up for tests: the sandbox, a fresh PostgreSQL schema with `accounts` accounts,
 * and `instances` cliproxy server processes sharing it (started together).
 */
/** The management key every instance of a cluster has (GET /v0/management/accounts). */
export const MANAGEMENT_KEY = 'scale-test-management-key';

export interface Cluster {
  sandbox: Sandbox;
  schema: string;
  accounts: MintedAccount[];
  instances: Instance[];
  /** A store on the same schema, for the test's own reads and writes. */
  store: PostgresAccountStore;
  client(i: number): OpenAI;
  /** One chat completion (its own conversation) through instance i % n; resolves to the reply text, or rejects with the API error. */
  ask(i: number): Promise<string>;
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  instances?: number;
  accounts?: number;
  /** Overrides the database URL the instances use (e.g. a proxy in front of it). */
  url?: string;
  env?: Record<string, string>;
  /** Start the instances on the empty schema first, then add the accounts (they learn of them by NOTIFY). */
  accountsAfterStart?: boolean;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const sandbox = await startSandbox({ quiet: true });
  const schema = uniqueSchema('scale');
  const store = new PostgresAccountStore({ connectionString: TEST_POSTGRES_URL, schema, watchDebounceMs: 20 });
  const accounts: MintedAccount[] = [];
  const instances: Instance[] = [];
  const env: Record<string, string> = {
    CLIPROXY_CODEX_ISSUER: sandbox.issuer,
    CLIPROXY_CODEX_BASE_URL: sandbox.baseUrl,
    PGSTORE_DSN: opts.url ?? TEST_POSTGRES_URL,
    PGSTORE_SCHEMA: schema,
    CLIPROXY_MANAGEMENT_KEY: MANAGEMENT_KEY,
    ...opts.env,
  };
  const close = async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await store.close();
    await sandbox.close();
    await dropSchema(schema);
  };
  try {
    const seed = async () => {
      for (let i = 0; i < (opts.accounts ?? 5); i++) {
        const m = sandbox.mintAccount({ email: `acct${i}@example.com` });
        const tokens = { idToken: m.idToken, accessToken: m.accessToken, refreshToken: m.refreshToken, tokenType: 'Bearer', expiresIn: m.expiresIn };
        await store.save(credentialFromTokens(tokens, 'import', Date.now()));
        accounts.push(m);
      }
    };
    if (!opts.accountsAfterStart) await seed();
    const started = await Promise.allSettled(Array.from({ length: opts.instances ?? 3 }, () => startInstance(env)));
    for (const s of started) if (s.status === 'fulfilled') instances.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    if (opts.accountsAfterStart) await seed();
  } catch (err) {
    await close();
    throw err;
  }
  const clients = instances.map((inst) => new OpenAI({ baseURL: `${inst.url}/v1`, apiKey: 'unused-key', maxRetries: 0, timeout: 30_000 }));
  return {
    sandbox,
    schema,
    accounts,
    instances,
    store,
    env,
    client: (i) => clients[i % clients.length]!,
    async ask(i) {
      // a conversation of its own (the proxy derives affinity from identical conversations)
      const r = await clients[i % clients.length]!.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'Return OK.' }], prompt_cache_key: `ask-${i}-${randomUUID()}` });
      return r.choices[0]?.message.content ?? '';
    },
    close,
  };
}
