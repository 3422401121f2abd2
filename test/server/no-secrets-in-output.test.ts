/**
 * A real `cliproxy serve` child process at debug level goes through a login, a refresh, chats
 * (plain, streamed, Responses), failures of every kind and every management call; then all it
 * printed (stdout and stderr) is searched for every token, code and key the sandbox issued or
 * the test set. Zero hits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { credentialOf } from './stack.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';

const API_KEY = 'leak-test-api-key-0001';
const NEW_API_KEY = 'leak-test-api-key-0002';
const MGMT = 'leak-test-management-key-1';
const ROOT_DIR = path.resolve(import.meta.dirname, '../..');

let sandbox: Sandbox;
let dir: string;
let child: ChildProcess;
let output = '';
let url = '';

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}; output so far:\n${output.slice(-2000)}`);
}

function mgmt(method: string, p: string, body?: unknown, key = MGMT): Promise<Response> {
  return fetch(`${url}/v0/management${p}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

beforeAll(async () => {
  sandbox = await startSandbox({ quiet: true, deviceIntervalSeconds: 1 });
  dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-leak-'));
  const store = new FileAccountStore({ dir: path.join(dir, 'auth') });
  const m = sandbox.mintAccount({ email: 'leak@example.com' });
  await store.save(credentialOf(m));
  writeFileSync(
    path.join(dir, 'config.yaml'),
    [
      'host: 127.0.0.1',
      'port: 0',
      'debug: true',
      `auth-dir: ${JSON.stringify(path.join(dir, 'auth'))}`,
      `api-keys: [${API_KEY}]`,
      'cooldown:',
      '  transient-seconds: 0',
      'codex:',
      `  issuer: ${JSON.stringify(sandbox.issuer)}`,
      `  base-url: ${JSON.stringify(sandbox.baseUrl)}`,
      'remote-management:',
      `  secret-key: ${MGMT}`,
    ].join('\n'),
  );
  const tsx = pathToFileURL(path.join(ROOT_DIR, 'node_modules/tsx/dist/loader.mjs')).href;
  child = spawn(process.execPath, ['--import', tsx, path.join(ROOT_DIR, 'test/support/run-cli.ts'), 'serve', '--config', path.join(dir, 'config.yaml')], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString('utf8')));
  url = await until('the server to listen', () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1]);
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
  }
  await sandbox?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('everything a debug-level server prints', () => {
  it('holds no token, code or key', async () => {
    const client = new OpenAI({ apiKey: API_KEY, baseURL: `${url}/v1`, maxRetries: 0 });
    const chat = () => client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'Return OK.' }] });

    // login through the management API (device code, approved in the sandbox)
    expect((await mgmt('GET', '/accounts')).status).toBe(200);
    const login = (await (await mgmt('POST', '/logins', { method: 'device' })).json()) as { id: string; user_code: string };
    sandbox.approveDevice(login.user_code, { email: 'second@example.com' });
    await until('the device login', async () => ((await (await mgmt('GET', `/logins/${login.id}`)).json()) as { status: string }).status === 'done' || undefined);

    // chats: plain, streamed, Responses, models
    await chat();
    const stream = await client.chat.completions.create({ model: 'gpt-5', stream: true, messages: [{ role: 'user', content: 'Count to three.' }] });
    for await (const _c of stream) void _c;
    await client.responses.create({ model: 'gpt-5', input: 'Return OK.' });
    await client.models.list();

    // refresh: every access token is refused once, the pool refreshes and retries
    const refreshesBefore = sandbox.stats().refreshes;
    sandbox.expireAccessTokens();
    await chat();
    expect(sandbox.stats().refreshes).toBeGreaterThan(refreshesBefore);

    // failures
    await expect(new OpenAI({ apiKey: 'wrong-api-key-000000', baseURL: `${url}/v1`, maxRetries: 0 }).models.list()).rejects.toMatchObject({ status: 401 });
    await expect(client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 404 });
    expect((await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: `{"api_key": "${API_KEY}",` })).status).toBe(400);
    sandbox.addFault({ kind: 'status', status: 500, times: 2 }); // one per account
    await expect(chat()).rejects.toMatchObject({ status: 502 });
    sandbox.addFault({ kind: 'disconnect', afterEvents: 3, times: 1 });
    const broken = await client.chat.completions.create({ model: 'gpt-5', stream: true, messages: [{ role: 'user', content: 'Count to three.' }] });
    await expect((async () => { for await (const _c of broken) void _c; })()).rejects.toThrow();
    expect((await mgmt('GET', '/accounts', undefined, 'wrong-management-key')).status).toBe(401);

    // every other management call
    const accounts = ((await (await mgmt('GET', '/accounts')).json()) as { accounts: Array<{ id: string }> }).accounts;
    expect(accounts).toHaveLength(2);
    expect((await mgmt('POST', `/accounts/${accounts[0]!.id}/disable`)).status).toBe(200);
    expect((await mgmt('POST', `/accounts/${accounts[0]!.id}/enable`)).status).toBe(200);
    expect((await mgmt('GET', '/usage')).status).toBe(200);
    expect((await mgmt('GET', '/logs?tail=20')).status).toBe(200);
    const config = (await (await mgmt('GET', '/config')).json()) as { document: Record<string, unknown> };
    const put = await mgmt('PUT', '/config', { ...config.document, 'api-keys': [...(config.document['api-keys'] as string[]), NEW_API_KEY] });
    expect(put.status).toBe(200);
    const browserLogin = (await (await mgmt('POST', '/logins', { method: 'browser', port: 0 })).json()) as { id: string };
    expect((await mgmt('DELETE', `/logins/${browserLogin.id}`)).status).toBe(200);
    expect((await mgmt('DELETE', `/accounts/${accounts[1]!.id}`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    child.kill('SIGTERM');
    await until('the server to exit', () => (child.exitCode !== null ? true : undefined));

    expect(output).toContain('"level":20');
    expect(output).toContain('config reloaded: api-keys applied');
    const secrets = [...sandbox.issuedSecrets(), API_KEY, NEW_API_KEY, MGMT, 'wrong-api-key-000000', 'wrong-management-key'];
    expect(secrets.length).toBeGreaterThan(15);
    const hits = secrets.filter((s) => output.includes(s));
    expect(hits).toEqual([]);
    // the plain management key left the config file too
    expect(readFileSync(path.join(dir, 'config.yaml'), 'utf8')).not.toContain(MGMT);
  }, 60_000);
});
