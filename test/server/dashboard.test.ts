/**
 * The built-in dashboard in headless Chromium against a real server and the sandbox: sign in
 * with the management key, see the accounts, add one with a device login, disable one and see
 * the next request served by another (in the dashboard's own request log); a screenshot is
 * saved under test-output/ (CLIPROXY_TEST_OUTPUT_DIR to change it).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountLabel } from '../../src/server/metrics.js';
import { launchBrowser } from '../support/browser.js';
import { startStack, type Stack } from './stack.js';

const MGMT = 'dashboard-mgmt-key-0001';
const OUTPUT_DIR = process.env.CLIPROXY_TEST_OUTPUT_DIR ?? path.resolve(import.meta.dirname, '../../test-output');

let stack: Stack;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  stack = await startStack({
    accounts: 2,
    configure: (c) => {
      c.management = { secretKey: MGMT, keyFrom: 'env', allowRemote: false };
      c.routing.sessionAffinity = false;
    },
  });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

const rows = () => page.locator('#accounts tbody tr');

describe('the dashboard in a browser', () => {
  it('is a page without external assets and with a strict CSP', async () => {
    const res = await fetch(`${stack.url}/dashboard`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    for (const asset of ['/dashboard/app.js', '/dashboard/app.css']) expect((await fetch(`${stack.url}${asset}`)).status).toBe(200);
  });

  it('asks for the key: a wrong one is refused, the right one shows every account', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${stack.url}/dashboard`);
    await page.locator('#key').fill('not-the-management-key');
    await page.locator('#sign-in').click();
    await expect.poll(() => page.locator('#login-error').textContent()).toBe('Invalid management key.');
    await page.locator('#key').fill(MGMT);
    await page.locator('#sign-in').click();
    await page.locator('#app-view').waitFor({ state: 'visible' });
    await expect.poll(() => rows().count()).toBe(2);
    const first = rows().first();
    expect(await first.locator('.email').textContent()).toMatch(/^u\*\*\*@example\.com/);
    expect(await first.locator('.state').textContent()).toBe('ready');
    expect(await page.evaluate('sessionStorage.getItem("cliproxy.managementKey")')).toBe(MGMT);
    expect(errors).toEqual([]);
  });

  it('adds an account with a device login: the code and link appear, then the new row', async () => {
    await page.locator('#add-device').click();
    await page.locator('#user-code').waitFor({ state: 'visible' });
    const code = (await page.locator('#user-code').textContent())!;
    expect(await page.locator('#login-link').getAttribute('href')).toBe(`${stack.sandbox.issuer}/codex/device`);
    stack.sandbox.approveDevice(code, { email: 'dashboard@example.com', plan: 'pro' });
    await expect.poll(() => rows().count(), { timeout: 10_000 }).toBe(3);
    await expect.poll(() => page.locator('#login-status').textContent()).toBe('Signed in: d***@example.com (pro)');
  });

  it('disables an account and the next request goes to another one; the request shows in the log', async () => {
    const target = stack.accounts[0]!;
    const label = accountLabel(target.accountId);
    const row = page.locator(`#accounts tr[data-account-id="${label}"]`);
    await row.locator('button.toggle').click();
    await expect.poll(() => row.locator('.state').textContent()).toBe('disabled');
    expect(await row.locator('button.toggle').textContent()).toBe('Enable');
    expect((await stack.runtime.pool.snapshot().find((a) => a.accountId === target.accountId))!.disabled).toBe(true);

    stack.sandbox.resetStats();
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${stack.url}/v1`, maxRetries: 0 });
    for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'Return OK.' }] });
    expect(stack.sandbox.stats(target.accountId).requests).toBe(0);
    await expect.poll(() => page.locator('#logs tbody tr').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    const served = await page.locator('#logs tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-account')));
    expect(served.slice(0, 3).every((a) => a !== '' && a !== label)).toBe(true);
    await expect.poll(() => page.locator('#chart rect.requests').count()).toBe(24);

    mkdirSync(OUTPUT_DIR, { recursive: true });
    const shot = path.join(OUTPUT_DIR, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect((await import('node:fs')).statSync(shot).size).toBeGreaterThan(10_000);
  });

  it('removes an account after the confirm dialog', async () => {
    const label = accountLabel(stack.accounts[1]!.accountId);
    page.once('dialog', (d) => void d.accept());
    await page.locator(`#accounts tr[data-account-id="${label}"] button.remove`).click();
    await expect.poll(() => rows().count()).toBe(2);
    expect(stack.runtime.pool.snapshot().some((a) => a.accountId === stack.accounts[1]!.accountId)).toBe(false);
  });
});
