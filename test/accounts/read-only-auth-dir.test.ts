/**
 * A read-only auth dir (chmod 500, a real server process, as an unprivileged user when the
 * suite runs as root): the refresh lock cannot be created and the refreshed tokens cannot be
 * saved, yet tokens are refreshed in memory and requests keep working; the reason is logged
 * once per account and the file is left as it was.
 */
import { chmodSync, chownSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { credentialFromTokens } from '../../src/auth/credential-from-tokens.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { startServeChild, type ServeChild } from '../helpers/serve-child.js';

let sandbox: Sandbox | undefined;
let server: ServeChild | undefined;
let dir: string | undefined;
afterAll(async () => {
  await server?.stop();
  await sandbox?.close();
  if (dir) {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  }
});

it('refreshes in memory and keeps serving when the auth dir cannot be written', async () => {
  // 6 s tokens: the refresh is due at half-life (3 s), long before the 5-minute lead
  sandbox = await startSandbox({ quiet: true, accessTokenTtlSeconds: 6 });
  dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-readonly-'));
  const m = sandbox.mintAccount({ email: 'ro@example.com' });
  const tokens = { idToken: m.idToken, accessToken: m.accessToken, refreshToken: m.refreshToken, tokenType: 'Bearer', expiresIn: m.expiresIn };
  const file = await new FileAccountStore({ dir }).save(credentialFromTokens(tokens, 'device', Date.now()));
  const before = readFileSync(file, 'utf8');
  if (process.getuid?.() === 0) {
    chownSync(dir, 65534, 65534);
    chownSync(file, 65534, 65534);
  }
  chmodSync(dir, 0o500);

  server = await startServeChild({
    argv: ['--port', '0', '--auth-dir', dir],
    env: { CLIPROXY_CODEX_ISSUER: sandbox.issuer, CLIPROXY_CODEX_BASE_URL: sandbox.baseUrl },
    asNobody: true,
  });
  const chat = () =>
    fetch(`${server!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Return OK.' }] }),
    });
  expect((await chat()).status).toBe(200);

  // wait past the first token's expiry: only a refresh keeps the account usable
  await new Promise((r) => setTimeout(r, 7_500));
  for (let i = 0; i < 3; i++) {
    const res = await chat();
    expect(res.status, await res.clone().text()).toBe(200);
  }
  expect(sandbox.stats(m.email).refreshes).toBeGreaterThanOrEqual(1);
  expect(sandbox.stats(m.email).refreshReuses).toBe(0);

  const logs = server.stderr();
  const lockWarnings = logs.split('\n').filter((l) => l.includes('The refresh lock cannot be taken'));
  expect(lockWarnings).toHaveLength(1);
  expect(lockWarnings[0]).toContain('EACCES');
  const saveErrors = logs.split('\n').filter((l) => l.includes('"level":50') && l.includes('Refreshed tokens could not be saved'));
  expect(saveErrors).toHaveLength(1);
  expect(logs).not.toContain(m.refreshToken);
  expect(readFileSync(file, 'utf8')).toBe(before);
  expect(readdirSync(dir)).toEqual([path.basename(file)]);
});
