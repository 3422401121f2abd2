/**
 * kill -9 in the middle of a refresh storm: a real `cliproxy serve` (child process) on an auth
 * dir of 8 accounts whose tokens live 6 s (each start refreshes most of them at once, and
 * requests refresh the rest), killed with SIGKILL 20 times at random moments. Afterwards every
 * token file parses and verifies its checksum, and no temp file (token or lock) is left once a
 * server has started on the directory again. What a kill between the issuer's answer and the
 * save can cost (README, "kill -9") is measured and printed, not hidden.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseCredentialFile } from '../../src/accounts/credential-file.js';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { credentialFromTokens } from '../../src/auth/credential-from-tokens.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { startServeChild, type ServeChild } from '../helpers/serve-child.js';

const KILLS = 20;
const ACCOUNTS = 8;

let sandbox: Sandbox | undefined;
let dir: string | undefined;
const children: ServeChild[] = [];
afterAll(async () => {
  for (const c of children) await c.kill9();
  await sandbox?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A small deterministic generator, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

it(`${KILLS} kill -9s mid refresh-storm leave only whole, checksummed token files and no temp files`, { timeout: 240_000 }, async () => {
  sandbox = await startSandbox({ quiet: true, accessTokenTtlSeconds: 6 });
  dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-kill9-'));
  const store = new FileAccountStore({ dir });
  const emails: string[] = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    const m = sandbox.mintAccount({ email: `k${i}@example.com` });
    emails.push(m.email);
    await store.save(credentialFromTokens({ idToken: m.idToken, accessToken: m.accessToken, refreshToken: m.refreshToken, tokenType: 'Bearer', expiresIn: m.expiresIn }, 'device', Date.now()));
  }
  const env = { CLIPROXY_CODEX_ISSUER: sandbox.issuer, CLIPROXY_CODEX_BASE_URL: sandbox.baseUrl };
  const argv = ['--port', '0', '--auth-dir', dir];
  const random = lcg(10);
  const refreshesBefore = sandbox.stats().refreshes;
  let lost = 0;

  for (let k = 0; k < KILLS; k++) {
    // let the tokens age past half-life so the next start refreshes them in a burst
    await new Promise((r) => setTimeout(r, random() * 300));
    const child = await startServeChild({ argv, env });
    children.push(child);
    const requests = Array.from({ length: 4 }, () =>
      fetch(`${child.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }] }),
      }).catch(() => undefined),
    );
    await new Promise((r) => setTimeout(r, random() * 600));
    await child.kill9();
    await Promise.all(requests);
    // an account a kill cost (its new refresh token never reached the disk) is signed in again, as
    // its user would, so the storm goes on for every one of the kills
    for (const { credential } of (await store.list()).accounts) {
      if (!credential.needsLogin) continue;
      lost++;
      const m = sandbox.mintAccount({ email: credential.email });
      await store.save(credentialFromTokens({ idToken: m.idToken, accessToken: m.accessToken, refreshToken: m.refreshToken, tokenType: 'Bearer', expiresIn: m.expiresIn }, 'device', Date.now()));
    }
  }
  const refreshes = sandbox.stats().refreshes - refreshesBefore;
  expect(refreshes).toBeGreaterThanOrEqual(KILLS);

  // a start after the last kill settles what it left (temp files older than 5 s)
  await new Promise((r) => setTimeout(r, 5_500));
  const final = await startServeChild({ argv, env });
  children.push(final);
  expect((await fetch(`${final.url}/healthz`)).status).toBe(200);
  await final.stop();

  const names = readdirSync(dir);
  const tokenFiles = names.filter((n) => /^codex-.*\.json$/.test(n));
  expect(tokenFiles).toHaveLength(ACCOUNTS);
  expect(names.filter((n) => n !== '.locks' && !tokenFiles.includes(n))).toEqual([]);
  expect(readdirSync(path.join(dir, '.locks')).filter((n) => !/^[0-9a-f]{16}\.lock$/.test(n))).toEqual([]);
  let needsLogin = 0;
  for (const name of tokenFiles) {
    const text = readFileSync(path.join(dir, name), 'utf8');
    expect(JSON.parse(text)).toHaveProperty('checksum');
    const credential = parseCredentialFile(text); // throws on a checksum mismatch
    if (credential.needsLogin) needsLogin++;
  }
  const reuses = emails.reduce((n, e) => n + sandbox!.stats(e).refreshReuses, 0);
  console.log(
    `kill -9 loop: ${KILLS} kills, ${refreshes} refreshes, ${lost} accounts lost to a kill between the issuer's answer and the save (signed in again), ` +
      `${reuses} spent refresh tokens presented again, ${needsLogin}/${ACCOUNTS} need a new login at the end`,
  );
});
