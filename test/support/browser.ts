/**
 * The one place tests launch a real browser: headless Chromium through playwright-core.
 *
 * Debian's `/usr/bin/chromium` is used where it exists; otherwise the Chromium that the
 * `@sparticuz/chromium` dev dependency ships inside its npm tarball (unpacked to the temp
 * directory on first use). Nothing is downloaded: `npm ci` is all the suite needs.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** Flags that keep Chromium offline and quiet on a machine with no network but loopback. */
const OFFLINE_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface BrowserBinary {
  executablePath: string;
  args: string[];
}

async function findBrowser(): Promise<BrowserBinary> {
  if (existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM, args: OFFLINE_ARGS };
  const { default: packaged } = await import('@sparticuz/chromium');
  let executablePath: string;
  try {
    executablePath = await packaged.executablePath();
  } catch (err) {
    throw new Error(`no browser: ${SYSTEM_CHROMIUM} is absent and @sparticuz/chromium could not unpack its Chromium (${(err as Error).message}); run npm ci`);
  }
  // The package's own flags (they make its build run headless with software GL), less the
  // ones made for one-shot serverless use: `--single-process` dies when a test closes a page
  // and opens the next. Then ours.
  const SERVERLESS_ONLY = ['--single-process', '--no-zygote'];
  const args = [...packaged.args.filter((a) => !OFFLINE_ARGS.includes(a) && !SERVERLESS_ONLY.includes(a)), ...OFFLINE_ARGS];
  return { executablePath, args };
}

/** Launches headless Chromium; the caller closes it. */
export async function launchBrowser(): Promise<Browser> {
  const { executablePath, args } = await findBrowser();
  return chromium.launch({ executablePath, args });
}
