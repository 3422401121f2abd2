import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { cryptoFor } from '../../src/accounts/store-cipher.js';
import { credentialFromTokens } from '../../src/auth/credential-from-tokens.js';
import { main } from '../../src/cli/main.js';
import { startSandbox, type MintedAccount, type Sandbox } from '../../src/sandbox/index.js';
import { captureContext, type CapturedContext } from '../helpers/cli-context.js';

/** `serve` with store.encryption-key: the round trip through a refresh, and the start-up refusal with a wrong or missing key. */
const KEY = 'the team passphrase, long enough';
const OTHER_KEY = Buffer.alloc(32, 3).toString('base64');

let sandbox: Sandbox;
let dir: string;
let auth: string;
let minted: MintedAccount[];
beforeEach(async () => {
  sandbox = await startSandbox({ quiet: true });
  dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-serve-enc-'));
  auth = path.join(dir, 'auth');
  minted = [];
  const store = new FileAccountStore({ dir: auth, crypto: cryptoFor(KEY) });
  for (const email of ['a@example.com', 'b@example.com']) {
    const m = sandbox.mintAccount({ email });
    await store.save(credentialFromTokens({ idToken: m.idToken, accessToken: m.accessToken, refreshToken: m.refreshToken, tokenType: 'Bearer', expiresIn: m.expiresIn }, 'device', Date.now()));
    minted.push(m);
  }
});
afterEach(async () => {
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

function env(key: string | undefined): NodeJS.ProcessEnv {
  return { CLIPROXY_AUTH_DIR: auth, CLIPROXY_CODEX_ISSUER: sandbox.issuer, CLIPROXY_CODEX_BASE_URL: sandbox.baseUrl, ...(key ? { CLIPROXY_STORE_KEY: key } : {}) };
}

function files(): Record<string, string> {
  return Object.fromEntries(readdirSync(auth).filter((n) => n.endsWith('.json')).map((n) => [n, readFileSync(path.join(auth, n), 'utf8')]));
}

async function startServe(ctx: CapturedContext): Promise<{ url: string; done: Promise<number> }> {
  const done = main(['serve', '--port', '0'], ctx);
  for (let i = 0; i < 400; i++) {
    const m = /listening on (http:\/\/\S+)/.exec(ctx.out());
    if (m) return { url: m[1]!, done };
    const early = await Promise.race([done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 25))]);
    if (early !== undefined) throw new Error(`serve exited ${early}: ${ctx.err()}`);
  }
  throw new Error('serve did not start');
}

describe('serve with an encrypted store', () => {
  it('round trip: serves with sealed tokens, refreshes, and writes the rotated tokens sealed again', async () => {
    const ctx = captureContext({ env: env(KEY), cwd: dir });
    const { url, done } = await startServe(ctx);
    try {
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused-key', maxRetries: 0 });
      let n = 0;
      // distinct conversations, so both accounts take turns
      const ask = async () => (await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'Return OK.' }], prompt_cache_key: `enc-${n++}` })).choices[0]!.message.content;
      expect(await ask()).toBe('OK');
      const before = files();
      sandbox.expireAccessTokens();
      expect(await ask()).toBe('OK');
      expect(await ask()).toBe('OK');
      expect(sandbox.stats().refreshes).toBe(2);
      const after = files();
      expect(after).not.toEqual(before);
      for (const text of Object.values(after)) {
        expect(text).toContain('"sealed"');
        for (const m of minted) expect(text).not.toContain(m.refreshToken.slice(0, 20));
        expect(text).not.toMatch(/"(access|refresh|id)_token"/);
      }
      const reread = await new FileAccountStore({ dir: auth, crypto: cryptoFor(KEY) }).list();
      expect(reread.accounts.map((a) => a.credential.refreshToken)).not.toContain(minted[0]!.refreshToken);
      expect(reread.problems).toEqual([]);
    } finally {
      ctx.interrupt();
      await done;
    }
  });

  for (const [name, key, why] of [
    ['a wrong key', OTHER_KEY, /different key/],
    ['no key', undefined, /no store\.encryption-key/],
  ] as const) {
    it(`${name}: start-up fails naming the accounts it cannot read; nothing is written`, async () => {
      const before = files();
      const ctx = captureContext({ env: env(key), cwd: dir });
      const code = await main(['serve', '--port', '0'], ctx);
      expect(code).toBe(1);
      expect(ctx.err()).toMatch(/Cannot read 2 accounts in/);
      expect(ctx.err()).toContain('a@example.com');
      expect(ctx.err()).toContain('b@example.com');
      expect(ctx.err()).toMatch(why);
      expect(ctx.err()).toMatch(/CLIPROXY_STORE_KEY/);
      expect(ctx.err()).not.toContain(KEY);
      expect(ctx.out()).not.toContain('listening');
      expect(files()).toEqual(before);
      // status still shows them, with email and plan, as locked
      const st = captureContext({ env: env(key), cwd: dir });
      await main(['status', '--json', '--offline'], st);
      const rows = (JSON.parse(st.out()) as { accounts: Array<{ email: string; plan: string; state: string }> }).accounts;
      expect(rows.map((r) => [r.email, r.plan, r.state])).toEqual([
        ['a@example.com', minted[0]!.plan, 'locked'],
        ['b@example.com', minted[1]!.plan, 'locked'],
      ]);
    });
  }

  it("the Codex CLI's auth.json still imports with a key set: stored sealed, read back with the key", async () => {
    const m = sandbox.mintAccount({ email: 'codex@example.com', plan: 'pro' });
    const authJson = path.join(dir, 'auth.json');
    writeFileSync(
      authJson,
      JSON.stringify({ auth_mode: 'chatgpt', OPENAI_API_KEY: null, tokens: { id_token: m.idToken, access_token: m.accessToken, refresh_token: m.refreshToken, account_id: m.accountId }, last_refresh: '2026-01-01T00:00:00Z' }),
    );
    const ctx = captureContext({ env: env(KEY), cwd: dir });
    expect(await main(['login', '--from-codex', authJson], ctx)).toBe(0);
    const saved = Object.entries(files()).find(([name]) => name.includes('codex@example.com'))!;
    expect(saved[1]).toContain('"sealed"');
    expect(saved[1]).not.toContain(m.refreshToken);
    const stored = await new FileAccountStore({ dir: auth, crypto: cryptoFor(KEY) }).load(m.accountId);
    expect(stored!.credential).toMatchObject({ email: 'codex@example.com', refreshToken: m.refreshToken, authMethod: 'import' });
  });
});
