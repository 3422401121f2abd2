import { copyFile, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { credentialFromTokens } from '../../src/auth/credential-from-tokens.js';
import { TokenClient } from '../../src/auth/token-client.js';
import { TokenEndpointError } from '../../src/auth/token-errors.js';
import { CODEX_CLIENT_ID, startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { fakeCli } from '../auth/cli-context.js';
import { tinyServer } from '../auth/helpers.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ quiet: true });
});
afterAll(async () => {
  await sandbox.close();
});

async function dirWith(emails: string[]) {
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'logout-')), 'auth');
  const store = new FileAccountStore({ dir });
  const accounts = [];
  for (const email of emails) {
    const m = sandbox.mintAccount({ email });
    const cred = credentialFromTokens({ idToken: m.idToken, accessToken: m.accessToken, refreshToken: m.refreshToken, tokenType: 'Bearer' }, 'oauth', Date.now());
    accounts.push({ ...m, file: await store.save(cred) });
  }
  return { dir, accounts };
}

const env = () => ({ CLIPROXY_CODEX_ISSUER: sandbox.issuer });

describe('cliproxy logout', () => {
  it('by email: removes the file and revokes the refresh token', async () => {
    const { dir, accounts } = await dirWith(['one@example.com', 'two@example.com']);
    const cli = await fakeCli({ env: env() });
    expect(await cli.run(['logout', 'one@example.com', '--auth-dir', dir])).toBe(0);
    expect(cli.stdout.text()).toBe(`Logged out one@example.com (removed ${accounts[0]!.file})\n`);
    expect(cli.stderr.text()).toBe('');
    expect(await readdir(dir)).toEqual([path.basename(accounts[1]!.file)]);
    const err = await new TokenClient({ issuer: sandbox.issuer, clientId: CODEX_CLIENT_ID }).refresh(accounts[0]!.refreshToken).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenEndpointError);
    expect((err as TokenEndpointError).permanent).toBe(true);
  });

  it('by account id', async () => {
    const { dir, accounts } = await dirWith(['id@example.com']);
    const cli = await fakeCli({ env: env() });
    expect(await cli.run(['logout', accounts[0]!.accountId, '-auth-dir', dir])).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  });

  it('--all asks on a TTY: "n" keeps everything (exit 1), "y" removes all; --yes skips the question', async () => {
    const { dir } = await dirWith(['a@example.com', 'b@example.com']);
    const no = await fakeCli({ env: env() });
    no.stdin.isTTY = true;
    const run = no.run(['logout', '--all', '--auth-dir', dir]);
    await no.stderr.waitFor(/Remove all 2 account\(s\) from .* \[y\/N\] $/);
    no.stdin.write('n\n');
    expect(await run).toBe(1);
    expect(no.stderr.text()).toMatch(/Nothing removed\.\n$/);
    expect(await readdir(dir)).toHaveLength(2);

    const yes = await fakeCli({ env: env() });
    yes.stdin.isTTY = true;
    const run2 = yes.run(['logout', '--all', '--auth-dir', dir]);
    await yes.stderr.waitFor(/\[y\/N\] $/);
    yes.stdin.write('y\n');
    expect(await run2).toBe(0);
    expect(yes.stdout.text().trim().split('\n')).toHaveLength(2);
    expect(await readdir(dir)).toEqual([]);

    const again = await dirWith(['c@example.com']);
    const skip = await fakeCli({ env: env() });
    skip.stdin.isTTY = true;
    expect(await skip.run(['logout', '--all', '--yes', '--auth-dir', again.dir])).toBe(0);
    expect(skip.stderr.text()).toBe('');
    expect(await readdir(again.dir)).toEqual([]);
  });

  it('a failed revoke is only a warning', async () => {
    const { dir, accounts } = await dirWith(['warn@example.com']);
    const down = await tinyServer(() => undefined);
    await down.close();
    const cli = await fakeCli({ env: { CLIPROXY_CODEX_ISSUER: down.url } });
    expect(await cli.run(['logout', 'warn@example.com', '--auth-dir', dir])).toBe(0);
    expect(cli.stdout.text()).toBe(`Logged out warn@example.com (removed ${accounts[0]!.file})\n`);
    expect(cli.stderr.text()).toBe(
      `Warning: could not revoke the refresh token of warn@example.com (Token revocation failed: could not reach ${down.url} (ECONNREFUSED)); the file was removed anyway.\n`,
    );
    expect(cli.stderr.text()).not.toContain(accounts[0]!.refreshToken);
  });

  it('explains unknown accounts and ambiguous calls', async () => {
    const { dir } = await dirWith(['x@example.com', 'y@example.com']);
    const unknown = await fakeCli({ env: env() });
    expect(await unknown.run(['logout', 'nobody@example.com', '--auth-dir', dir])).toBe(1);
    expect(unknown.stderr.text()).toBe(`No account nobody@example.com in ${dir}. See: cliproxy status\n`);
    const bare = await fakeCli({ env: env() });
    expect(await bare.run(['logout', '--auth-dir', dir])).toBe(2);
    expect(bare.stderr.text()).toMatch(/^2 accounts are signed in \(.*\): name one \(cliproxy logout <email>\) or use --all\.\n$/);
    expect(await readdir(dir)).toHaveLength(2);
  });
});

describe('cliproxy logout of an account with a duplicate copy', () => {
  it('names every file it removed, the duplicate too', async () => {
    const { dir, accounts } = await dirWith(['dup@example.com']);
    const copy = path.join(dir, 'codex-copy.json');
    await copyFile(accounts[0]!.file, copy);
    const cli = await fakeCli({ env: env() });
    expect(await cli.run(['logout', 'codex-copy.json', '--auth-dir', dir])).toBe(0);
    expect(await readdir(dir)).toEqual([]);
    const out = cli.stdout.text();
    expect(out).toContain(accounts[0]!.file);
    expect(out).toContain(copy);
  });
});
