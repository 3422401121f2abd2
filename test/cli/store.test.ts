import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Credential } from '../../src/accounts/credential.js';
import { FileAccountStore } from '../../src/accounts/file-store.js';
import { PostgresAccountStore } from '../../src/accounts/postgres-store.js';
import { cryptoFor } from '../../src/accounts/store-cipher.js';
import { main } from '../../src/cli/main.js';
import { captureContext } from '../helpers/cli-context.js';
import { adminQuery, dropSchema, TEST_POSTGRES_URL, uniqueSchema } from '../helpers/postgres.js';

const KEY_1 = Buffer.alloc(32, 1).toString('base64');
const KEY_2 = 'the second key, a passphrase';

function credential(n: number, over: Partial<Credential> = {}): Credential {
  return {
    accountId: `acct-${n}`,
    email: `user${n}@example.com`,
    planType: 'plus',
    idToken: `id-${n}-tok`,
    accessToken: `access-${n}-tok`,
    refreshToken: `refresh-${n}-tok`,
    tokenType: 'Bearer',
    expiresAt: 1_900_000_000_000,
    lastRefresh: 1_700_000_000_000,
    authMethod: 'device',
    disabled: false,
    ...over,
  };
}

let dir: string;
let schema: string;
const opened: PostgresAccountStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-store-cmd-'));
  schema = uniqueSchema('storecmd');
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
  await dropSchema(schema);
});

function pgStore(key?: string): PostgresAccountStore {
  const s = new PostgresAccountStore({ connectionString: TEST_POSTGRES_URL, schema, crypto: cryptoFor(key) });
  opened.push(s);
  return s;
}

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const ctx = captureContext({ cwd: dir, env: { CLIPROXY_AUTH_DIR: path.join(dir, 'auth'), PGSTORE_SCHEMA: schema, CLIPROXY_POSTGRES_URL: TEST_POSTGRES_URL, ...env } });
  const code = await main(args, ctx);
  return { code, out: ctx.out(), err: ctx.err() };
}

async function tokens(store: { list(): Promise<{ accounts: Array<{ credential: Credential }> }> }): Promise<Record<string, string>> {
  const { accounts } = await store.list();
  return Object.fromEntries(accounts.map((a) => [a.credential.accountId, a.credential.refreshToken]));
}

