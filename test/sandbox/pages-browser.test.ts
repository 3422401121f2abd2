/**
 * The sign-in and device pages driven by a real browser (headless Chromium through
 * playwright-core), clicking the stable element ids.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { CLIENT_ID, authorizeUrl, decodeJwt, pkcePair, postForm, postJson } from './helpers.js';

let sb: Sandbox;
let browser: Browser;
let callback: Server;
let redirectUri: string;
const callbacks: URLSearchParams[] = [];

// Chromium comes from test/support/browser.ts (Debian's where present, else @sparticuz/chromium's).
describe('sandbox pages in a browser', () => {
  beforeAll(async () => {
    sb = await startSandbox({ quiet: true });
    callback = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://localhost');
      if (u.pathname === '/auth/callback') callbacks.push(u.searchParams);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('callback received');
    });
    await new Promise<void>((r) => callback.listen(0, '127.0.0.1', r));
    redirectUri = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/auth/callback`;
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await sb?.close();
    await new Promise<void>((r) => (callback ? callback.close(() => r()) : r()));
  });

  it('sign in: type an email, pick a plan, Approve → the callback gets code+state; the code yields that identity', async () => {
    const { verifier, challenge } = pkcePair();
    const page = await browser.newPage();
    await page.goto(authorizeUrl(sb.issuer, { challenge, redirect_uri: redirectUri, state: 'browser-state' }));
    expect(await page.inputValue('#email')).toMatch(/^user\d+@sandbox\.test$/);
    await page.fill('#email', 'browser@example.com');
    await page.selectOption('#plan', 'team');
    await Promise.all([page.waitForURL(/\/auth\/callback/), page.click('#approve')]);
    await page.close();
    const q = callbacks.at(-1)!;
    expect(q.get('state')).toBe('browser-state');
    const res = await postForm(`${sb.issuer}/oauth/token`, { grant_type: 'authorization_code', code: q.get('code')!, redirect_uri: redirectUri, client_id: CLIENT_ID, code_verifier: verifier });
    expect(res.status).toBe(200);
    const claims = decodeJwt(((await res.json()) as { id_token: string }).id_token);
    expect(claims.email).toBe('browser@example.com');
    expect((claims['https://api.openai.com/auth'] as Record<string, string>).chatgpt_plan_type).toBe('team');
  });

  it('sign in: Deny → the callback gets error=access_denied', async () => {
    const page = await browser.newPage();
    await page.goto(authorizeUrl(sb.issuer, { challenge: pkcePair().challenge, redirect_uri: redirectUri, state: 'deny-state' }));
    await Promise.all([page.waitForURL(/\/auth\/callback/), page.click('#deny')]);
    await page.close();
    const q = callbacks.at(-1)!;
    expect(q.get('error')).toBe('access_denied');
    expect(q.get('state')).toBe('deny-state');
  });

  it('device page: a wrong code says "Invalid device code"; the right one can be approved', async () => {
    const d = (await (await postJson(`${sb.issuer}/api/accounts/deviceauth/usercode`, { client_id: CLIENT_ID })).json()) as { device_auth_id: string; user_code: string };
    const page = await browser.newPage();
    await page.goto(`${sb.issuer}/codex/device`);
    await page.fill('#user_code', 'WXYZ-WXYZ');
    await page.click('#continue');
    expect(await page.textContent('#error')).toBe('Invalid device code');
    await page.fill('#user_code', d.user_code);
    await page.click('#continue');
    await page.fill('#email', 'device-browser@example.com');
    await page.click('#approve');
    expect(await page.textContent('h1')).toBe('Device approved');
    await page.close();
    const poll = await postJson(`${sb.issuer}/api/accounts/deviceauth/token`, { device_auth_id: d.device_auth_id, user_code: d.user_code });
    expect(poll.status).toBe(200);
  });
});
