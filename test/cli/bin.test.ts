import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, symlinkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { credentialFromTokens } from '../../src/auth/credential-from-tokens.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';

// The installed entry point (bin/cliproxy.js → dist/, the esbuild bundle), under both package bin names.
const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/cliproxy.js');

function run(
  args: string[],
  opts: { closeStdoutAfterFirstChunk?: boolean; env?: Record<string, string>; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: opts.cwd ?? root, env: { PATH: process.env.PATH ?? '', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (opts.closeStdoutAfterFirstChunk) child.stdout.destroy();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bin/cliproxy.js', () => {
  beforeAll(() => {
    // the bin runs the bundle: build it from the current sources (the type check is `npm run lint`'s)
    execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'pipe' });
  }, 120_000);

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('runs with the code cache the build made, and without it when the cache is damaged, made for another bundle or absent', async () => {
    expect((await run(['--version'], { env: { CLIPROXY_CODE_CACHE: 'report' } })).stderr).toBe('code cache: used\n');
    expect((await run(['--version'], { env: { CLIPROXY_CODE_CACHE: 'off' } })).stderr).toBe('');
    // a copy of bin/ and dist/ whose cache is tampered with
    const copy = mkdtempSync(path.join(tmpdir(), 'cliproxy-bin-'));
    try {
      cpSync(path.join(root, 'bin'), path.join(copy, 'bin'), { recursive: true });
      cpSync(path.join(root, 'dist'), path.join(copy, 'dist'), { recursive: true });
      cpSync(path.join(root, 'package.json'), path.join(copy, 'package.json'));
      symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'));
      const copyBin = path.join(copy, 'bin/cliproxy.js');
      const cacheFile = path.join(copy, 'dist/cliproxy.cjs.cache');
      const version = (await run(['--version'])).stdout;
      const runCopy = () => {
        const r = spawnSync(process.execPath, [copyBin, '--version'], { env: { PATH: process.env.PATH ?? '', CLIPROXY_CODE_CACHE: 'report' }, encoding: 'utf8' });
        return { code: r.status, stdout: r.stdout, stderr: r.stderr };
      };
      const cache = readFileSync(cacheFile);
      const damaged = Buffer.from(cache);
      damaged[damaged.length - 100] = damaged[damaged.length - 100]! ^ 0xff;
      writeFileSync(cacheFile, damaged);
      expect(runCopy()).toEqual({ code: 0, stdout: version, stderr: 'code cache: damaged\n' });
      // the bundle changed after the cache was made
      writeFileSync(cacheFile, cache);
      writeFileSync(path.join(copy, 'dist/cliproxy.cjs'), `${readFileSync(path.join(copy, 'dist/cliproxy.cjs'), 'utf8')}\n// changed\n`);
      expect(runCopy()).toEqual({ code: 0, stdout: version, stderr: 'code cache: made for another build\n' });
      rmSync(cacheFile);
      expect(runCopy()).toEqual({ code: 0, stdout: version, stderr: 'code cache: absent\n' });
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('package.json exposes the same program as cliproxy and CLIProxyAPI', async () => {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin.cliproxy).toBe('bin/cliproxy.js');
    expect(pkg.bin.CLIProxyAPI).toBe('bin/cliproxy.js');
  });

  it('--help lists every command, exit 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['serve', 'login', 'status', 'logout', 'exec', 'sandbox', 'demo']) expect(r.stdout).toContain(`  ${cmd}`);
  });

  it('an unknown legacy flag exits 2 with the usage', async () => {
    const r = await run(['-codex-login', '-frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option/);
    expect(r.stderr).toMatch(/Usage: cliproxy login/);
  });

  it('a reader that closes the pipe early does not produce a stack trace', async () => {
    const r = await run(['--help'], { closeStdoutAfterFirstChunk: true });
    expect(r.stderr).not.toMatch(/EPIPE|at .*\(/);
  });
});

/**
 * The bundle end to end: what the sources' tests cover, checked once more on the built files, for
 * what only a bundle can break (a dependency that finds files next to itself, a lazy import or
 * require the bundler missed, a chunk that loads in the wrong order).
 */
describe('the bundle serves', () => {
  let sb: Sandbox;
  let home: string;
  let authDir: string;
  let config: string;
  const KEY = 'bundle-key-0123456789';

  beforeAll(async () => {
    execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'pipe' });
    sb = await startSandbox({ quiet: true });
    home = mkdtempSync(path.join(tmpdir(), 'cliproxy-bundle-'));
    authDir = path.join(home, 'auth');
    const store = new FileAccountStore({ dir: authDir });
    await store.ensureWritable();
    const a = sb.mintAccount({ email: 'bundle@example.com' });
    await store.save(credentialFromTokens({ idToken: a.idToken, accessToken: a.accessToken, refreshToken: a.refreshToken, tokenType: 'Bearer', expiresIn: a.expiresIn }, 'import', Date.now()));
    // a YAML file (yaml is loaded from node_modules), the management API on (a lazy chunk)
    config = path.join(home, 'config.yaml');
    writeFileSync(config, `api-keys:\n  - ${KEY}\nremote-management:\n  secret-key: management-key-0123\n`);
  }, 120_000);
  afterAll(async () => {
    await sb?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const env = () => ({ HOME: home, CLIPROXY_CODEX_ISSUER: sb.url, CLIPROXY_CODEX_BASE_URL: sb.baseUrl });

  it('status lists the account', async () => {
    const r = await run(['status', '--auth-dir', authDir], { env: env(), cwd: home });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('bundle@example.com');
  });

  it('serve answers the OpenAI and Anthropic SDKs, /metrics and the management API, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, 'serve', '--config', config, '--auth-dir', authDir, '--port', '0'], {
      cwd: home,
      env: { PATH: process.env.PATH ?? '', ...env() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(stdout);
          if (m) resolve(m[1]!);
        });
        void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
      });
      const openai = new OpenAI({ apiKey: KEY, baseURL: `${url}/v1`, maxRetries: 0 });
      const models = await openai.models.list();
      expect(models.data.length).toBeGreaterThan(0);
      const model = models.data[0]!.id;

      const stream = await openai.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'Return one two three.' }] });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text.length).toBeGreaterThan(0);

      const response = await openai.responses.create({ model, input: 'Return OK.' });
      expect(response.status).toBe('completed');
      expect(response.output_text.length).toBeGreaterThan(0);

      const anthropic = new Anthropic({ baseURL: url, apiKey: KEY, maxRetries: 0 });
      const message = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Return OK.' }] });
      expect(message.content.length).toBeGreaterThan(0);

      const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('cliproxy_upstream_attempts_total');

      const accounts = await fetch(`${url}/v0/management/accounts`, { headers: { authorization: 'Bearer management-key-0123' } });
      expect(accounts.status).toBe(200);
      const listed = (await accounts.json()) as { accounts: Array<{ email: string; requests: number; successes: number }> };
      // one request each: chat, responses, messages (the catalog fetch is not counted)
      expect(listed.accounts).toMatchObject([{ email: 'b***@example.com', requests: 3, successes: 3 }]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/Error:|at .*\(/);
  });
});
