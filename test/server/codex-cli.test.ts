import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

const CODEX = path.resolve('node_modules/.bin/codex');
const KEY = 'px-key-0123456789';
let stack: Stack;
let home: string;

beforeAll(async () => {
  stack = await startStack({ apiKeys: [KEY] });
  home = mkdtempSync(path.join(tmpdir(), 'cliproxy-codex-home-'));
});
afterAll(async () => {
  await stack?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

function codexExec(baseUrl: string, prompt: string, key: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = [
    'exec', '--skip-git-repo-check', '-m', 'gpt-5-codex',
    '-c', 'model_provider=px',
    '-c', 'model_providers.px.name="px"',
    '-c', `model_providers.px.base_url="${baseUrl}"`,
    '-c', 'model_providers.px.wire_api="responses"',
    '-c', 'model_providers.px.env_key="PX_KEY"',
    '-c', 'model_providers.px.supports_websockets=false',
    '-c', 'model_providers.px.request_max_retries=0',
    '-c', 'model_providers.px.stream_max_retries=0',
    // keep codex's own ChatGPT calls (plugins, usage, analytics) on the sandbox: the test is offline
    '-c', `chatgpt_base_url="${stack.sandbox.url}/backend-api/"`,
    prompt,
  ];
  // any connection to another host goes to a closed local port and fails at once
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    CODEX_HOME: home,
    PX_KEY: key,
    HTTPS_PROXY: 'http://127.0.0.1:9',
    HTTP_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '127.0.0.1,localhost',
  };
  return new Promise((resolve, reject) => {
    const child = spawn(CODEX, args, { env, cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the official Codex CLI through the proxy', () => {
  it('codex exec "Return OK." prints OK (base_url = the proxy /v1)', { timeout: 90_000 }, async () => {
    const r = await codexExec(`${stack.url}/v1`, 'Return OK.', KEY);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('OK');
  });

  it("reaches the backend with its own session headers, cliproxy's identity and the tested client version", { timeout: 90_000 }, async () => {
    stack.sandbox.clearRequests();
    const r = await codexExec(`${stack.url}/v1`, 'Return headers.', KEY);
    expect(r.code, r.stderr).toBe(0);
    const sent = stack.sandbox.requests().filter((x) => x.path.endsWith('/responses')).at(-1)!;
    const body = sent.body as { prompt_cache_key?: string };
    expect(sent.headers['session-id']).toBe(body.prompt_cache_key);
    expect(sent.headers['thread-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent.headers['x-client-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent.headers['x-codex-window-id']).toMatch(/^[0-9a-f-]{36}:\d+$/);
    expect(JSON.parse(sent.headers['x-codex-turn-metadata']!)).toMatchObject({ session_id: body.prompt_cache_key });
    expect(sent.headers['version']).toBe(stack.config.codex.clientVersion);
    expect(sent.headers['originator']).toBe('codex_cli_rs');
    expect(sent.headers).not.toHaveProperty('session_id');
  });

  it('also works with base_url = the proxy /backend-api/codex', { timeout: 90_000 }, async () => {
    const r = await codexExec(`${stack.url}/backend-api/codex`, 'Return fine.', KEY);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('fine');
  });

  it('fails without the right proxy key', { timeout: 90_000 }, async () => {
    const r = await codexExec(`${stack.url}/v1`, 'Return OK.', 'wrong-key-0123456');
    expect(r.code).not.toBe(0);
    expect(r.stdout.trim()).not.toBe('OK');
  });
});
