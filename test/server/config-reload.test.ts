/**
 * Config hot reload on a real `serve` (startServer with the command's config loader): edits of
 * config.yaml apply api-keys, model-aliases, routing, request-retry and debug live (a stream in
 * flight keeps going), invalid edits keep the running config and log the key path, restart-only
 * keys say so, rapid edits are debounced; PUT /v0/management/config takes the same path.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { loadConfig } from '../../src/config/load.js';
import type { ConfigFile } from '../../src/config/schema.js';
import { credentialOf } from './stack.js';
import { startSandbox, type MintedAccount, type Sandbox } from '../../src/sandbox/index.js';
import { startServer, type ServerHandle } from '../../src/server/run.js';

const K1 = 'reload-key-one-0001';
const K2 = 'reload-key-two-0002';
const MGMT = 'reload-mgmt-key-0001';

let sandbox: Sandbox;
let root: string;
let file: string;
let accounts: MintedAccount[];
let server: ServerHandle | undefined;
let logs = '';

interface LogLine {
  level: number;
  msg: string;
  keys?: string[];
  issues?: Array<{ key: string; reason: string }>;
}

const logLines = (): LogLine[] =>
  logs
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LogLine);

function writeConfig(extra: string[], port = 0, transientSeconds = 0): void {
  const lines = [
    `port: ${port}`,
    `auth-dir: ${JSON.stringify(path.join(root, 'auth'))}`,
    'codex:',
    `  issuer: ${JSON.stringify(sandbox.issuer)}`,
    `  base-url: ${JSON.stringify(sandbox.baseUrl)}`,
    'cooldown:',
    `  transient-seconds: ${transientSeconds}`,
    ...extra,
  ];
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o640 });
}

async function serve(): Promise<ServerHandle> {
  logs = '';
  const stderr = new PassThrough();
  stderr.on('data', (d: Buffer) => (logs += d.toString('utf8')));
  const env = { CLIPROXY_MANAGEMENT_KEY: MGMT };
  const load = (fileContent?: ConfigFile) => loadConfig({ flags: { config: file }, env, cwd: root, fileContent });
  server = await startServer(load(), { stdout: new PassThrough(), stderr, configSource: { load }, reloadDebounceMs: 50 });
  return server;
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function status(url: string, key: string, body?: object): Promise<number> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body ?? { model: 'gpt-5', messages: [{ role: 'user', content: 'Return OK.' }] }),
  });
  await res.arrayBuffer();
  return res.status;
}

beforeAll(async () => {
  sandbox = await startSandbox({ quiet: true });
  root = mkdtempSync(path.join(tmpdir(), 'cliproxy-reload-'));
  file = path.join(root, 'config.yaml');
  const store = new FileAccountStore({ dir: path.join(root, 'auth') });
  accounts = [sandbox.mintAccount({ email: 'first@example.com' }), sandbox.mintAccount({ email: 'second@example.com' })];
  for (const m of accounts) {
    await store.save(credentialOf(m));
  }
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});
afterAll(async () => {
  await sandbox?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('editing config.yaml while serving', () => {
  it('api-keys apply live without breaking a stream in flight', async () => {
    writeConfig([`api-keys: [${K1}]`]);
    const s = await serve();
    expect(await status(s.url, K1)).toBe(200);

    // a slow stream opened with K1 …
    sandbox.addFault({ kind: 'slow', delayMs: 60, times: 1 });
    const client = new OpenAI({ apiKey: K1, baseURL: `${s.url}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gpt-5', stream: true, messages: [{ role: 'user', content: 'Count to five.' }] });
    const collected = (async () => {
      let text = '';
      let finish: string | null = null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      return { text, finish };
    })();
    // … while K1 is replaced by K2
    writeConfig([`api-keys: [${K2}]`]);
    await until('K1 to be refused', async () => (await status(s.url, K1)) === 401);
    expect(await status(s.url, K2)).toBe(200);
    const done = await collected;
    expect(done.finish).toBe('stop');
    expect(done.text.length).toBeGreaterThan(0);
    const reloaded = logLines().filter((l) => l.msg.startsWith('config reloaded'));
    expect(reloaded.at(-1)).toMatchObject({ level: 30, keys: ['api-keys'], msg: 'config reloaded: api-keys applied' });
    for (const k of [K1, K2]) expect(logs).not.toContain(k);
  });

  it('model-aliases, routing, request-retry and debug apply live; rapid edits are one reload', async () => {
    writeConfig(['request-retry: 0', 'routing:', '  strategy: round-robin', '  session-affinity: false']);
    const s = await serve();
    const ask = (model: string) => status(s.url, 'unused', { model, messages: [{ role: 'user', content: 'Return OK.' }] });
    expect(await ask('my-model')).toBe(404);
    // with request-retry 0 a 500 on the first attempt is the client's 502
    sandbox.addFault({ kind: 'status', status: 500, times: 1 });
    expect(await ask('gpt-5')).toBe(502);

    const before = logLines().filter((l) => l.msg.startsWith('config reloaded')).length;
    writeConfig(['request-retry: 0', 'routing:', '  strategy: round-robin', '  session-affinity: false', 'model-aliases:', '  my-model: gpt-5']);
    writeConfig(['request-retry: 2', 'routing:', '  strategy: round-robin', '  session-affinity: false', 'model-aliases:', '  my-model: gpt-5']);
    writeConfig(['request-retry: 2', 'debug: true', 'routing:', '  strategy: fill-first', '  session-affinity: false', 'model-aliases:', '  my-model: gpt-5']);
    await until('the reload', () => logLines().filter((l) => l.msg.startsWith('config reloaded')).length > before);
    await new Promise((r) => setTimeout(r, 200));
    const reloads = logLines().filter((l) => l.msg.startsWith('config reloaded')).slice(before);
    expect(reloads).toHaveLength(1);
    expect(reloads[0]!.keys!.sort()).toEqual(['debug', 'model-aliases', 'request-retry', 'routing']);

    expect(await ask('my-model')).toBe(200);
    sandbox.addFault({ kind: 'status', status: 500, times: 1 });
    expect(await ask('gpt-5')).toBe(200);
    // fill-first: every request goes to the first account
    sandbox.resetStats();
    for (let i = 0; i < 4; i++) expect(await ask('gpt-5')).toBe(200);
    expect(sandbox.stats(accounts[0]!.accountId).requests).toBe(4);
    // debug: /healthz request lines are logged at debug level now
    await fetch(`${s.url}/healthz`);
    expect(logLines().some((l) => l.level === 20 && l.msg === 'request')).toBe(true);

    // cooldown: a 500 now rests the account for 60 s, so fill-first moves on to the second one
    const reloadsBefore = logLines().filter((l) => l.msg.startsWith('config reloaded')).length;
    writeConfig(['request-retry: 2', 'debug: true', 'routing:', '  strategy: fill-first', '  session-affinity: false', 'model-aliases:', '  my-model: gpt-5'], 0, 60);
    await until('the cooldown reload', () => logLines().filter((l) => l.msg.startsWith('config reloaded')).length > reloadsBefore);
    expect(logLines().filter((l) => l.msg.startsWith('config reloaded')).at(-1)!.keys).toEqual(['cooldown']);
    sandbox.addFault({ kind: 'status', status: 500, times: 1 });
    expect(await ask('gpt-5')).toBe(200);
    const first = s.runtime.pool.snapshot().find((a) => a.accountId === accounts[0]!.accountId)!;
    expect(first.state).toBe('cooling');
    expect(first.cooldownUntil! - Date.now()).toBeGreaterThan(50_000);
    sandbox.resetStats();
    for (let i = 0; i < 2; i++) expect(await ask('gpt-5')).toBe(200);
    expect(sandbox.stats(accounts[1]!.accountId).requests).toBe(2);
  });

  it('an invalid edit keeps the running config and logs the key path and reason; restart-only keys say so', async () => {
    writeConfig([`api-keys: [${K1}]`]);
    const s = await serve();
    writeConfig([`api-keys: [${K2}]`, 'routing:', '  strategy: fastest-first']);
    await until('the rejection', () => logLines().some((l) => l.msg.startsWith('config change rejected')));
    const rejected = logLines().find((l) => l.msg.startsWith('config change rejected'))!;
    expect(rejected.level).toBe(50);
    expect(rejected.issues).toEqual([{ key: 'routing.strategy', reason: expect.stringContaining('round-robin') }]);
    expect(rejected.msg).toContain('routing.strategy: ');
    expect(await status(s.url, K1)).toBe(200);
    expect(await status(s.url, K2)).toBe(401);

    writeConfig([`api-keys: [${K1}]`, 'host: 127.0.0.2', 'store:', '  type: file'], 1);
    await until('the restart notice', () => logLines().some((l) => l.msg.startsWith('config change needs a restart')));
    const notice = logLines().find((l) => l.msg.startsWith('config change needs a restart'))!;
    expect(notice).toMatchObject({ level: 40, keys: ['host', 'port'], msg: 'config change needs a restart to take effect: host, port' });
    expect(await status(s.url, K1)).toBe(200);
    for (const k of [K1, K2]) expect(logs).not.toContain(k);
  });
});

describe('GET / PUT /v0/management/config', () => {
  const mgmt = (url: string, init: RequestInit = {}) =>
    fetch(`${url}/v0/management/config`, { ...init, headers: { authorization: `Bearer ${MGMT}`, 'content-type': 'application/json' } });

  it('the store encryption key is masked like the other secrets, and a PUT of the masked document keeps it', async () => {
    const ENC = 'reload-store-passphrase-0001';
    writeConfig([`api-keys: [${K1}]`, 'store:', `  encryption-key: ${ENC}`]);
    const s = await serve();
    const text = await (await mgmt(s.url)).text();
    expect(text).not.toContain(ENC);
    const view = JSON.parse(text) as { document: { store: Record<string, string> }; running: { store: { encryptionKey: string } } };
    expect(view.running.store.encryptionKey).toMatch(/^\[redacted:[0-9a-f]{8}\]$/);
    expect(view.document.store['encryption-key']).toBe(view.running.store.encryptionKey);
    const put = await mgmt(s.url, { method: 'PUT', body: JSON.stringify(view.document) });
    expect(put.status).toBe(200);
    expect(readFileSync(file, 'utf8')).toContain(ENC);
    expect(logs).not.toContain(ENC);
  });

  it('GET masks the secrets; PUT validates, writes atomically (same mode) and applies live; placeholders keep their values', async () => {
    writeConfig([`api-keys: [${K1}]`]);
    const s = await serve();
    const got = await mgmt(s.url);
    const text = await got.text();
    expect(text).not.toContain(K1);
    expect(text).not.toContain(MGMT);
    const view = JSON.parse(text) as { file: string; document: Record<string, unknown>; running: { apiKeys: string[]; management: { secretKey: string } }; liveKeys: string[] };
    expect(view.file).toBe(file);
    expect(view.running.apiKeys).toEqual([expect.stringMatching(/^\[redacted:[0-9a-f]{8}\]$/)]);
    expect(view.document['api-keys']).toEqual(view.running.apiKeys);
    expect(view.running.management.secretKey).toBe('[redacted]');
    expect(view.liveKeys).toEqual(['api-keys', 'routing', 'model-aliases', 'claude-models', 'request-retry', 'cooldown', 'debug']);

    // invalid: 400 with the key path, nothing written
    const before = readFileSync(file, 'utf8');
    const bad = await mgmt(s.url, { method: 'PUT', body: JSON.stringify({ ...view.document, 'request-retry': 'many' }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_config', param: 'request-retry' } });
    expect(readFileSync(file, 'utf8')).toBe(before);
    const unknown = await mgmt(s.url, { method: 'PUT', body: JSON.stringify({ ...view.document, 'api-keys': ['[redacted:00000000]'] }) });
    expect(unknown.status).toBe(400);

    const put = await mgmt(s.url, { method: 'PUT', body: JSON.stringify({ ...view.document, 'api-keys': [...(view.document['api-keys'] as string[]), K2], 'model-aliases': { fast: 'gpt-5' } }) });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ applied: ['api-keys', 'model-aliases'], restartRequired: [] });
    const written = readFileSync(file, 'utf8');
    expect(written).toContain(K1);
    expect(written).toContain(K2);
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(await status(s.url, K2, { model: 'fast', messages: [{ role: 'user', content: 'Return OK.' }] })).toBe(200);
    expect(await status(s.url, K1)).toBe(200);
  });

  it('PUT is a 409 when the server runs without a config file', async () => {
    const load = () => loadConfig({ flags: { authDir: path.join(root, 'auth'), port: 0 }, env: { CLIPROXY_MANAGEMENT_KEY: MGMT, CLIPROXY_CODEX_ISSUER: sandbox.issuer, CLIPROXY_CODEX_BASE_URL: sandbox.baseUrl }, cwd: root + '/auth' });
    server = await startServer(load(), { stdout: new PassThrough(), stderr: new PassThrough(), configSource: { load }, logs: false });
    const res = await mgmt(server.url, { method: 'PUT', body: '{}' });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('no_config_file');
    expect(((await (await mgmt(server.url)).json()) as { file: string | null }).file).toBeNull();
  });
});
