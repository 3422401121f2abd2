import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { credentialFromTokens } from '../../src/auth/credential-from-tokens.js';
import { main } from '../../src/cli/main.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { captureContext } from '../helpers/cli-context.js';

let sandbox: Sandbox;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  sandbox = await startSandbox({ quiet: true });
  dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-exec-test-'));
  const minted = sandbox.mintAccount({ email: 'exec@example.com' });
  const tokens = { idToken: minted.idToken, accessToken: minted.accessToken, refreshToken: minted.refreshToken, tokenType: 'Bearer', expiresIn: minted.expiresIn };
  await new FileAccountStore({ dir: path.join(dir, 'auth') }).save(credentialFromTokens(tokens, 'device', Date.now()));
  env = { CLIPROXY_AUTH_DIR: path.join(dir, 'auth'), CLIPROXY_CODEX_ISSUER: sandbox.issuer, CLIPROXY_CODEX_BASE_URL: sandbox.baseUrl };
});
afterAll(async () => {
  await sandbox?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function exec(args: string[], stdin?: string) {
  const ctx = captureContext({ env, cwd: dir, stdin });
  const code = await main(['exec', ...args], ctx);
  return { code, out: ctx.out(), err: ctx.err() };
}

describe('cliproxy exec', () => {
  it('prints only the answer, newline-terminated', async () => {
    const r = await exec(['Return OK.']);
    expect(r).toEqual({ code: 0, out: 'OK\n', err: '' });
  });

  it('--stream prints the answer as it arrives', async () => {
    const r = await exec(['--stream', 'Return one two three.']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('one two three\n');
  });

  it('--json prints the whole chat completion', async () => {
    const r = await exec(['--json', '-m', 'gpt-5', 'Return OK.']);
    expect(r.code).toBe(0);
    const completion = JSON.parse(r.out) as { object: string; model: string; choices: { message: { content: string } }[] };
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('gpt-5');
    expect(completion.choices[0]!.message.content).toBe('OK');
  });

  it('"-" reads the prompt from stdin', async () => {
    const r = await exec(['-'], 'Return from stdin.');
    expect(r.out).toBe('from stdin\n');
  });

  it('an unknown model exits 1 with the message on stderr and nothing on stdout', async () => {
    const r = await exec(['-m', 'gpt-nope', 'Return OK.']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    // the backend's own refusal, then what the list offers
    expect(r.err).toMatch(/The 'gpt-nope' model is not supported when using Codex with a ChatGPT account\..*Available models: .*gpt-5-codex/);
  });

  it('an upstream death mid-stream exits 1 with the error on stderr', async () => {
    sandbox.addFault({ kind: 'disconnect', afterEvents: 6 });
    const r = await exec(['--stream', 'Return alpha beta gamma delta epsilon zeta eta theta.']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error: .*stream/i);
  });

  it('without accounts it says how to add one', async () => {
    const ctx = captureContext({ env: { ...env, CLIPROXY_AUTH_DIR: path.join(dir, 'empty') }, cwd: dir });
    const code = await main(['exec', 'Return OK.'], ctx);
    expect(code).toBe(1);
    expect(ctx.err()).toContain('cliproxy login');
    expect(ctx.out()).toBe('');
  });
});
