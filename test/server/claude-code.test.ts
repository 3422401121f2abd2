import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './stack.js';

/** Claude Code from @anthropic-ai/claude-code: the package ships a native binary (bin/claude.exe). */
const CLAUDE = path.resolve('node_modules/.bin/claude');
const KEY = 'cc-key-0123456789';
let stack: Stack;
let home: string;
let work: string;

beforeAll(async () => {
  if (!existsSync(CLAUDE)) throw new Error(`Claude Code is missing at ${CLAUDE}: run npm ci (it is a dev dependency, @anthropic-ai/claude-code)`);
  // the package ships a 500-byte placeholder that its postinstall replaces with the native binary
  if (statSync(realpathSync(CLAUDE)).size < 100_000) {
    throw new Error('Claude Code\'s native binary is not installed (its postinstall did not run): run `node node_modules/@anthropic-ai/claude-code/install.cjs`, or npm ci without --ignore-scripts');
  }
  stack = await startStack({ apiKeys: [KEY] });
  home = mkdtempSync(path.join(tmpdir(), 'cliproxy-claude-home-'));
  work = mkdtempSync(path.join(tmpdir(), 'cliproxy-claude-work-'));
});
afterAll(async () => {
  await stack?.close();
  for (const dir of [home, work]) if (dir) rmSync(dir, { recursive: true, force: true });
});

function claude(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // a throw-away HOME, only the proxy as API, and any connection to another host sent to a closed local port
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    ANTHROPIC_BASE_URL: stack.url,
    ANTHROPIC_API_KEY: KEY,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    HTTP_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '127.0.0.1,localhost',
  };
  return new Promise((resolve, reject) => {
    const child = spawn(CLAUDE, args, { env, cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('Claude Code through the proxy (offline, sandbox upstream)', () => {
  it('claude -p "Return OK." prints OK', async () => {
    const before = stack.sandbox.stats(stack.accounts[0]!.email).requests;
    const r = await claude(['-p', 'Return OK.']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('OK');
    expect(stack.sandbox.stats(stack.accounts[0]!.email).requests).toBeGreaterThan(before);
  }, 120_000);

  it('a run where the model calls the Bash tool, Claude Code runs it, and the final answer comes back', async () => {
    const command = 'printf cliproxy-tool-ran | tee marker.txt';
    const prompt = `Use Bash ${JSON.stringify({ command, description: 'Write a marker file' })}`;
    const r = await claude(['-p', '--allowedTools', 'Bash', '--', prompt]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // the sandbox answers the tool result with "Tool result: <output>"
    expect(r.stdout.trim()).toBe('Tool result: cliproxy-tool-ran');
    expect(readFileSync(path.join(work, 'marker.txt'), 'utf8')).toBe('cliproxy-tool-ran');
  }, 120_000);
});
