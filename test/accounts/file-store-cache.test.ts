import { mkdtemp, writeFile } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { accountFileName, FileAccountStore } from '../../src/accounts/file-store.js';
import { credentialToFileObject, serializeCredential } from '../../src/accounts/credential-file.js';
import * as regularFile from '../../src/util/regular-file.js';
import { makeCredential } from '../auth/helpers.js';

// count the directory scans and file reads the store does (the real functions still run)
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return { ...real, readFile: vi.fn(real.readFile), readdir: vi.fn(real.readdir) };
});
// token files are read through readRegularFile (never a FIFO): count those reads too
vi.mock('../../src/util/regular-file.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/util/regular-file.js')>();
  return { ...real, readRegularFile: vi.fn(real.readRegularFile) };
});
const readFileMock = vi.mocked(fsp.readFile);
const readRegularMock = vi.mocked(regularFile.readRegularFile);
const readdirMock = vi.mocked(fsp.readdir);

/** Token files the store read since the last reset (by base name). */
function filesRead(): string[] {
  return [...readFileMock.mock.calls, ...readRegularMock.mock.calls].map((c) => path.basename(String(c[0]))).filter((n) => n.startsWith('codex-'));
}

const alice = makeCredential({ accountId: 'acc-a', email: 'alice@example.com' });
const bob = makeCredential({ accountId: 'acc-b', email: 'bob@example.com' });
const carol = makeCredential({ accountId: 'acc-c', email: 'carol@example.com' });

async function storeWithThree(): Promise<{ dir: string; store: FileAccountStore }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'store-cache-'));
  const store = new FileAccountStore({ dir });
  for (const c of [alice, bob, carol]) await store.save(c);
  await store.list();
  return { dir, store };
}

beforeEach(() => {
  readFileMock.mockClear();
  readRegularMock.mockClear();
  readdirMock.mockClear();
});

describe('FileAccountStore reads only what changed', () => {
  it('load and save of a known account read at most its own file and never scan the directory', async () => {
    const { dir, store } = await storeWithThree();
    // another process rewrites alice's file: the next load reads that one file again
    const rotated = { ...alice, refreshToken: 'rt_rotated_by_another_process_0000', lastRefresh: alice.lastRefresh! + 1000 };
    await writeFile(path.join(dir, accountFileName(alice.email, alice.accountId)), serializeCredential(rotated));
    readFileMock.mockClear();
    readRegularMock.mockClear();
    readdirMock.mockClear();

    expect((await store.load('acc-a'))?.credential).toEqual(rotated);
    expect(filesRead()).toEqual([accountFileName(alice.email, alice.accountId)]);
    expect(await store.load('acc-a')).toMatchObject({ credential: rotated }); // unchanged since: from the cache
    expect(filesRead()).toHaveLength(1);

    const next = { ...rotated, accessToken: 'access-new', lastRefresh: rotated.lastRefresh + 1000 };
    await store.save(next);
    expect(filesRead()).toHaveLength(1);
    expect(readdirMock).not.toHaveBeenCalled();

    // a list after the save parses nothing again: every file is unchanged or was written by us
    const { accounts, problems } = await store.list();
    expect(problems).toEqual([]);
    expect(accounts.map((a) => a.credential.accountId).sort()).toEqual(['acc-a', 'acc-b', 'acc-c']);
    expect(accounts.find((a) => a.credential.accountId === 'acc-a')?.credential).toEqual(next);
    expect(filesRead()).toHaveLength(1);
  });

  it('hands out copies: changing a loaded credential does not change the next load', async () => {
    const { store } = await storeWithThree();
    const first = (await store.load('acc-b'))!;
    first.credential.disabled = true;
    expect((await store.load('acc-b'))!.credential.disabled).toBe(false);
  });

  it('falls back to a scan when the known file now holds another account, or is gone', async () => {
    const { dir, store } = await storeWithThree();
    const aliceFile = path.join(dir, accountFileName(alice.email, alice.accountId));
    await writeFile(aliceFile, serializeCredential({ ...bob, lastRefresh: 1 }));
    expect(await store.load('acc-a')).toBeNull();
    await fsp.unlink(aliceFile);
    expect(await store.load('acc-a')).toBeNull();
    expect((await store.load('acc-b'))?.credential).toEqual(bob);
  });

  it('with a duplicate file for an account, load returns the newest copy and save keeps writing the canonical file', async () => {
    const { dir, store } = await storeWithThree();
    const other = path.join(dir, 'codex-alice-copy.json');
    const newer = { ...alice, refreshToken: 'rt_newer_copy_000000000000000000', lastRefresh: alice.lastRefresh! + 5000 };
    await writeFile(other, JSON.stringify(credentialToFileObject(newer)));
    const listing = await store.list();
    expect(listing.problems.map((p) => path.basename(p.location))).toEqual([accountFileName(alice.email, alice.accountId)]);
    expect(listing.problems.map((p) => p.kind)).toEqual(['duplicate']);

    readdirMock.mockClear();
    expect((await store.load('acc-a'))?.credential).toEqual(newer);
    expect(readdirMock).toHaveBeenCalled(); // duplicates: decided by a scan, as before
    expect(await store.save({ ...newer, accessToken: 'access-after' })).toBe(path.join(dir, accountFileName(alice.email, alice.accountId)));
  });

  it('a corrupt file in place of the known one is never overwritten', async () => {
    const { dir, store } = await storeWithThree();
    const aliceFile = path.join(dir, accountFileName(alice.email, alice.accountId));
    await writeFile(aliceFile, '{"access_token": "half a file');
    expect((await store.list()).problems.map((p) => [path.basename(p.location), p.kind])).toEqual([[path.basename(aliceFile), 'corrupt']]);
    await expect(store.save({ ...alice, accessToken: 'access-x' })).rejects.toThrow(/Refusing to overwrite .*not a valid token file/);
    expect(await fsp.readFile(aliceFile, 'utf8')).toBe('{"access_token": "half a file');
  });

  it('checks the directory once, and again after it was removed', async () => {
    const { dir, store } = await storeWithThree();
    await fsp.rm(dir, { recursive: true });
    const file = await store.save(alice);
    expect((await store.load('acc-a'))?.location).toBe(file);
    expect((await fsp.stat(dir)).mode & 0o777).toBe(0o700);
  });
});
