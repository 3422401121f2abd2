import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { credentialFromTokens } from '../../src/auth/credential-from-tokens.js';
import { loadConfig } from '../../src/config/load.js';
import { startSandbox, type MintedAccount, type Sandbox } from '../../src/sandbox/index.js';
import { startServer, type ServerHandle } from '../../src/server/run.js';
import { fakeCli } from '../auth/cli-context.js';

/**
 * `cliproxy status` against a real `serve` (startServer) on a free port, over an auth dir of
 * accounts minted in the sandbox: the live view, the API key, the fallback to the files, --offline.
 */
const API_KEY = 'status-live-key-0001';
const MGMT_KEY = 'status-live-mgmt-key-01';
const WITH_KEY = { CLIPROXY_MANAGEMENT_KEY: MGMT_KEY };
let sandbox: Sandbox;
let root: string;
let authDir: string;
let accounts: MintedAccount[];
let server: ServerHandle | undefined;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function configFile(name: string, o: { host: string; port: number; apiKeys?: string[]; managementKey?: string }): string {
  const file = path.join(root, name);
  const lines = [
    `host: ${JSON.stringify(o.host)}`,
    `port: ${o.port}`,
    `auth-dir: ${JSON.stringify(authDir)}`,
    `api-keys: ${JSON.stringify(o.apiKeys ?? [])}`,
    'request-retry: 3',
    'codex:',
    `  issuer: ${JSON.stringify(sandbox.issuer)}`,
    `  base-url: ${JSON.stringify(sandbox.baseUrl)}`,
    ...(o.managementKey ? ['remote-management:', `  secret-key: ${JSON.stringify(o.managementKey)}`] : []),
  ];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function serve(file: string): Promise<ServerHandle> {
  const config = loadConfig({ flags: { config: file }, env: {}, cwd: root });
  server = await startServer(config, { stdout: new PassThrough(), stderr: new PassThrough(), logs: false });
  return server;
}

async function chat(url: string, text: string, apiKey?: string): Promise<void> {
  const res = await fetch(`${url.replace('0.0.0.0', '127.0.0.1')}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: text }] }),
  });
  expect(res.status).toBe(200);
  await res.json();
}

interface JsonStatus {
  authDir: string;
  source: 'server' | 'files';
  server: string | null;
  accounts: Array<{ email: string | null; state: string; detail: string | null; stats?: Record<string, unknown> }>;
}

async function status(file: string, env: Record<string, string>, ...extra: string[]): Promise<{ out: string; err: string; code: number }> {
  const cli = await fakeCli({ env });
  const code = await cli.run(['status', '--config', file, ...extra]);
  return { out: cli.stdout.text(), err: cli.stderr.text(), code };
}

beforeAll(async () => {
  sandbox = await startSandbox({ quiet: true });
  root = mkdtempSync(path.join(tmpdir(), 'cliproxy-status-live-'));
  authDir = path.join(root, 'auth');
  const store = new FileAccountStore({ dir: authDir });
  accounts = [sandbox.mintAccount({ email: 'alice@example.com', plan: 'plus' }), sandbox.mintAccount({ email: 'bob@example.com', plan: 'pro' })];
  for (const m of accounts) {
    const tokens = { idToken: m.idToken, accessToken: m.accessToken, refreshToken: m.refreshToken, tokenType: 'Bearer', expiresIn: m.expiresIn };
    await store.save(credentialFromTokens(tokens, 'import', Date.now()));
  }
  writeFileSync(path.join(authDir, 'codex-broken.json'), '{"type":"codex",', { mode: 0o600 });
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

afterAll(async () => {
  await sandbox?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('cliproxy status with a running server', () => {
  it('shows the server\'s live counts (table and --json), cooling with its end, and still the corrupt file', async () => {
    const port = await freePort();
    const file = configFile('live.yaml', { host: '127.0.0.1', port, managementKey: MGMT_KEY });
    const srv = await serve(file);
    // the server replaced the plain key in the file by its hash: status sends the key from the environment
    expect(readFileSync(file, 'utf8')).not.toContain(MGMT_KEY);
    expect(readFileSync(file, 'utf8')).toMatch(/secret-key: "?scrypt\$16384\$8\$1\$/);
    await chat(srv.url, 'Return OK.');
    await chat(srv.url, 'Return OK.');
    sandbox.addFault({ kind: 'status', status: 429, account: 'alice@example.com', times: 1, resetsInSeconds: 600 });
    // round-robin hands alice out within two requests: she gets the 429 and bob serves the request
    for (let i = 0; i < 2 && srv.runtime.pool.snapshot().every((x) => x.state !== 'cooling'); i++) await chat(srv.url, 'Return OK.');

    const table = await status(file, WITH_KEY);
    expect(table.code).toBe(0);
    expect(table.err).toBe(`(live from the server at http://127.0.0.1:${port})\n`);
    const lines = table.out.trimEnd().split('\n');
    expect(lines[0]).toBe(`Auth dir: ${authDir}`);
    expect(lines[1]).toMatch(/^EMAIL\s+PLAN\s+STATE\s+EXPIRES\s+LAST REFRESH\s+FILE\s+LIVE$/);
    expect(lines).toHaveLength(2 + 3);
    // the counters are the pool's (model-list fetches count as requests too)
    const truth = Object.fromEntries(srv.runtime.pool.snapshot().map((a) => [a.email, a]));
    const counts = (email: string) => `req=${truth[email]!.requests} ok=${truth[email]!.successes} fail=${truth[email]!.failures} tok=${truth[email]!.inputTokens}/${truth[email]!.outputTokens}`;
    expect(truth['alice@example.com']!.failures).toBe(1);
    expect(truth['bob@example.com']!.outputTokens).toBeGreaterThan(0);
    const alice = lines.find((l) => l.startsWith('alice@example.com'))!;
    expect(alice).toMatch(/cooling \(usage_limit until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)/);
    expect(alice).toContain(counts('alice@example.com'));
    expect(alice).toMatch(/ used=\d+% last=\d+s ago$/);
    const bob = lines.find((l) => l.startsWith('bob@example.com'))!;
    expect(bob).toMatch(/\bready\b/);
    expect(bob).toContain(`${counts('bob@example.com')} `);
    expect(lines.find((l) => l.includes('codex-broken.json'))).toMatch(/^-\s+-\s+corrupt \(not valid JSON.*\s-$/);

    const json = await status(file, WITH_KEY, '--json');
    const parsed = JSON.parse(json.out) as JsonStatus;
    expect(parsed).toMatchObject({ authDir, source: 'server', server: `http://127.0.0.1:${port}` });
    const byEmail = Object.fromEntries(parsed.accounts.map((a) => [a.email ?? 'corrupt', a]));
    const { requests, successes, failures, inputTokens, outputTokens } = truth['alice@example.com']!;
    expect(byEmail['alice@example.com']).toMatchObject({
      state: 'cooling',
      stats: { requests, successes, failures, inputTokens, outputTokens, cooldownReason: 'usage_limit', cooldownUntil: expect.stringMatching(/Z$/), lastUsed: expect.any(String) },
    });
    const aliceUntil = Date.parse((byEmail['alice@example.com']!.stats as { cooldownUntil: string }).cooldownUntil);
    expect(aliceUntil).toBeGreaterThan(Date.now() + 500_000);
    const b = truth['bob@example.com']!;
    expect(byEmail['bob@example.com']).toMatchObject({
      state: 'ready',
      stats: { requests: b.requests, successes: b.successes, failures: 0, inputTokens: b.inputTokens, outputTokens: b.outputTokens, cooldownUntil: null },
    });
    expect(byEmail.corrupt).toMatchObject({ state: 'corrupt' });
    expect(byEmail.corrupt!.stats).toBeUndefined();
    expect(json.out).not.toMatch(/eyJ|rt_/);
  });

  it('reaches a server bound to 0.0.0.0 over loopback with the management key; an API key or no key falls back to the files', async () => {
    const port = await freePort();
    const file = configFile('keyed.yaml', { host: '0.0.0.0', port, apiKeys: [API_KEY, 'second-key-000002'], managementKey: MGMT_KEY });
    const srv = await serve(file);
    await chat(srv.url, 'Return OK.', API_KEY);

    const live = await status(file, WITH_KEY, '--json');
    expect(live.err).toBe(`(live from the server at http://127.0.0.1:${port})\n`);
    const parsed = JSON.parse(live.out) as JsonStatus;
    expect(parsed.source).toBe('server');
    const served = srv.runtime.pool.snapshot().reduce((n, a) => n + a.successes, 0);
    expect(served).toBeGreaterThanOrEqual(1);
    expect(parsed.accounts.reduce((n, a) => n + Number(a.stats?.successes ?? 0), 0)).toBe(served);

    const wrong = configFile('wrong-key.yaml', { host: '127.0.0.1', port, apiKeys: [API_KEY] });
    const fallback = await status(wrong, { CLIPROXY_MANAGEMENT_KEY: API_KEY }, '--json');
    expect(fallback.code).toBe(0);
    expect(fallback.err).toBe(`(the server at http://127.0.0.1:${port} did not give its account state: it refused the management key (401); showing the files)\n`);
    expect(fallback.err).not.toContain(API_KEY);
    expect((JSON.parse(fallback.out) as JsonStatus).source).toBe('files');
    const keyless = await status(file, {}, '--json');
    expect(keyless.err).toBe(
      `(the server at http://127.0.0.1:${port} did not give its account state: it needs the management key: set CLIPROXY_MANAGEMENT_KEY (401); showing the files)\n`,
    );
  });

  it('--offline reads the files even while a server runs', async () => {
    const port = await freePort();
    const file = configFile('offline.yaml', { host: '127.0.0.1', port });
    const srv = await serve(file);
    await chat(srv.url, 'Return OK.');
    const off = await status(file, WITH_KEY);
    expect(off.err).toContain('its management API is off (start it with remote-management.secret-key or CLIPROXY_MANAGEMENT_KEY)');
    const offline = await status(file, WITH_KEY, '--offline', '--json');
    expect(offline.err).toBe('');
    const parsed = JSON.parse(offline.out) as JsonStatus;
    expect(parsed.source).toBe('files');
    expect(parsed.server).toBeNull();
    expect(parsed.accounts.map((a) => a.state).sort()).toEqual(['corrupt', 'ready', 'ready']);
    expect(parsed.accounts.every((a) => a.stats === undefined)).toBe(true);

    const table = await status(file, {}, '--offline');
    expect(table.out.split('\n')[1]).toMatch(/FILE$/);
  });
});

describe('cliproxy status without a server', () => {
  it('falls back to the files silently when nothing listens on the port', async () => {
    const file = configFile('none.yaml', { host: '127.0.0.1', port: await freePort(), apiKeys: [API_KEY] });
    const r = await status(file, WITH_KEY);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const lines = r.out.trimEnd().split('\n');
    expect(lines[1]).toMatch(/^EMAIL\s+PLAN\s+STATE\s+EXPIRES\s+LAST REFRESH\s+FILE$/);
    expect(lines).toHaveLength(2 + 3);
    const json = JSON.parse((await status(file, WITH_KEY, '--json')).out) as JsonStatus;
    expect(json).toMatchObject({ source: 'files', server: null });
  });
});
