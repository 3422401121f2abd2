import type { Credential } from './credential.js';
import type { AccountStore, LoadProblem } from './store.js';

/**
 * Copying accounts between stores (`cliproxy store migrate`) and rewriting a store in place
 * (`cliproxy store rekey`). Both write each account under the target's refresh lock, reading
 * it again inside, so a server refreshing the same account at that moment is never undone.
 */

/** What migrate does with one account. */
export type TransferAction = 'copy' | 'update' | 'same' | 'target-newer' | 'failed';

export interface TransferItem {
  accountId: string;
  email: string;
  action: TransferAction;
  /** Where it was written (or would be); for `failed`, why not. */
  detail: string;
}

export interface TransferReport {
  items: TransferItem[];
  /** Source entries that could not be read (corrupt, locked): not copied. */
  problems: LoadProblem[];
}

/** Which credential to keep when both stores have the account: the later refresh wins; equal tokens are the same. */
export function compareTokens(source: Credential, target: Credential): 'same' | 'source-newer' | 'target-newer' {
  if (source.refreshToken === target.refreshToken && source.accessToken === target.accessToken) return 'same';
  return (source.lastRefresh ?? 0) > (target.lastRefresh ?? 0) ? 'source-newer' : 'target-newer';
}

/**
 * Copies every readable account of `from` into `to`: new ones are added, ones present in both
 * keep the newer tokens, identical ones are left alone (so running it twice changes nothing).
 * With dryRun nothing is written and the report says what would happen.
 */
export async function migrateAccounts(from: AccountStore, to: AccountStore, opts: { dryRun: boolean }): Promise<TransferReport> {
  const { accounts, problems } = await from.list();
  const items: TransferItem[] = [];
  for (const { credential: src } of accounts) {
    const base = { accountId: src.accountId, email: src.email };
    try {
      const decide = async (): Promise<TransferItem> => {
        const existing = await to.load(src.accountId);
        if (!existing) {
          const where = opts.dryRun ? to.description : await to.save(src);
          return { ...base, action: 'copy', detail: where };
        }
        const cmp = compareTokens(src, existing.credential);
        if (cmp === 'same') return { ...base, action: 'same', detail: existing.location };
        if (cmp === 'target-newer') return { ...base, action: 'target-newer', detail: existing.location };
        const where = opts.dryRun ? existing.location : await to.save(src);
        return { ...base, action: 'update', detail: where };
      };
      items.push(opts.dryRun ? await decide() : await to.withRefreshLock(src.accountId, decide));
    } catch (err) {
      items.push({ ...base, action: 'failed', detail: err instanceof Error ? err.message : String(err) });
    }
  }
  return { items, problems };
}

/** Writes every account of `store` again (with the store's current sealing key, or plain). Returns the number written. */
export async function rewriteAccounts(store: AccountStore): Promise<number> {
  const { accounts } = await store.list();
  let n = 0;
  for (const { credential } of accounts) {
    await store.withRefreshLock(credential.accountId, async () => {
      const fresh = await store.load(credential.accountId);
      if (!fresh) return;
      await store.save(fresh.credential);
      n++;
    });
  }
  return n;
}
