import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Credential } from '../../src/accounts/credential.js';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { PostgresAccountStore } from '../../src/accounts/postgres-store.js';
import { cryptoFor, openEnvelope, StoreCipher, StoreKeyError } from '../../src/accounts/store-cipher.js';
import { adminQuery, dropSchema, TEST_POSTGRES_URL, uniqueSchema } from '../helpers/postgres.js';

const RAW_KEY = Buffer.alloc(32, 7).toString('base64');
const OTHER_RAW_KEY = Buffer.alloc(32, 9).toString('base64');
const PASSPHRASE = 'correct horse battery staple';

function credential(id: string, over: Partial<Credential> = {}): Credential {
  return {
    accountId: id,
    email: `${id}@example.test`,
    planType: 'plus',
    idToken: `idtok-${id}-secret`,
    accessToken: `access-${id}-secret`,
    refreshToken: `refresh-${id}-secret`,
    tokenType: 'Bearer',
    expiresAt: 1_800_000_000_000,
    lastRefresh: 1_700_000_000_000,
    authMethod: 'device',
    disabled: false,
    ...over,
  };
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'cliproxy-cipher-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('StoreCipher', () => {
  it('seals with AES-256-GCM in a versioned envelope bound to the account; a raw key and a passphrase both work', () => {
    for (const secret of [RAW_KEY, PASSPHRASE]) {
      const c = StoreCipher.fromSecret(secret);
      const env = c.seal({ idToken: 'i', accessToken: 'a', refreshToken: 'r' }, 'acct-1');
      expect(env).toMatchObject({ v: 1, alg: 'A256GCM', kdf: secret === RAW_KEY ? 'none' : 'scrypt' });
      expect(JSON.stringify(env)).not.toMatch(/"(i|a|r)"/);
      // another process (another scrypt salt) with the same secret opens it
      expect(StoreCipher.fromSecret(secret).tryOpen(env, 'acct-1')).toEqual({ idToken: 'i', accessToken: 'a', refreshToken: 'r' });
      // moved to another account: refused
      expect(c.tryOpen(env, 'acct-2')).toBeNull();
    }
  });

  it('a wrong or missing key is a StoreKeyError saying which', () => {
    const env = StoreCipher.fromSecret(RAW_KEY).seal({ idToken: 'i', accessToken: 'a', refreshToken: 'r' }, 'x');
    expect(() => openEnvelope(cryptoFor(OTHER_RAW_KEY), env, 'x')).toThrow(/different key/);
    expect(() => openEnvelope(cryptoFor(PASSPHRASE), env, 'x')).toThrow(StoreKeyError);
    expect(() => openEnvelope(cryptoFor(undefined), env, 'x')).toThrow(/no store.encryption-key/);
  });

  it('refuses a short passphrase without quoting it', () => {
    expect(() => StoreCipher.fromSecret('short-pw')).toThrow(/at least 12 characters/);
    expect(() => StoreCipher.fromSecret('short-pw')).not.toThrow(/short-pw/);
  });
});

