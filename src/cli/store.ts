import { Option, type Command } from 'commander';
import { StoreCipher, type StoreCrypto } from '../accounts/store-cipher.js';
import { migrateAccounts, rewriteAccounts, type TransferAction } from '../accounts/store-transfer.js';
import { StoreLockedError } from '../accounts/store.js';
import { openAccountStore, storeCryptoFor } from '../auth/store-for-config.js';
import { ConfigError } from '../config/load.js';
import { CliError } from '../errors.js';
import { withCommonOptions } from './common-options.js';
import { configFrom, writeLine, type CliContext, type CommonOptions } from './context.js';

/**
 * `cliproxy store migrate --from file|postgres --to file|postgres [--dry-run]`: copies the
 * accounts from one store to the other (idempotent; the newer tokens win).
 * `cliproxy store rekey [--to-plain]`: re-encrypts the configured store with
 * CLIPROXY_STORE_NEW_KEY (read with store.encryption-key / CLIPROXY_STORE_KEY), or writes it
 * back in plain text.
 */
type StoreType = 'file' | 'postgres';

interface MigrateOptions extends CommonOptions {
  from: StoreType;
  to: StoreType;
  dryRun?: boolean;
}

interface RekeyOptions extends CommonOptions {
  toPlain?: boolean;
}

const ACTION_TEXT: Record<TransferAction, [string, string]> = {
  copy: ['copied', 'would copy'],
  update: ['updated (newer tokens in the source)', 'would update (newer tokens in the source)'],
  same: ['unchanged (same tokens)', 'unchanged (same tokens)'],
  'target-newer': ['kept (the target has newer tokens)', 'would keep (the target has newer tokens)'],
  failed: ['FAILED', 'would fail'],
};

export function registerStore(program: Command, ctx: CliContext): Command {
  const store = program.command('store').description('move accounts between stores, or change their encryption key');

  const migrate = store
    .command('migrate')
    .description('copy the accounts from one store to the other (idempotent; the newer tokens win)')
    .addOption(new Option('--from <type>', 'source store').choices(['file', 'postgres']).makeOptionMandatory())
    .addOption(new Option('--to <type>', 'target store').choices(['file', 'postgres']).makeOptionMandatory())
    .addOption(new Option('--dry-run', 'list what would be done; write nothing'));
  withCommonOptions(migrate);
  migrate.action(async (opts: MigrateOptions) => {
    if (opts.from === opts.to) throw new CliError(`--from and --to are both ${opts.from}: nothing to migrate.`, 2);
    const config = configFrom(ctx, opts);
    const from = await openAccountStore(config, ctx.clock, { type: opts.from });
    try {
      const to = await openAccountStore(config, ctx.clock, { type: opts.to });
      try {
        if (!opts.dryRun) await to.ensureWritable();
        const report = await migrateAccounts(from.store, to.store, { dryRun: opts.dryRun === true });
        writeLine(ctx.stdout, `${opts.dryRun ? 'Dry run: ' : ''}${from.store.description} → ${to.store.description}`);
        for (const item of report.items) {
          const text = ACTION_TEXT[item.action][opts.dryRun ? 1 : 0];
          writeLine(ctx.stdout, `  ${item.email} (${item.accountId}): ${text}${item.action === 'failed' ? `: ${item.detail}` : ''}`);
        }
        for (const p of report.problems) writeLine(ctx.stderr, `  skipped ${p.location}: ${p.reason}`);
        const count = (a: TransferAction) => report.items.filter((i) => i.action === a).length;
        writeLine(
          ctx.stdout,
          `${report.items.length} account${report.items.length === 1 ? '' : 's'}: ${count('copy')} ${opts.dryRun ? 'to copy' : 'copied'}, ${count('update')} ${opts.dryRun ? 'to update' : 'updated'}, ` +
            `${count('same')} unchanged, ${count('target-newer')} kept${count('failed') ? `, ${count('failed')} failed` : ''}${report.problems.length ? `, ${report.problems.length} unreadable in the source` : ''}.` +
            (opts.dryRun ? ' Nothing was written.' : ''),
        );
        if (count('failed') > 0 || report.problems.length > 0) ctx.exitCode = 1;
      } finally {
        await to.close();
      }
    } finally {
      await from.close();
    }
  });

  const rekey = store
    .command('rekey')
    .description('re-encrypt every account with CLIPROXY_STORE_NEW_KEY (stop the servers first), or decrypt with --to-plain')
    .addOption(new Option('--to-plain', 'write the tokens back in plain text'));
  withCommonOptions(rekey);
  rekey.action(async (opts: RekeyOptions) => {
    const config = configFrom(ctx, opts);
    const current = storeCryptoFor(config);
    const newSecret = ctx.env.CLIPROXY_STORE_NEW_KEY;
    if (opts.toPlain && newSecret) throw new CliError('Give either --to-plain or CLIPROXY_STORE_NEW_KEY, not both.', 2);
    if (!opts.toPlain && !newSecret) throw new CliError('Set CLIPROXY_STORE_NEW_KEY to the new key (32 bytes base64, or a passphrase of 12+ characters), or pass --to-plain.', 2);
    let next: StoreCipher | null = null;
    if (newSecret) {
      try {
        next = StoreCipher.fromSecret(newSecret);
      } catch (err) {
        throw new ConfigError((err as Error).message.replace('store.encryption-key (CLIPROXY_STORE_KEY)', 'CLIPROXY_STORE_NEW_KEY'));
      }
    }
    // read with the current key (or the new one, so an interrupted rekey can be run again); seal with the new one
    const crypto: StoreCrypto = { seal: next, open: [...(next ? [next] : []), ...current.open] };
    const opened = await openAccountStore(config, ctx.clock, { crypto });
    try {
      const { problems } = await opened.store.list();
      const locked = problems.filter((p) => p.kind === 'locked');
      if (locked.length > 0) throw new CliError(new StoreLockedError(locked, opened.store.description).message, 1);
      const n = await rewriteAccounts(opened.store);
      if (next) {
        writeLine(ctx.stdout, `Re-encrypted ${n} account${n === 1 ? '' : 's'} in ${opened.store.description} with the new key.`);
        writeLine(ctx.stdout, 'Now set CLIPROXY_STORE_KEY (or store.encryption-key) to the new key on every instance, and start them again.');
      } else {
        writeLine(ctx.stdout, `Decrypted ${n} account${n === 1 ? '' : 's'} in ${opened.store.description}: the tokens are stored in plain text now.`);
        writeLine(ctx.stdout, 'Remove CLIPROXY_STORE_KEY (and store.encryption-key) from every instance.');
      }
    } finally {
      await opened.close();
    }
  });
  return store;
}
