import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAccountStore } from '../../src/accounts/memory-store.js';
import { createRuntime, type Runtime } from '../../src/app/runtime.js';
import { credentialFromTokens } from '../../src/auth/credential-from-tokens.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { buildServer } from '../../src/server/app.js';
import type { UpstreamClient } from '../../src/upstream/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { testConfig } from './stack.js';

/**
 * /v1/models against the sandbox with two plans that see different model lists: the server
 * lists their union, asks each plan's /models once per cache window, and checks names against it.
 */
let sandbox: Sandbox;
let runtime: Runtime;
let app: FastifyInstance;
let url: string;
let dir: string;
const clock = new ManualClock(Date.now());
const modelsCalls: string[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ quiet: true, modelsByPlan: { free: ['gpt-5', 'gpt-5-codex-mini'], pro: ['gpt-5', 'gpt-5-codex'] } });
  dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-models-union-'));
  const store = new MemoryAccountStore();
  const plans: Record<string, string> = {};
  for (const [email, plan] of [['free1@example.com', 'free'], ['pro1@example.com', 'pro'], ['free2@example.com', 'free']] as const) {
    const m = sandbox.mintAccount({ email, plan });
    plans[m.accountId] = plan;
    const tokens = { idToken: m.idToken, accessToken: m.accessToken, refreshToken: m.refreshToken, tokenType: 'Bearer', expiresIn: m.expiresIn };
    await store.save(credentialFromTokens(tokens, 'import', clock.now()));
  }
  const config = testConfig(sandbox, dir);
  runtime = await createRuntime(config, { store, clock });
  const real = runtime.upstream;
  const counting: UpstreamClient = {
    responses: (auth, body, o) => real.responses(auth, body, o),
    models: (auth, o) => {
      modelsCalls.push(plans[auth.accountId] ?? '?');
      return real.models(auth, o);
    },
    close: () => real.close(),
  };
  app = await buildServer({ config, pool: runtime.pool, upstream: counting, clock, logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await app?.close();
  await runtime?.close();
  await sandbox?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function listIds(): Promise<string[]> {
  const res = await fetch(`${url}/v1/models`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id);
}

describe('GET /v1/models over accounts of several plans', () => {
  it('lists the union once per model, asking each plan once within the cache window', async () => {
    expect(await listIds()).toEqual(['gpt-5', 'gpt-5-codex-mini', 'gpt-5-codex']);
    expect(await listIds()).toEqual(['gpt-5', 'gpt-5-codex-mini', 'gpt-5-codex']);
    expect([...modelsCalls].sort()).toEqual(['free', 'pro']);

    const codex = await fetch(`${url}/v1/models?client_version=0.169.0`);
    expect(((await codex.json()) as { models: { slug: string }[] }).models.map((m) => m.slug)).toEqual(['gpt-5', 'gpt-5-codex-mini', 'gpt-5-codex']);
    expect(modelsCalls).toHaveLength(2);

    await clock.advance(300_000);
    expect(await listIds()).toEqual(['gpt-5', 'gpt-5-codex-mini', 'gpt-5-codex']);
    expect([...modelsCalls].sort()).toEqual(['free', 'free', 'pro', 'pro']);
  });

  it('answers 404 model_not_found listing the union for an unknown model', async () => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-9', messages: [{ role: 'user', content: 'Return OK.' }] }),
    });
    expect(res.status).toBe(404);
    const err = ((await res.json()) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe('model_not_found');
    expect(err.message).toContain('Available models: gpt-5, gpt-5-codex-mini, gpt-5-codex.');
  });
});