describe('encryption at rest: file store', () => {
  it('writes sealed tokens (email, plan, expiry readable), reads them back, and the checksum still holds', async () => {
    const dir = tempDir();
    const store = new FileAccountStore({ dir, crypto: cryptoFor(PASSPHRASE) });
    const loc = await store.save(credential('acct-1'));
    const text = readFileSync(loc, 'utf8');
    expect(text).not.toContain('secret');
    const j = JSON.parse(text) as Record<string, unknown>;
    expect(j).toMatchObject({ email: 'acct-1@example.test', plan_type: 'plus', account_id: 'acct-1', expired: new Date(1_800_000_000_000).toISOString() });
    expect(j.access_token).toBeUndefined();
    expect((j.sealed as { v: number }).v).toBe(1);
    const again = new FileAccountStore({ dir, crypto: cryptoFor(PASSPHRASE) });
    const listing = await again.list();
    expect(listing.problems).toEqual([]);
    expect(listing.accounts[0]!.credential).toMatchObject({ accessToken: 'access-acct-1-secret', refreshToken: 'refresh-acct-1-secret', idToken: 'idtok-acct-1-secret' });
  });

  it('without the key, or with another: the file is "locked" (email and plan readable) and a save refuses to replace it', async () => {
    const dir = tempDir();
    await new FileAccountStore({ dir, crypto: cryptoFor(RAW_KEY) }).save(credential('acct-1'));
    const file = path.join(dir, readdirSync(dir).find((n) => n.endsWith('.json'))!);
    const before = readFileSync(file, 'utf8');
    for (const crypto of [cryptoFor(undefined), cryptoFor(OTHER_RAW_KEY)]) {
      const store = new FileAccountStore({ dir, crypto });
      const listing = await store.list();
      expect(listing.accounts).toEqual([]);
      expect(listing.problems).toHaveLength(1);
      expect(listing.problems[0]).toMatchObject({ kind: 'locked', location: file, meta: { email: 'acct-1@example.test', planType: 'plus', accountId: 'acct-1' } });
      await expect(store.save(credential('acct-1', { accessToken: 'new' }))).rejects.toThrow(/Refusing to overwrite/);
    }
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it("CLIProxyAPI's plain files still load with a key set, and are sealed on their next save (their extra fields kept)", async () => {
    const dir = tempDir();
    const file = path.join(dir, 'codex-abc123-legacy@example.com-plus.json');
    writeFileSync(
      file,
      JSON.stringify({ type: 'codex', email: 'legacy@example.com', account_id: 'acct-legacy', id_token: '', access_token: 'legacy-access-secret', refresh_token: 'legacy-refresh-secret', expired: '2030-01-01T00:00:00Z', proxy_url: 'http://proxy:1' }),
    );
    const store = new FileAccountStore({ dir, crypto: cryptoFor(RAW_KEY) });
    const [stored] = (await store.list()).accounts;
    expect(stored!.credential.refreshToken).toBe('legacy-refresh-secret');
    await store.save({ ...stored!.credential, accessToken: 'rotated-access-secret' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('secret');
    expect(JSON.parse(text)).toMatchObject({ proxy_url: 'http://proxy:1', email: 'legacy@example.com' });
    expect((await new FileAccountStore({ dir, crypto: cryptoFor(RAW_KEY) }).load('acct-legacy'))!.credential.accessToken).toBe('rotated-access-secret');
  });
});

describe('encryption at rest: PostgreSQL store', () => {
  it('seals the tokens in the row; another key sees the row as locked and cannot overwrite it', async () => {
    const schema = uniqueSchema('cipher');
    const a = new PostgresAccountStore({ connectionString: TEST_POSTGRES_URL, schema, crypto: cryptoFor(PASSPHRASE) });
    const b = new PostgresAccountStore({ connectionString: TEST_POSTGRES_URL, schema, crypto: cryptoFor(RAW_KEY) });
    try {
      await a.save(credential('acct-1'));
      const [row] = await adminQuery<{ data: Record<string, unknown> }>(`SELECT data FROM "${schema}".cliproxy_accounts`);
      expect(JSON.stringify(row!.data)).not.toContain('secret');
      expect(row!.data).toMatchObject({ email: 'acct-1@example.test', planType: 'plus', expiresAt: 1_800_000_000_000 });
      expect((await a.load('acct-1'))!.credential.refreshToken).toBe('refresh-acct-1-secret');
      const listing = await b.list();
      expect(listing.accounts).toEqual([]);
      expect(listing.problems[0]).toMatchObject({ kind: 'locked', meta: { email: 'acct-1@example.test' } });
      await expect(b.save(credential('acct-1', { accessToken: 'other' }))).rejects.toThrow(/Refusing to overwrite/);
      expect((await a.load('acct-1'))!.credential.accessToken).toBe('access-acct-1-secret');
    } finally {
      await a.close();
      await b.close();
      await dropSchema(schema);
    }
  });
});
