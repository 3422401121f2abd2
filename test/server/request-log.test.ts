/**
 * One JSON line per request with the fields operators need (and the account only as its
 * label), the in-memory tail behind GET /v0/management/logs, usage per account and model
 * (persisted across a restart of a real `serve`), and pretty logs on a terminal only.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { loadConfig } from '../../src/config/load.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { accountLabel } from '../../src/server/metrics.js';
import type { RequestLogLine } from '../../src/server/request-log.js';
import { startServer, type ServerHandle } from '../../src/server/run.js';
import { USAGE_FILE_NAME } from '../../src/server/usage/file-persistence.js';
import { credentialOf, startStack, type Stack } from './stack.js';

const MGMT = 'request-log-mgmt-key-1';
const API_KEY = 'request-log-api-key-1';

type Line = Omit<RequestLogLine, 'time'> & { msg: string; level: number };

function mgmtGet(url: string): Promise<Response> {
  return fetch(url, { headers: { authorization: `Bearer ${MGMT}` } });
}

describe('request log and usage on one server', () => {
  let stack: Stack;
  let logs = '';
  const requestLines = () =>
    logs
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line)
      .filter((l) => l.msg === 'request');

  beforeAll(async () => {
    const stream = new PassThrough();
    stream.on('data', (d: Buffer) => (logs += d.toString('utf8')));
    stack = await startStack({
      accounts: 2,
      apiKeys: [API_KEY],
      logger: { stream },
      configure: (c) => {
        c.management = { secretKey: MGMT, keyFrom: 'env', allowRemote: false };
        c.modelAliases = { 'my-alias': 'gpt-5' };
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('one line per request: method, route, model, account label, status, latency, time to first byte, tokens, retries', async () => {
    const client = new OpenAI({ apiKey: API_KEY, baseURL: `${stack.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: 'my-alias', messages: [{ role: 'user', content: 'Return OK.' }] });
    const stream = await client.chat.completions.create({ model: 'gpt-5', stream: true, messages: [{ role: 'user', content: 'Count to three.' }] });
    for await (const _chunk of stream) void _chunk;
    // the first attempt fails with a 500: the request is retried on the other account
    stack.sandbox.addFault({ kind: 'status', status: 500, times: 1 });
    const r = await client.responses.create({ model: 'gpt-5', input: 'Return OK.' });
    expect(r.status).toBe('completed');
    await fetch(`${stack.url}/v1/models`, { headers: { authorization: 'Bearer not-a-key-00000' } });

    const lines = requestLines().filter((l) => l.route !== '/v1/models' || l.status === 401);
    const labels = stack.accounts.map((a) => accountLabel(a.accountId));
    const [chat, streamed, responses, denied] = lines.slice(-4);
    expect(chat).toMatchObject({ method: 'POST', route: '/v1/chat/completions', url: '/v1/chat/completions', status: 200, model: 'gpt-5', retries: 0 });
    expect(streamed).toMatchObject({ route: '/v1/chat/completions', status: 200, model: 'gpt-5', retries: 0 });
    expect(responses).toMatchObject({ route: '/v1/responses', status: 200, model: 'gpt-5', retries: 1 });
    for (const l of [chat!, streamed!, responses!]) {
      expect(labels).toContain(l.account);
      expect(l.tokensIn).toBeGreaterThan(0);
      expect(l.tokensOut).toBeGreaterThan(0);
      expect(l.ttfbMs).not.toBeNull();
      expect(l.ttfbMs!).toBeLessThanOrEqual(l.latencyMs);
      expect(l.level).toBe(30);
    }
    expect(denied).toMatchObject({ method: 'GET', route: '/v1/models', status: 401, account: null, model: null, tokensIn: null, retries: 0 });
    for (const a of stack.accounts) {
      for (const secret of [a.email, a.accessToken, a.refreshToken, API_KEY, 'not-a-key-00000']) expect(logs).not.toContain(secret);
    }

    // the Anthropic Messages route fills the same fields
    const msg = await fetch(`${stack.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'gpt-5', max_tokens: 100, messages: [{ role: 'user', content: 'Return OK.' }] }),
    });
    expect(msg.status).toBe(200);
    await msg.json();
    const messages = requestLines().at(-1)!;
    expect(messages).toMatchObject({ route: '/v1/messages', status: 200, model: 'gpt-5', retries: 0 });
    expect(labels).toContain(messages.account);
    expect(messages.tokensIn).toBeGreaterThan(0);
  });

  it('GET /v0/management/logs?tail=N returns the last N request lines; management calls stay out of it', async () => {
    const res = await mgmtGet(`${stack.url}/v0/management/logs?tail=3`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { lines: Array<Line & { time: string }>; capacity: number };
    expect(body.capacity).toBe(1000);
    const logged = requestLines().filter((l) => !l.route.startsWith('/v0/management') && l.route !== '/healthz');
    const pick = (l: Line) => [l.method, l.route, l.url, l.status, l.latencyMs, l.ttfbMs, l.model, l.account, l.tokensIn, l.tokensOut, l.retries];
    expect(body.lines.map(pick)).toEqual(logged.slice(-3).map(pick));
    expect(body.lines.every((l) => !Number.isNaN(Date.parse(l.time)))).toBe(true);
    expect(((await (await mgmtGet(`${stack.url}/v0/management/logs?tail=0`)).json()) as { lines: unknown[] }).lines).toEqual([]);
    const bad = await mgmtGet(`${stack.url}/v0/management/logs?tail=lots`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('tail');
  });

  it('GET /v0/management/usage: per account and model over the last hour and day, errors counted, an hourly series', async () => {
    const res = await mgmtGet(`${stack.url}/v0/management/usage`);
    const usage = (await res.json()) as {
      hour: { totals: Record<string, number>; byAccount: Array<{ id: string; email: string }>; byModel: Array<{ model: string; requests: number }>; byAccountAndModel: Array<{ id: string; model: string; requests: number; errors: number }> };
      day: { totals: Record<string, number> };
      hourly: Array<{ start: string; requests: number }>;
    };
    const served = requestLines().filter((l) => l.account !== null);
    expect(usage.hour.totals.requests).toBe(served.length);
    expect(usage.hour.totals.inputTokens).toBe(served.reduce((n, l) => n + (l.tokensIn ?? 0), 0));
    expect(usage.hour.totals.outputTokens).toBe(served.reduce((n, l) => n + (l.tokensOut ?? 0), 0));
    expect(usage.day.totals).toEqual(usage.hour.totals);
    expect(usage.hour.byModel.map((m) => m.model)).toEqual(['gpt-5']);
    for (const row of usage.hour.byAccountAndModel) {
      expect(row.requests).toBe(served.filter((l) => l.account === row.id).length);
    }
    expect(usage.hour.byAccount.every((a) => a.email === 'u***@example.com')).toBe(true);
    expect(usage.hourly).toHaveLength(24);
    expect(usage.hourly.at(-1)!.requests).toBe(served.length);

    // a stream that fails after its first byte is an error of that account
    stack.sandbox.addFault({ kind: 'disconnect', afterEvents: 4, times: 1 });
    const client = new OpenAI({ apiKey: API_KEY, baseURL: `${stack.url}/v1`, maxRetries: 0 });
    const s = await client.chat.completions.create({ model: 'gpt-5', stream: true, messages: [{ role: 'user', content: 'Count to three.' }] });
    await expect(
      (async () => {
        for await (const _chunk of s) void _chunk;
      })(),
    ).rejects.toThrow();
    const after = (await (await mgmtGet(`${stack.url}/v0/management/usage`)).json()) as { hour: { totals: { requests: number; errors: number } } };
    expect(after.hour.totals.requests).toBe(served.length + 1);
    expect(after.hour.totals.errors).toBe(1);
  });
});

describe('usage history across a restart, and log format', () => {
  let sandbox: Sandbox;
  let root: string;
  let server: ServerHandle | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox({ quiet: true });
    root = mkdtempSync(path.join(tmpdir(), 'cliproxy-usage-'));
    const store = new FileAccountStore({ dir: path.join(root, 'auth') });
    const m = sandbox.mintAccount({ email: 'usage@example.com' });
    await store.save(credentialOf(m));
    writeFileSync(
      path.join(root, 'config.yaml'),
      [`port: 0`, `auth-dir: ${JSON.stringify(path.join(root, 'auth'))}`, 'codex:', `  issuer: ${JSON.stringify(sandbox.issuer)}`, `  base-url: ${JSON.stringify(sandbox.baseUrl)}`].join('\n'),
    );
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  afterAll(async () => {
    await sandbox?.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function serve(stderr: PassThrough): Promise<ServerHandle> {
    const config = loadConfig({ flags: { config: path.join(root, 'config.yaml') }, env: { CLIPROXY_MANAGEMENT_KEY: MGMT }, cwd: root });
    server = await startServer(config, { stdout: new PassThrough(), stderr });
    return server;
  }

  it('the counts come back after a restart (cliproxy-usage.json, 0600, not taken for an account file)', async () => {
    const first = await serve(new PassThrough());
    const client = new OpenAI({ apiKey: 'unused-key-0000', baseURL: `${first.url}/v1`, maxRetries: 0 });
    for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'Return OK.' }] });
    const before = (await (await mgmtGet(`${first.url}/v0/management/usage`)).json()) as { day: { totals: { requests: number; outputTokens: number } } };
    expect(before.day.totals.requests).toBe(3);
    await first.close();
    const file = path.join(root, 'auth', USAGE_FILE_NAME);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain('usage@example.com');

    const second = await serve(new PassThrough());
    const after = (await (await mgmtGet(`${second.url}/v0/management/usage`)).json()) as { day: { totals: { requests: number; outputTokens: number } } };
    expect(after.day.totals).toEqual(before.day.totals);
    expect(second.runtime.pool.size().total).toBe(1);
    const listing = await new FileAccountStore({ dir: path.join(root, 'auth') }).list();
    expect(listing.problems).toEqual([]);
  });

  it('JSON lines when the logs go to a pipe, pino-pretty lines on a terminal', async () => {
    let piped = '';
    const pipe = new PassThrough();
    pipe.on('data', (d: Buffer) => (piped += d.toString('utf8')));
    const a = await serve(pipe);
    await fetch(`${a.url}/v1/models`);
    await a.close();
    server = undefined;
    const line = piped.trim().split('\n').map((l) => JSON.parse(l) as { msg: string }).find((l) => l.msg === 'request');
    expect(line).toMatchObject({ route: '/v1/models', status: 200 });

    let pretty = '';
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    tty.on('data', (d: Buffer) => (pretty += d.toString('utf8')));
    const b = await serve(tty);
    await fetch(`${b.url}/v1/models`);
    await b.close();
    server = undefined;
    const plain = stripVTControlCharacters(pretty);
    expect(plain).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: request/m);
    expect(plain).toContain('route: "/v1/models"');
    expect(plain.split('\n').some((l) => l.startsWith('{'))).toBe(false);
  });
});
