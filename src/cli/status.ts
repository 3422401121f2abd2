import { Option, type Command } from 'commander';
import { CliError } from '../errors.js';
import type { CliContext } from './context.js';
import { withCommonOptions } from './common-options.js';

export function registerStatus(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('status')
    .description('list accounts: email, plan, file, token expiry, state, last refresh')
    .addOption(new Option('--json', 'print JSON instead of a table'));
  withCommonOptions(cmd);
  cmd.action(async () => {
    void ctx;
    throw new CliError('status: not implemented yet');
  });
  return cmd;
}
