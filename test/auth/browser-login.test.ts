import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { browserLogin, type BrowserLoginDeps } from '../../src/auth/browser-login.js';
import { readClaims } from '../../src/auth/id-token-claims.js';
import { LoginError } from '../../src/auth/login-error.js';
import { generatePkce } from '../../src/auth/pkce.js';
import { CODEX_CLIENT_ID, startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { ManualClock, systemClock } from '../../src/util/clock.js';
import { capture } from './helpers.js';

let sandbox: Sandbox;
let browser: Browser | undefined;
beforeAll(async () => {
  sandbox = await startSandbox({ quiet: true });
});
afterAll(async () => {
  await browser?.close();
  await sandbox.close();
});
afterEach(() => sandbox.setAutoApprove(false));

function deps(over: Partial<BrowserLoginDeps> = {}) {
  const stdout = capture();
  const stderr = capture();
  let authorizeUrl = '';
  let resolveUrl!: (u: string) => void;
  const urlReady = new Promise<string>((r) => (resolveUrl = r));
  const d: BrowserLoginDeps = {
    issuer: sandbox.issuer,
    clientId: CODEX_CLIENT_ID,
    originator: 'codex_cli_rs',
    port: 0,
    clock: systemClock,
    stdout: stdout.stream,
    stderr: stderr.stream,
    openBrowser: null,
    successGraceMs: 200,
    onAuthorizeUrl: (u) => {
      authorizeUrl = u;
      resolveUrl(u);
    },
    ...over,
  };
  return { d, stdout, stderr, urlReady, url: () => authorizeUrl };
}

function callbackBase(authorizeUrl: string): { redirectUri: string; state: string } {
  const u = new URL(authorizeUrl);
  return { redirectUri: u.searchParams.get('redirect_uri')!, state: u.searchParams.get('state')! };
}

describe('browser login against the sandbox', () => {
  it('auto-approve: following the authorize URL completes the login and lands on /success', async () => {
    sandbox.setAutoApprove(true);
    sandbox.queueAccount({ email: 'auto@example.com', plan: 'pro' });
    const t = deps();
    const login = browserLogin(t.d);
    const url = await t.urlReady;
    expect(t.stdout.text()).toContain(`Open this URL in a browser to sign in:\n\n${url}\n`);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(new URL(res.url).pathname).toBe('/success');
    expect(await res.text()).toContain('Codex authentication successful');
    const result = await login;
    expect(readClaims(result.tokens.idToken)).toMatchObject({ email: 'auto@example.com', planType: 'pro' });
    expect(result.pkce?.method).toBe('S256');
    expect(callbackBase(url).redirectUri).toMatch(/^http:\/\/localhost:\d+\/auth\/callback$/);
    // the server is gone afterwards
    await expect(fetch(`${callbackBase(url).redirectUri}?code=x&state=y`)).rejects.toThrow();
  });

  it('headless Chromium: Approve on the sandbox sign-in page', async () => {
    browser ??= await launchBrowser();
    const page = await browser.newPage();
    const t = deps({ openBrowser: async (u) => void page.goto(u) });
    const login = browserLogin(t.d);
    await page.waitForSelector('#approve');
    await page.fill('#email', 'chromium@example.com');
    await page.selectOption('#plan', 'team');
    await page.click('#approve');
    const result = await login;
    await page.waitForURL(/\/success$/);
    expect(await page.textContent('body')).toContain('Codex authentication successful');
    expect(readClaims(result.tokens.idToken)).toMatchObject({ email: 'chromium@example.com', planType: 'team' });
    await page.close();
  });

  it('Deny: stops with the provider description', async () => {
    browser ??= await launchBrowser();
    const page = await browser.newPage();
    const t = deps({ openBrowser: async (u) => void page.goto(u) });
    const login = browserLogin(t.d).catch((e: unknown) => e);
    await page.waitForSelector('#deny');
    await page.click('#deny');
    const err = await login;
    expect(err).toBeInstanceOf(LoginError);
    expect((err as Error).message).toBe('Authentication failed: The user denied the authorization request (access_denied). Run the login again to retry.');
    await page.close();
  });

  it('wrong state: 400 and keeps waiting; other paths 404; then completes', async () => {
    const t = deps();
    const login = browserLogin(t.d);
    const url = await t.urlReady;
    const { redirectUri } = callbackBase(url);
    const bad = await fetch(`${redirectUri}?code=abc&state=not-the-state`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('state mismatch');
    const other = await fetch(redirectUri.replace('/auth/callback', '/favicon.ico'));
    expect(other.status).toBe(404);
    sandbox.setAutoApprove(true);
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    await expect(login).resolves.toMatchObject({ tokens: expect.any(Object) });
  });

  it('a callback without a code stops with a clear error', async () => {
    const t = deps();
    const login = browserLogin(t.d).catch((e: unknown) => e);
    const { redirectUri, state } = callbackBase(await t.urlReady);
    const res = await fetch(`${redirectUri}?state=${encodeURIComponent(state)}`);
    expect(res.status).toBe(400);
    expect((await login as Error).message).toBe('Authentication failed: the callback carried no authorization code. Run the login again and complete the sign-in in the browser.');
  });

  it('port in use: fails at once and suggests -oauth-callback-port', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const t = deps({ port });
    const err = await browserLogin(t.d).catch((e: unknown) => e);
    blocker.close();
    expect(err).toBeInstanceOf(LoginError);
    expect((err as Error).message).toBe(`Port ${port} is already in use. Run again with -oauth-callback-port <free port> (or --oauth-callback-port).`);
    expect(t.url()).toBe('');
  });

  it('callback timeout names the port and the firewall/localhost hint', async () => {
    const clock = new ManualClock();
    const t = deps({ clock, timeoutMs: 120_000 });
    const login = browserLogin(t.d).catch((e: unknown) => e);
    const { redirectUri } = callbackBase(await t.urlReady);
    const port = new URL(redirectUri).port;
    await clock.advance(120_000);
    const err = await login;
    expect(err).toBeInstanceOf(LoginError);
    expect((err as Error).message).toBe(
      `Callback timeout: no sign-in callback reached http://localhost:${port}/auth/callback within 120 s. ` +
        `Complete the sign-in sooner (or raise --timeout), check that no firewall blocks 127.0.0.1:${port}, and verify that localhost resolves to this machine. ` +
        'On a remote machine paste the redirected URL into the terminal, or use -codex-device-login.',
    );
    await expect(fetch(redirectUri)).rejects.toThrow(); // server closed
  });

  it('no browser: prints the URL and never calls openBrowser; a browser that fails to open is only a warning', async () => {
    sandbox.setAutoApprove(true);
    const failing = deps({
      openBrowser: async () => {
        throw new Error('xdg-open not found');
      },
    });
    const login = browserLogin(failing.d);
    const url = await failing.urlReady;
    await failing.stderr.waitFor(/Could not open a browser/);
    expect(failing.stderr.text()).toContain('Could not open a browser (xdg-open not found). Open the URL above manually, or run again with -no-browser.');
    expect(failing.stdout.text()).toContain(url);
    await fetch(url);
    await login;
  });

  it('a pasted redirect URL completes the login (and a wrong one is explained)', async () => {
    sandbox.setAutoApprove(true);
    const stdin = new PassThrough();
    const t = deps({ stdin });
    const login = browserLogin(t.d);
    const url = await t.urlReady;
    expect(t.stderr.text()).toContain('paste the address');
    // the browser ends up at the callback URL but cannot reach it: take the Location instead
    const res = await fetch(url, { redirect: 'manual' });
    const location = res.headers.get('location')!;
    expect(location).toMatch(/\/auth\/callback\?code=/);
    stdin.write('not a url\n');
    await t.stderr.waitFor(/That is not the redirected URL/);
    stdin.write(`${location.replace(/state=[^&]+/, 'state=wrong')}\n`);
    await t.stderr.waitFor(/different sign-in attempt/);
    stdin.write(`${location}\n`);
    const result = await login;
    expect(result.tokens.refreshToken).toBeTruthy();
  });

  it('PKCE verification failed: a verifier that does not match the challenge surfaces the issuer error and the hint', async () => {
    sandbox.setAutoApprove(true);
    const real = generatePkce();
    const tampered = { ...real, verifier: generatePkce().verifier };
    const t = deps({ pkce: tampered });
    const login = browserLogin(t.d).catch((e: unknown) => e);
    const res = await fetch(await t.urlReady);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('PKCE verification failed');
    const err = (await login) as Error;
    expect(err).toBeInstanceOf(LoginError);
    expect(err.message).toMatch(/^Authentication failed: Token exchange failed \(HTTP 400 invalid_grant\): PKCE verification failed: code_verifier does not match code_challenge\nPKCE verification failed: /);
    expect(err.message).toContain('Do not edit the sign-in URL');
    expect(err.message).not.toContain(tampered.verifier);
  });

  it('Ctrl-C cancels with exit code 130 and closes the server', async () => {
    const ac = new AbortController();
    const t = deps({ signal: ac.signal });
    const login = browserLogin(t.d).catch((e: unknown) => e);
    const { redirectUri } = callbackBase(await t.urlReady);
    ac.abort();
    const err = await login;
    expect(err).toBeInstanceOf(LoginError);
    expect((err as LoginError).exitCode).toBe(130);
    await expect(fetch(redirectUri)).rejects.toThrow();
  });
});
