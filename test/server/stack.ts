/**
 * Test helper (not a test file): a sandbox, N accounts minted there and stored in memory, the
 * real runtime (pool + Codex client) and the server listening on a free port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { MemoryAccountStore } from '../../src/accounts/memory-store.js';
import { createRuntime, type Runtime } from '../../src/app/runtime.js';
import { credentialFromTokens } from '../../src/auth/credential-from-tokens.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { startSandbox, type MintedAccount, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';
import { buildServer, type ServerDeps } from '../../src/server/app.js';
import type { AccountStore } from '../../src/accounts/store.js';
import type { Credential } from '../../src/accounts/credential.js';
import { systemClock, type Clock } from '../../src/util/clock.js';

export interface Stack {
  sandbox: Sandbox;
  accounts: MintedAccount[];
  config: Config;
  runtime: Runtime;
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export interface StackOptions {
  accounts?: number;
  apiKeys?: string[];
  sandbox?: SandboxOptions;
  configure?: (c: Config) => void;
  /** Where the accounts go (default: a fresh MemoryAccountStore). */
  store?: AccountStore;
  /** ServerDeps.logger (default false: no logs). */
  logger?: ServerDeps['logger'];
  /** The server's and pool's clock (default: the system clock). */
  clock?: Clock;
  /** Called with the built app before it listens (hooks a test adds). */
  beforeListen?: (app: FastifyInstance) => void;
}

/** The credential a login would have stored for an account minted in the sandbox. */
export function credentialOf(m: MintedAccount): Credential {
  const tokens = { idToken: m.idToken, accessToken: m.accessToken, refreshToken: m.refreshToken, tokenType: 'Bearer', expiresIn: m.expiresIn };
  return credentialFromTokens(tokens, 'import', Date.now());
}

export function testConfig(sandbox: Sandbox, dir: string): Config {
  const config = loadConfig({ env: {}, cwd: dir, flags: { authDir: dir, host: '127.0.0.1', port: 0 } });
  config.codex.issuer = sandbox.issuer;
  config.codex.baseUrl = sandbox.baseUrl;
  config.cooldown.transientSeconds = 0;
  return config;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const sandbox = await startSandbox({ quiet: true, deviceIntervalSeconds: 1, ...opts.sandbox });
  const dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-server-test-'));
  const accounts: MintedAccount[] = [];
  const store = opts.store ?? new MemoryAccountStore();
  for (let i = 0; i < (opts.accounts ?? 1); i++) {
    const minted = sandbox.mintAccount({ email: `user${i}@example.com` });
    accounts.push(minted);
    await store.save(credentialOf(minted));
  }
  const config = testConfig(sandbox, dir);
  config.apiKeys = opts.apiKeys ?? [];
  opts.configure?.(config);
  const clock = opts.clock ?? systemClock;
  const runtime = await createRuntime(config, { store, clock });
  const app = await buildServer({ config, pool: runtime.pool, upstream: runtime.upstream, clock, logger: opts.logger ?? false });
  opts.beforeListen?.(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    sandbox,
    accounts,
    config,
    runtime,
    app,
    url: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await runtime.close();
      await sandbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads a whole SSE body and returns the `data:` payloads in order. */
export function sseData(text: string): string[] {
  return text
    .split(/\r?\n\r?\n/)
    .map((block) => block.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n'))
    .filter((d) => d !== '');
}
