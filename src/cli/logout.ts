import path from 'node:path';
import { createInterface } from 'node:readline';
import { Option, type Command } from 'commander';
import type { StoredAccount } from '../accounts/store.js';
import { openAccountStore } from '../auth/store-for-config.js';
import type { AccountStore } from '../accounts/store.js';
import type { Config } from '../config/schema.js';
import { TokenClient } from '../auth/token-client.js';
import { CliError } from '../errors.js';
import { configFrom, writeLine, type CliContext, type CommonOptions } from './context.js';
import { withCommonOptions } from './common-options.js';
import type { LoginSeams } from './login.js';

interface LogoutOptions extends CommonOptions {
  all?: boolean;
  yes?: boolean;
}

async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  ctx.stderr.write(`${question} [y/N] `);
  const rl = createInterface({ input: ctx.stdin, terminal: false });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

function select(accounts: StoredAccount[], who: string): StoredAccount[] {
  const byId = accounts.filter((a) => a.credential.accountId === who);
  if (byId.length > 0) return byId;
  const lower = who.toLowerCase();
  const byEmail = accounts.filter((a) => a.credential.email.toLowerCase() === lower);
  if (byEmail.length > 1) {
    const ids = byEmail.map((a) => a.credential.accountId).join(', ');
    throw new CliError(`${who} is signed in to ${byEmail.length} workspaces; run logout with the account id instead (${ids}).`);
  }
  if (byEmail.length === 1) return byEmail;
  return accounts.filter((a) => path.basename(a.location) === who || a.location === who);
}

export function registerLogout(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('logout')
    .description('remove an account (by email or account id), or every account with --all')
    .argument('[account]', 'email or account id')
    .addOption(new Option('--all', 'remove every account'))
    .addOption(new Option('-y, --yes', 'do not ask for confirmation'));
  withCommonOptions(cmd);
  cmd.action(async (who: string | undefined, opts: LogoutOptions) => {
    const config = configFrom(ctx, opts);
    const opened = await openAccountStore(config, ctx.clock, { warn: (message: string) => writeLine(ctx.stderr, `Warning: ${message}`) });
    try {
      await runLogout(who, opts, config, opened.store);
    } finally {
      await opened.close();
    }
  });

  async function runLogout(who: string | undefined, opts: LogoutOptions, config: Config, store: AccountStore): Promise<void> {
    const where = store.description;
    const { accounts } = await store.list();
    let targets: StoredAccount[];
    if (opts.all) {
      if (who) throw new CliError('Give either an account or --all, not both.', 2);
      targets = accounts;
      if (targets.length === 0) {
        writeLine(ctx.stdout, `No accounts in ${where}.`);
        return;
      }
      if (ctx.stdin.isTTY && !opts.yes) {
        const ok = await confirm(ctx, `Remove all ${targets.length} account(s) from ${where}?`);
        if (!ok) {
          writeLine(ctx.stderr, 'Nothing removed.');
          ctx.exitCode = 1;
          return;
        }
      }
    } else if (who) {
      targets = select(accounts, who);
      if (targets.length === 0) throw new CliError(`No account ${who} in ${where}. See: cliproxy status`);
    } else {
      if (accounts.length === 0) {
        writeLine(ctx.stdout, `No accounts in ${where}.`);
        return;
      }
      if (accounts.length > 1) {
        const emails = accounts.map((a) => a.credential.email).join(', ');
        throw new CliError(`${accounts.length} accounts are signed in (${emails}): name one (cliproxy logout <email>) or use --all.`, 2);
      }
      targets = accounts;
    }

    const seams = ctx as CliContext & LoginSeams;
    const tokens = new TokenClient({ issuer: config.codex.issuer, clientId: config.codex.clientId, fetch: seams.fetch, timeoutMs: 5000 });
    for (const t of targets) {
      const c = t.credential;
      const removed = await store.remove(c.accountId);
      // every file of the account goes (a duplicate copy too): name each one
      writeLine(ctx.stdout, `Logged out ${c.email} (removed ${(removed.length > 0 ? removed : [t.location]).join(', ')})`);
      try {
        await tokens.revoke(c.refreshToken);
      } catch (err) {
        writeLine(ctx.stderr, `Warning: could not revoke the refresh token of ${c.email} (${(err as Error).message}); the file was removed anyway.`);
      }
    }
  }
  return cmd;
}
