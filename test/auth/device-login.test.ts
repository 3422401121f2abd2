import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { deviceLogin, type DeviceLoginDeps } from '../../src/auth/device-login.js';
import { readClaims } from '../../src/auth/id-token-claims.js';
import { LoginError } from '../../src/auth/login-error.js';
import { CODEX_CLIENT_ID, startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { systemClock } from '../../src/util/clock.js';
import { capture, json, tinyServer } from './helpers.js';

let sandbox: Sandbox;
let browser: Browser | undefined;
beforeAll(async () => {
  sandbox = await startSandbox({ quiet: true, deviceIntervalSeconds: 1 });
});
afterAll(async () => {
  await browser?.close();
  await sandbox.close();
});

function deps(over: Partial<DeviceLoginDeps> = {}, issuer = sandbox.issuer) {
  const stdout = capture();
  const stderr = capture();
  const d: DeviceLoginDeps = { issuer, clientId: CODEX_CLIENT_ID, clock: systemClock, stdout: stdout.stream, stderr: stderr.stream, ...over };
  return { d, stdout, stderr };
}

async function codeFrom(out: ReturnType<typeof capture>): Promise<string> {
  const m = await out.waitFor(/Enter this code: (\S+)\n/);
  return m[1]!;
}

describe('device login against the sandbox', () => {
  it('auto-approve: prints the three lines and returns tokens from the server-made PKCE pair', async () => {
    sandbox.setAutoApprove(true);
    sandbox.queueAccount({ email: 'device@example.com', plan: 'plus' });
    const t = deps();
    const result = await deviceLogin(t.d);
    sandbox.setAutoApprove(false);
    const code = /Enter this code: (\S+)/.exec(t.stdout.text())![1]!;
    expect(t.stdout.text()).toBe(`Please visit: ${sandbox.issuer}/codex/device\nEnter this code: ${code}\nWaiting for authorization...\n`);
    expect(readClaims(result.tokens.idToken)).toMatchObject({ email: 'device@example.com', planType: 'plus' });
    expect(result.pkce).toEqual({ method: 'S256', challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(t.stderr.text()).toBe('');
  });

  it('manual approval with approveDevice()', async () => {
    const t = deps();
    const login = deviceLogin(t.d);
    const code = await codeFrom(t.stdout);
    await t.stdout.waitFor(/Waiting for authorization\.\.\./);
    await new Promise((r) => setTimeout(r, 1200)); // at least one pending poll (403)
    sandbox.approveDevice(code, { email: 'manual@example.com', plan: 'team' });
    const result = await login;
    expect(readClaims(result.tokens.idToken)).toMatchObject({ email: 'manual@example.com', planType: 'team' });
  });

  it('a person enters the code in headless Chromium (a wrong code first shows "Invalid device code")', async () => {
    browser ??= await launchBrowser();
    const page = await browser.newPage();
    const t = deps();
    const login = deviceLogin(t.d);
    const code = await codeFrom(t.stdout);
    const visit = (await t.stdout.waitFor(/Please visit: (\S+)/))[1]!;
    await page.goto(visit);
    await page.fill('#user_code', 'ZZZZ-ZZZZ');
    await page.click('#continue');
    expect(await page.textContent('#error')).toBe('Invalid device code');
    await page.fill('#user_code', code);
    await page.click('#continue');
    await page.fill('#email', 'typed@example.com');
    await page.click('#approve');
    const result = await login;
    expect(readClaims(result.tokens.idToken).email).toBe('typed@example.com');
    await page.close();
  });

  it('Deny on the device page stops with the reason', async () => {
    browser ??= await launchBrowser();
    const page = await browser.newPage();
    const t = deps();
    const login = deviceLogin(t.d).catch((e: unknown) => e);
    const code = await codeFrom(t.stdout);
    await page.goto(`${sandbox.issuer}/codex/device`);
    await page.fill('#user_code', code);
    await page.click('#continue');
    await page.click('#deny');
    const err = (await login) as LoginError;
    expect(err).toBeInstanceOf(LoginError);
    expect(err.message).toBe('Authentication failed: The user denied the device authorization (access_denied). Run -codex-device-login again and approve the request.');
    expect(err.message).not.toContain(code);
    await page.close();
  });

  it('an expired device code gives the seed message', async () => {
    const short = await startSandbox({ quiet: true, deviceIntervalSeconds: 1, deviceCodeTtlSeconds: 1 });
    try {
      const t = deps({}, short.issuer);
      const err = (await deviceLogin(t.d).catch((e: unknown) => e)) as LoginError;
      expect(err).toBeInstanceOf(LoginError);
      expect(err.message).toBe('Device code expired: run -codex-device-login again.');
    } finally {
      await short.close();
    }
  });

  it('polling timeout: no approval before our own deadline', async () => {
    const t = deps({ maxWaitMs: 1500 });
    const err = (await deviceLogin(t.d).catch((e: unknown) => e)) as LoginError;
    expect(err).toBeInstanceOf(LoginError);
    expect(err.message).toBe('Device code expired: run -codex-device-login again (no approval within 2 s).');
  });

  it('invalid device code: the issuer does not recognise the code being polled', async () => {
    // a proxy (or a typo in a re-typed code) changes the user_code the client polls with
    const tamperingFetch: typeof fetch = async (input, init) => {
      if (String(input).endsWith('/deviceauth/token') && typeof init?.body === 'string') {
        const body = JSON.parse(init.body) as Record<string, string>;
        init = { ...init, body: JSON.stringify({ ...body, user_code: 'WRNG-CODE' }) };
      }
      return fetch(input, init);
    };
    const t = deps({ fetch: tamperingFetch });
    const err = (await deviceLogin(t.d).catch((e: unknown) => e)) as LoginError;
    expect(err).toBeInstanceOf(LoginError);
    expect(err.message).toBe(
      'Invalid device code (HTTP 400): the issuer does not recognise this device code. Run -codex-device-login again for a new code and enter it exactly as shown (case-sensitive, no extra spaces).',
    );
  });

  it('Ctrl-C cancels cleanly with exit code 130', async () => {
    const ac = new AbortController();
    const t = deps({ signal: ac.signal });
    const login = deviceLogin(t.d).catch((e: unknown) => e);
    await t.stdout.waitFor(/Waiting for authorization/);
    ac.abort();
    const err = (await login) as LoginError;
    expect(err).toBeInstanceOf(LoginError);
    expect(err.exitCode).toBe(130);
    expect(err.message).toBe('Login cancelled.');
  });
});

describe('device login against a scripted issuer', () => {
  it('404 on usercode: device login is not enabled', async () => {
    const s = await tinyServer((_req, _body, res) => json(res, 404, { error: 'not_found' }));
    try {
      const t = deps({}, s.url);
      const err = (await deviceLogin(t.d).catch((e: unknown) => e)) as LoginError;
      expect(err.message).toMatch(/^Device code login is not enabled for this account or workspace \(HTTP 404\)/);
      expect(t.stdout.text()).toBe('');
    } finally {
      await s.close();
    }
  });

  it('accepts the older `usercode` field and a numeric interval; 404 while pending; other statuses are named', async () => {
    let polls = 0;
    const s = await tinyServer((req, _body, res) => {
      if (req.url === '/api/accounts/deviceauth/usercode') return json(res, 200, { device_auth_id: 'dev-1', usercode: 'ABCD-EFGH', interval: 0.05 });
      polls += 1;
      if (polls < 3) return json(res, 404, {});
      return json(res, 502, { error: { message: 'upstream broke' } });
    });
    try {
      const t = deps({}, s.url);
      const err = (await deviceLogin(t.d).catch((e: unknown) => e)) as LoginError;
      expect(t.stdout.text()).toContain('Enter this code: ABCD-EFGH\n');
      expect(polls).toBe(3);
      expect(err.message).toBe(
        'Device authorization failed: HTTP 502: upstream broke. Run -codex-device-login again; if it keeps failing, check the service status or use the browser login (-codex-login).',
      );
      expect(err.message).not.toContain('ABCD-EFGH');
    } finally {
      await s.close();
    }
  });

  it('names the network problem when the issuer cannot be reached', async () => {
    const s = await tinyServer(() => undefined);
    await s.close();
    const t = deps({}, s.url);
    const err = (await deviceLogin(t.d).catch((e: unknown) => e)) as LoginError;
    expect(err.message).toBe(`Could not start device login: cannot reach ${s.url} (ECONNREFUSED). Check your network connection and try again.`);
  });
});
