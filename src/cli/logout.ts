import { Option, type Command } from 'commander';
import { CliError } from '../errors.js';
import type { CliContext } from './context.js';
import { withCommonOptions } from './common-options.js';

export function registerLogout(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('logout')
    .description('remove an account (by email or account id), or every account with --all')
    .argument('[account]', 'email or account id')
    .addOption(new Option('--all', 'remove every account'))
    .addOption(new Option('-y, --yes', 'do not ask for confirmation'));
  withCommonOptions(cmd);
  cmd.action(async () => {
    void ctx;
    throw new CliError('logout: not implemented yet');
  });
  return cmd;
}
