import { describe, expect, it } from 'vitest';
import { MemoryAccountStore } from '../../src/accounts/memory-store.js';
import { makeCredential } from './pool-helpers.js';

const now = Date.UTC(2026, 0, 1);

describe('MemoryAccountStore', () => {
  it('copies values in and out', async () => {
    const c = makeCredential({ accountId: 'a', now });
    const store = new MemoryAccountStore({ accounts: [c] });
    c.email = 'changed@example.com';
    const loaded = (await store.load('a'))!;
    expect(loaded.credential.email).toBe('a@example.com');
    loaded.credential.disabled = true;
    expect((await store.load('a'))!.credential.disabled).toBe(false);
    expect(await store.remove('a')).toHaveLength(1);
    expect(await store.remove('a')).toEqual([]);
    expect((await store.list()).accounts).toEqual([]);
  });

  it('notifies watchers once per burst of changes, until unsubscribed', async () => {
    const store = new MemoryAccountStore();
    let calls = 0;
    const off = store.watch(() => calls++);
    await store.save(makeCredential({ accountId: 'a', now }));
    await store.save(makeCredential({ accountId: 'b', now }));
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(1);
    off();
    await store.remove('a');
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(1);
  });

  it('withRefreshLock runs one holder per account at a time, other accounts in parallel', async () => {
    const store = new MemoryAccountStore();
    const events: string[] = [];
    const hold = (id: string, tag: string) =>
      store.withRefreshLock(id, async () => {
        events.push(`start ${tag}`);
        await new Promise((r) => setTimeout(r, 10));
        events.push(`end ${tag}`);
        return tag;
      });
    const results = await Promise.all([hold('a', 'a1'), hold('a', 'a2'), hold('b', 'b1')]);
    expect(results).toEqual(['a1', 'a2', 'b1']);
    expect(events.indexOf('end a1')).toBeLessThan(events.indexOf('start a2'));
    expect(events.indexOf('start b1')).toBeLessThan(events.indexOf('end a1'));
    await expect(store.withRefreshLock('a', async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(await store.withRefreshLock('a', async () => 'after')).toBe('after');
  });
});