describe('cliproxy store migrate', () => {
  it('file → postgres: --dry-run writes nothing; a real run copies; a second run changes nothing; the newer tokens win', async () => {
    const files = new FileAccountStore({ dir: path.join(dir, 'auth') });
    for (const n of [1, 2, 3]) await files.save(credential(n));

    const dry = await run(['store', 'migrate', '--from', 'file', '--to', 'postgres', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/^Dry run: /);
    expect(dry.out.match(/would copy/g)).toHaveLength(3);
    expect(dry.out).toContain('3 accounts: 3 to copy, 0 to update, 0 unchanged, 0 kept. Nothing was written.');
    expect(await tokens(pgStore())).toEqual({});

    const first = await run(['store', 'migrate', '--from', 'file', '--to', 'postgres']);
    expect(first.code).toBe(0);
    expect(first.out).toContain('3 accounts: 3 copied, 0 updated, 0 unchanged, 0 kept.');
    expect(await tokens(pgStore())).toEqual({ 'acct-1': 'refresh-1-tok', 'acct-2': 'refresh-2-tok', 'acct-3': 'refresh-3-tok' });

    const again = await run(['store', 'migrate', '--from', 'file', '--to', 'postgres']);
    expect(again.out).toContain('3 accounts: 0 copied, 0 updated, 3 unchanged, 0 kept.');

    // acct-1 was refreshed later in the files, acct-2 later in the database
    await files.save(credential(1, { refreshToken: 'refresh-1-newer-in-file', lastRefresh: 1_800_000_000_000 }));
    await pgStore().save(credential(2, { refreshToken: 'refresh-2-newer-in-db', lastRefresh: 1_800_000_000_000 }));
    const mixed = await run(['store', 'migrate', '--from', 'file', '--to', 'postgres']);
    expect(mixed.out).toContain('user1@example.com (acct-1): updated (newer tokens in the source)');
    expect(mixed.out).toContain('user2@example.com (acct-2): kept (the target has newer tokens)');
    expect(mixed.out).toContain('user3@example.com (acct-3): unchanged (same tokens)');
    expect(await tokens(pgStore())).toEqual({ 'acct-1': 'refresh-1-newer-in-file', 'acct-2': 'refresh-2-newer-in-db', 'acct-3': 'refresh-3-tok' });
  });

  it('postgres → file, and back: the round trip keeps every account and is idempotent', async () => {
    const db = pgStore();
    for (const n of [1, 2]) await db.save(credential(n, { extra: { note: `n${n}` } }));
    const out = await run(['store', 'migrate', '--from', 'postgres', '--to', 'file', '--auth-dir', path.join(dir, 'laptop')]);
    expect(out.code).toBe(0);
    expect(out.out).toContain('2 copied');
    const laptop = new FileAccountStore({ dir: path.join(dir, 'laptop') });
    expect(await tokens(laptop)).toEqual({ 'acct-1': 'refresh-1-tok', 'acct-2': 'refresh-2-tok' });
    expect((await laptop.load('acct-1'))!.credential.extra).toEqual({ note: 'n1' });
    expect((await run(['store', 'migrate', '--from', 'postgres', '--to', 'file', '--auth-dir', path.join(dir, 'laptop')])).out).toContain('2 unchanged');
    const back = await run(['store', 'migrate', '--from', 'file', '--to', 'postgres', '--auth-dir', path.join(dir, 'laptop')]);
    expect(back.out).toContain('2 accounts: 0 copied, 0 updated, 2 unchanged, 0 kept.');
  });

  it('same store on both sides is a usage error', async () => {
    const r = await run(['store', 'migrate', '--from', 'file', '--to', 'file']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/nothing to migrate/);
  });
});

describe('cliproxy store rekey', () => {
  it('re-encrypts with CLIPROXY_STORE_NEW_KEY, then --to-plain decrypts; the old key no longer reads it', async () => {
    await pgStore(KEY_1).save(credential(1));
    await pgStore(KEY_1).save(credential(2));
    const r = await run(['store', 'rekey'], { CLIPROXY_STORE: 'postgres', CLIPROXY_STORE_KEY: KEY_1, CLIPROXY_STORE_NEW_KEY: KEY_2 });
    expect(r.code).toBe(0);
    expect(r.out).toContain('Re-encrypted 2 accounts');
    expect(r.out + r.err).not.toContain(KEY_2);
    expect(await tokens(pgStore(KEY_2))).toEqual({ 'acct-1': 'refresh-1-tok', 'acct-2': 'refresh-2-tok' });
    const old = await pgStore(KEY_1).list();
    expect(old.accounts).toEqual([]);
    expect(old.problems.map((p) => p.kind)).toEqual(['locked', 'locked']);

    const plain = await run(['store', 'rekey', '--to-plain'], { CLIPROXY_STORE: 'postgres', CLIPROXY_STORE_KEY: KEY_2 });
    expect(plain.code).toBe(0);
    expect(plain.out).toContain('Decrypted 2 accounts');
    const rows = await adminQuery<{ data: Record<string, unknown> }>(`SELECT data FROM "${schema}".cliproxy_accounts ORDER BY account_id`);
    expect(rows.map((x) => x.data.refreshToken)).toEqual(['refresh-1-tok', 'refresh-2-tok']);
    expect(rows.every((x) => x.data.sealed === undefined)).toBe(true);
  });

  it('encrypts a plain file store; with a wrong current key it refuses and changes nothing', async () => {
    const auth = path.join(dir, 'auth');
    const files = new FileAccountStore({ dir: auth });
    await files.save(credential(1));
    const enc = await run(['store', 'rekey'], { CLIPROXY_STORE_NEW_KEY: KEY_1 });
    expect(enc.code).toBe(0);
    const read = () => readdirSync(auth).filter((n) => n.endsWith('.json')).map((n) => readFileSync(path.join(auth, n), 'utf8'));
    const sealed = read();
    expect(sealed[0]).toContain('"sealed"');
    expect(sealed[0]).not.toContain('refresh-1-tok');

    const wrong = await run(['store', 'rekey'], { CLIPROXY_STORE_KEY: KEY_2, CLIPROXY_STORE_NEW_KEY: 'yet another passphrase here' });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/Cannot read 1 account .*user1@example.com/);
    expect(read()).toEqual(sealed);

    expect((await run(['store', 'rekey'], {})).code).toBe(2);
  });
});
