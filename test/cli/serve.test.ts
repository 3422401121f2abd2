import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { credentialFromTokens } from '../../src/auth/credential-from-tokens.js';
import { SERVER_GC_FLAGS } from '../../src/app/gc-schedule.js';
import { main } from '../../src/cli/main.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { captureContext, type CapturedContext } from '../helpers/cli-context.js';

let sandbox: Sandbox;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  sandbox = await startSandbox({ quiet: true });
  dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-serve-test-'));
  for (const email of ['a@example.com', 'b@example.com']) {
    const m = sandbox.mintAccount({ email });
    const tokens = { idToken: m.idToken, accessToken: m.accessToken, refreshToken: m.refreshToken, tokenType: 'Bearer', expiresIn: m.expiresIn };
    await new FileAccountStore({ dir: path.join(dir, 'auth') }).save(credentialFromTokens(tokens, 'device', Date.now()));
  }
  env = { CLIPROXY_AUTH_DIR: path.join(dir, 'auth'), CLIPROXY_CODEX_ISSUER: sandbox.issuer, CLIPROXY_CODEX_BASE_URL: sandbox.baseUrl };
});
afterAll(async () => {
  await sandbox?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts main(argv) in the background and waits for the "listening on" line. */
async function startServe(argv: string[], ctx: CapturedContext): Promise<{ url: string; done: Promise<number> }> {
  const done = main(argv, ctx);
  for (let i = 0; i < 200; i++) {
    const m = /listening on (http:\/\/\S+)/.exec(ctx.out());
    if (m) return { url: m[1]!.replace('0.0.0.0', '127.0.0.1'), done };
    const early = await Promise.race([done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 25))]);
    if (early !== undefined) throw new Error(`serve exited ${early}: ${ctx.err()}`);
  }
  throw new Error('serve did not start');
}

describe('cliproxy serve', () => {
  it('refuses a non-loopback host without api-keys, explaining why', async () => {
    const ctx = captureContext({ env, cwd: dir });
    const code = await main(['serve', '--host', '0.0.0.0', '--port', '0'], ctx);
    expect(code).toBe(78);
    expect(ctx.err()).toMatch(/Refusing to listen on 0\.0\.0\.0.*anyone.*api-keys/s);
    expect(ctx.out()).toBe('');
  });

  it('starts, prints where it listens and the account count, serves, and stops on Ctrl-C', async () => {
    const ctx = captureContext({ env, cwd: dir });
    const { url, done } = await startServe(['serve', '--port', '0'], ctx);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ctx.out()).toContain('Loaded 2 Codex accounts');
    const health = (await (await fetch(`${url}/healthz`)).json()) as { accounts: { total: number } };
    expect(health.accounts.total).toBe(2);
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }] }),
    });
    expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('OK');
    ctx.interrupt();
    expect(await done).toBe(0);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('a signal right when "listening on" is written finds a handler: the server stops once it is up', async () => {
    const ctx = captureContext({ env, cwd: dir });
    // the signal comes the moment the line is written (a supervisor that stops what it just started)
    const write = ctx.stdout.write.bind(ctx.stdout) as (chunk: string) => boolean;
    (ctx.stdout as { write: (chunk: string) => boolean }).write = (chunk: string) => {
      const ok = write(chunk);
      if (String(chunk).startsWith('listening on')) ctx.interrupt();
      return ok;
    };
    expect(await main(['serve', '--port', '0'], ctx)).toBe(0);
    const url = /listening on (\S+)/.exec(ctx.out())?.[1];
    expect(url).toBeDefined();
    expect(ctx.err()).toContain('Shutting down');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  }, 10_000);

  it('the legacy form `cliproxy -config FILE` serves, and api-keys allow any host', async () => {
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, `host: 0.0.0.0\nport: 0\napi-keys: ["legacy-key-123456"]\nauth-dir: ${JSON.stringify(path.join(dir, 'auth'))}\n`);
    const ctx = captureContext({ env: { CLIPROXY_CODEX_ISSUER: sandbox.issuer, CLIPROXY_CODEX_BASE_URL: sandbox.baseUrl }, cwd: dir });
    const { url, done } = await startServe(['-config', file], ctx);
    expect((await fetch(`${url}/v1/models`)).status).toBe(401);
    expect((await fetch(`${url}/v1/models`, { headers: { 'x-api-key': 'legacy-key-123456' } })).status).toBe(200);
    ctx.interrupt();
    expect(await done).toBe(0);
  });

  it('logs a corrupt token file found at start-up to stderr (file name and reason) and still serves', async () => {
    const authDir = path.join(dir, 'auth-with-corrupt');
    const m = sandbox.mintAccount({ email: 'c@example.com' });
    const tokens = { idToken: m.idToken, accessToken: m.accessToken, refreshToken: m.refreshToken, tokenType: 'Bearer', expiresIn: m.expiresIn };
    await new FileAccountStore({ dir: authDir }).save(credentialFromTokens(tokens, 'device', Date.now()));
    writeFileSync(path.join(authDir, 'codex-bad.json'), '{ this is not json');
    // a cwd of its own: the legacy test above leaves a config.yaml in `dir`
    const ctx = captureContext({ env: { ...env, CLIPROXY_AUTH_DIR: authDir }, cwd: authDir });
    const { url, done } = await startServe(['serve', '--port', '0'], ctx);
    const skipped = ctx
      .err()
      .split('\n')
      .find((l) => l.includes('codex-bad.json'));
    expect(skipped).toBeDefined();
    expect(skipped).toMatch(/Skipping account file .*codex-bad\.json: .*JSON/i);
    expect(ctx.err()).toContain('Loaded 1 Codex accounts');
    expect(ctx.out()).toContain('Loaded 1 Codex account');
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }] }),
    });
    const body = await res.text();
    expect(res.status, body).toBe(200);
    expect((JSON.parse(body) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('OK');
    ctx.interrupt();
    expect(await done).toBe(0);
  });
});

describe('cliproxy serve: the garbage-collection schedule', () => {
  it('sets the V8 flags of src/app/gc-schedule.ts before it listens; none with CLIPROXY_GC_TUNING=off; a bad value is a config error', async () => {
    for (const [tuning, expected] of [[undefined, SERVER_GC_FLAGS], ['off', []]] as const) {
      const ctx = captureContext({ env: { ...env, ...(tuning ? { CLIPROXY_GC_TUNING: tuning } : {}) }, cwd: dir });
      const set: (readonly string[])[] = [];
      let listeningWhenSet = true;
      ctx.setV8Flags = (flags) => {
        set.push(flags);
        listeningWhenSet = ctx.out().includes('listening on');
      };
      const { done } = await startServe(['serve', '--port', '0'], ctx);
      ctx.interrupt();
      expect(await done).toBe(0);
      expect(set).toEqual([expected]);
      expect(listeningWhenSet).toBe(false);
    }
    const bad = captureContext({ env: { ...env, CLIPROXY_GC_TUNING: 'sometimes' }, cwd: dir });
    bad.setV8Flags = () => {
      throw new Error('not to be called');
    };
    expect(await main(['serve', '--port', '0'], bad)).toBe(78);
    expect(bad.err()).toContain('CLIPROXY_GC_TUNING: expected on or off, got "sometimes"');
  });
});
