/**
 * Vitest global setup: what the whole suite needs, made once per run from npm packages only.
 * - PostgreSQL: CLIPROXY_TEST_POSTGRES_URL when set (an existing server), else a throw-away
 *   embedded server; the URL reaches every test through that variable.
 * - Chromium: unpacked once (when it comes from @sparticuz/chromium), so test files that run
 *   in parallel never race on the unpacking.
 */
import { startTestPostgres, type TestPostgres } from './postgres.js';
import { launchBrowser } from './browser.js';

let postgres: TestPostgres | undefined;

export async function setup(): Promise<void> {
  const browser = launchBrowser().then((b) => b.close());
  if (!process.env.CLIPROXY_TEST_POSTGRES_URL) {
    postgres = await startTestPostgres();
    process.env.CLIPROXY_TEST_POSTGRES_URL = postgres.url;
  }
  await browser;
}

export async function teardown(): Promise<void> {
  await postgres?.stop();
}
