import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { accountFileName } from '../../src/accounts/file-store.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { fakeCli } from '../auth/cli-context.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ quiet: true, deviceIntervalSeconds: 1 });
});
afterAll(async () => {
  await sandbox.close();
});
afterEach(() => sandbox.setAutoApprove(false));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function authDir(): Promise<string> {
  return path.join(await mkdtemp(path.join(tmpdir(), 'cli-login-')), 'auth');
}

const env = () => ({ CLIPROXY_CODEX_ISSUER: sandbox.issuer });

describe('cliproxy login (browser)', () => {
  it('legacy flags: -codex-login -no-browser -oauth-callback-port N -auth-dir D', async () => {
    sandbox.setAutoApprove(true);
    sandbox.queueAccount({ email: 'legacy@example.com', accountId: 'acc-legacy', plan: 'plus' });
    const dir = await authDir();
    const port = await freePort();
    const cli = await fakeCli({ env: env() });
    const run = cli.run(['-codex-login', '-no-browser', '-oauth-callback-port', String(port), '-auth-dir', dir]);
    const url = (await cli.stdout.waitFor(/(http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\?\S+)/))[1]!;
    expect(new URL(url).searchParams.get('redirect_uri')).toBe(`http://localhost:${port}/auth/callback`);
    expect(new URL(url).searchParams.get('originator')).toBe('codex_cli_rs');
    const page = await fetch(url);
    expect(new URL(page.url).pathname).toBe('/success');
    expect(await run).toBe(0);
    const file = path.join(dir, accountFileName('legacy@example.com', 'acc-legacy'));
    expect(cli.stdout.text()).toBe(`Open this URL in a browser to sign in:\n\n${url}\n\nAuthentication saved to ${file}\nCodex authentication successful!\n`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(saved).toMatchObject({ type: 'codex', email: 'legacy@example.com', account_id: 'acc-legacy', plan_type: 'plus', auth_method: 'oauth', disabled: false });
    expect(saved.pkce).toEqual({ method: 'S256', challenge: new URL(url).searchParams.get('code_challenge') });
    expect(cli.stderr.text()).toContain(`Waiting for the sign-in callback on http://localhost:${port}/auth/callback (timeout 300 s).`);
  });

  it('opens the browser through the seam, and the same account twice leaves one file', async () => {
    sandbox.setAutoApprove(true);
    const dir = await authDir();
    const opened: string[] = [];
    for (let i = 0; i < 2; i++) {
      sandbox.queueAccount({ email: 'twice@example.com', accountId: 'acc-twice', plan: i === 0 ? 'plus' : 'pro' });
      const cli = await fakeCli({
        env: env(),
        seams: {
          openBrowser: async (u) => {
            opened.push(u);
            await fetch(u);
          },
        },
      });
      expect(await cli.run(['login', '--oauth-callback-port', String(await freePort()), '--auth-dir', dir])).toBe(0);
      expect(cli.stdout.text()).toMatch(/Codex authentication successful!\n$/);
    }
    expect(opened).toHaveLength(2);
    expect(await readdir(dir)).toEqual([accountFileName('twice@example.com', 'acc-twice')]);
    const saved = JSON.parse(await readFile(path.join(dir, accountFileName('twice@example.com', 'acc-twice')), 'utf8')) as { plan_type: string };
    expect(saved.plan_type).toBe('pro');
  });

  it('signing in again to an account kept in a CLIProxyAPI file rewrites that file; a corrupt file is left alone', async () => {
    sandbox.setAutoApprove(true);
    const dir = await authDir();
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const goFile = path.join(dir, 'codex-5e1f0a2b-go@example.com-plus.json');
    const old = sandbox.mintAccount({ email: 'go@example.com', accountId: 'acc-go-cli', plan: 'plus' });
    await writeFile(
      goFile,
      JSON.stringify({ type: 'codex', id_token: old.idToken, access_token: old.accessToken, refresh_token: old.refreshToken, account_id: 'acc-go-cli', email: 'go@example.com', expired: '2030-01-01T00:00:00Z', last_refresh: '2026-01-01T00:00:00Z', note: 'from CLIProxyAPI' }),
      { mode: 0o600 },
    );
    const corrupt = path.join(dir, 'codex-broken.json');
    await writeFile(corrupt, '{"type":"codex",', { mode: 0o600 });
    const corruptBefore = await readFile(corrupt);
    sandbox.queueAccount({ email: 'go@example.com', accountId: 'acc-go-cli', plan: 'pro' });
    const cli = await fakeCli({ env: env(), seams: { openBrowser: async (u) => void (await fetch(u)) } });
    expect(await cli.run(['-codex-login', '-oauth-callback-port', String(await freePort()), '-auth-dir', dir])).toBe(0);
    expect(cli.stdout.text()).toContain(`Authentication saved to ${goFile}\nCodex authentication successful!\n`);
    expect((await readdir(dir)).sort()).toEqual(['codex-5e1f0a2b-go@example.com-plus.json', 'codex-broken.json']);
    const saved = JSON.parse(await readFile(goFile, 'utf8')) as Record<string, unknown>;
    expect(saved).toMatchObject({ plan_type: 'pro', auth_method: 'oauth', note: 'from CLIProxyAPI' });
    expect(saved.refresh_token).not.toBe(old.refreshToken);
    expect(await readFile(corrupt)).toEqual(corruptBefore);
  });

  it('port in use: exit 1 with the -oauth-callback-port hint, nothing printed on stdout', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const cli = await fakeCli({ env: env() });
    const code = await cli.run(['-codex-login', '-no-browser', '-oauth-callback-port', String(port), '-auth-dir', await authDir()]);
    blocker.close();
    expect(code).toBe(1);
    expect(cli.stderr.text()).toBe(`Port ${port} is already in use. Run again with -oauth-callback-port <free port> (or --oauth-callback-port).\n`);
    expect(cli.stdout.text()).toBe('');
  });

  it('callback timeout (--timeout 1)', async () => {
    const port = await freePort();
    const cli = await fakeCli({ env: env() });
    const code = await cli.run(['login', '--no-browser', '--timeout', '1', '--oauth-callback-port', String(port), '--auth-dir', await authDir()]);
    expect(code).toBe(1);
    expect(cli.stderr.text()).toContain(`Callback timeout: no sign-in callback reached http://localhost:${port}/auth/callback within 1 s.`);
    expect(cli.stderr.text()).toContain(`check that no firewall blocks 127.0.0.1:${port}`);
  });

  it('a pasted redirect URL on stdin completes the login', async () => {
    sandbox.setAutoApprove(true);
    const dir = await authDir();
    const cli = await fakeCli({ env: env() });
    const run = cli.run(['login', '--no-browser', '--oauth-callback-port', String(await freePort()), '--auth-dir', dir]);
    const url = (await cli.stdout.waitFor(/(http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\?\S+)/))[1]!;
    const res = await fetch(url, { redirect: 'manual' });
    cli.stdin.write(`${res.headers.get('location')}\n`);
    expect(await run).toBe(0);
    expect(cli.stdout.text()).toMatch(/Authentication saved to .*\.json\nCodex authentication successful!\n$/);
  });

  it('PKCE verification failed: a proxy that rewrites the verifier gets the issuer error and the hint', async () => {
    sandbox.setAutoApprove(true);
    const tampering: typeof fetch = async (input, init) => {
      if (String(input).endsWith('/oauth/token') && typeof init?.body === 'string') {
        const body = new URLSearchParams(init.body);
        body.set('code_verifier', 'x'.repeat(86));
        init = { ...init, body: body.toString() };
      }
      return fetch(input, init);
    };
    const dir = await authDir();
    const cli = await fakeCli({ env: env(), seams: { fetch: tampering, openBrowser: async (u) => void (await fetch(u)) } });
    const code = await cli.run(['-codex-login', '-oauth-callback-port', String(await freePort()), '-auth-dir', dir]);
    expect(code).toBe(1);
    expect(cli.stderr.text()).toContain(
      'Authentication failed: Token exchange failed (HTTP 400 invalid_grant): PKCE verification failed: code_verifier does not match code_challenge\n' +
        'PKCE verification failed: the code_verifier sent with the code did not match the code_challenge of the sign-in URL.',
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('Ctrl-C while waiting for the callback: exit 130', async () => {
    const cli = await fakeCli({ env: env() });
    const run = cli.run(['login', '--no-browser', '--oauth-callback-port', String(await freePort()), '--auth-dir', await authDir()]);
    await cli.stdout.waitFor(/oauth\/authorize/);
    cli.interrupt();
    expect(await run).toBe(130);
    expect(cli.stderr.text()).toMatch(/Login cancelled\.\n$/);
  });

  it('an auth dir that cannot be written fails before the sign-in starts (ENOTDIR)', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'cli-login-'));
    await writeFile(path.join(base, 'file'), 'x');
    const dir = path.join(base, 'file', 'auth');
    const cli = await fakeCli({ env: env() });
    expect(await cli.run(['-codex-login', '-no-browser', '-auth-dir', dir])).toBe(1);
    expect(cli.stderr.text()).toBe(
      `Cannot create the auth directory ${dir} (ENOTDIR: a parent path is not a directory). Fix: mkdir -p ${dir} && chmod 700 ${dir} (it must be owned by the user running cliproxy: chown $(id -un) ${dir}), or choose another directory with -auth-dir.\n`,
    );
    expect(cli.stdout.text()).toBe('');
  });

  it('permission denied on the auth dir (chmod 500, run as an unprivileged user)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cli-perm-'));
    await chmod(dir, 0o500);
    const argv = ['-codex-device-login', '-auth-dir', dir];
    const asRoot = process.getuid?.() === 0;
    // As root, load every module first (the checkout may sit in a directory only root can
    // enter), then drop to nobody before the command touches the auth dir.
    const script = `import { main, loadCommands } from './src/cli/main.ts';
      await import('open');
      const commands = await loadCommands();
      ${asRoot ? 'process.setgid(65534); process.setuid(65534);' : ''}
      process.exitCode = await main(${JSON.stringify(argv)}, undefined, commands);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { ...process.env, HOME: '/tmp', CLIPROXY_CODEX_ISSUER: sandbox.issuer },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    await chmod(dir, 0o700);
    expect(out).toBe('');
    expect(err).toContain(`Cannot write to the auth directory ${dir} (EACCES: permission denied). Fix: mkdir -p ${dir} && chmod 700 ${dir}`);
    expect(code).toBe(1);
  });
});

describe('cliproxy login --device-auth', () => {
  it('legacy -codex-device-login: exact lines, exit 0, file saved', async () => {
    sandbox.setAutoApprove(true);
    sandbox.queueAccount({ email: 'dev@example.com', accountId: 'acc-dev', plan: 'team' });
    const dir = await authDir();
    const cli = await fakeCli({ env: env() });
    expect(await cli.run(['-codex-device-login', '-auth-dir', dir])).toBe(0);
    const code = /Enter this code: (\S+)/.exec(cli.stdout.text())![1]!;
    const file = path.join(dir, accountFileName('dev@example.com', 'acc-dev'));
    expect(cli.stdout.text()).toBe(
      `Please visit: ${sandbox.issuer}/codex/device\nEnter this code: ${code}\nWaiting for authorization...\n` +
        `Authentication saved to ${file}\nCodex device authentication successful!\n`,
    );
    expect(cli.stdout.text().split(code)).toHaveLength(2); // printed exactly once
    expect(cli.stderr.text()).toBe('');
    const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(saved).toMatchObject({ auth_method: 'device', plan_type: 'team', account_id: 'acc-dev' });
    expect(JSON.stringify(saved)).not.toContain(code);
  });

  it('manual approval through the new form', async () => {
    const dir = await authDir();
    const cli = await fakeCli({ env: env() });
    const run = cli.run(['login', '--device-auth', '--auth-dir', dir]);
    const code = (await cli.stdout.waitFor(/Enter this code: (\S+)\n/))[1]!;
    sandbox.approveDevice(code, { email: 'approved@example.com' });
    expect(await run).toBe(0);
    expect(cli.stdout.text()).toMatch(/Codex device authentication successful!\n$/);
  });

  it('Ctrl-C: exit 130, nothing saved', async () => {
    const dir = await authDir();
    const cli = await fakeCli({ env: env() });
    const run = cli.run(['-codex-device-login', '-auth-dir', dir]);
    await cli.stdout.waitFor(/Waiting for authorization/);
    cli.interrupt();
    expect(await run).toBe(130);
    expect(cli.stderr.text()).toBe('Login cancelled.\n');
    expect(await readdir(dir)).toEqual([]);
  });

  it('expired code: the seed message', async () => {
    const short = await startSandbox({ quiet: true, deviceIntervalSeconds: 1, deviceCodeTtlSeconds: 1 });
    try {
      const cli = await fakeCli({ env: { CLIPROXY_CODEX_ISSUER: short.issuer } });
      expect(await cli.run(['-codex-device-login', '-auth-dir', await authDir()])).toBe(1);
      expect(cli.stderr.text()).toBe('Device code expired: run -codex-device-login again.\n');
    } finally {
      await short.close();
    }
  });
});

describe('cliproxy login --from-codex', () => {
  it("imports ~/.codex/auth.json and warns about shared refresh tokens", async () => {
    const minted = sandbox.mintAccount({ email: 'codex@example.com', plan: 'pro' });
    const cli = await fakeCli({ env: env() });
    await mkdir(path.join(cli.home, '.codex'), { recursive: true });
    await writeFile(
      path.join(cli.home, '.codex', 'auth.json'),
      JSON.stringify({
        auth_mode: 'chatgpt',
        OPENAI_API_KEY: null,
        tokens: { id_token: minted.idToken, access_token: minted.accessToken, refresh_token: minted.refreshToken, account_id: minted.accountId },
        last_refresh: '2026-01-01T00:00:00Z',
      }),
    );
    const dir = await authDir();
    expect(await cli.run(['login', '--from-codex', '--auth-dir', dir])).toBe(0);
    const file = path.join(dir, accountFileName('codex@example.com', minted.accountId));
    expect(cli.stdout.text()).toBe(`Authentication saved to ${file}\nImported codex@example.com (pro) from ${path.join(cli.home, '.codex', 'auth.json')}.\n`);
    expect(cli.stderr.text()).toContain('Refresh tokens are single-use');
    expect(cli.stderr.text()).toContain('Let only one of them run with this account, or sign in separately');
    const saved = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(saved).toMatchObject({ auth_method: 'import', refresh_token: minted.refreshToken, last_refresh: '2026-01-01T00:00:00.000Z' });
  });

  it('an explicit path that does not exist', async () => {
    const cli = await fakeCli({ env: env() });
    expect(await cli.run(['login', '--from-codex', 'nope/auth.json', '--auth-dir', await authDir()])).toBe(1);
    expect(cli.stderr.text()).toMatch(/nope\/auth\.json not found\. Sign the Codex CLI in first/);
  });
});
