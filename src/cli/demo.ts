import type { Command } from 'commander';
import { CliError } from '../errors.js';
import type { CliContext } from './context.js';

export function registerDemo(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('demo')
    .description('start the sandbox, sign in one account by device code, start the server and send one request');
  cmd.action(async () => {
    void ctx;
    throw new CliError('demo: not implemented yet');
  });
  return cmd;
}
