import { Option, type Command } from 'commander';
import { CliError } from '../errors.js';
import type { CliContext } from './context.js';
import { withCommonOptions } from './common-options.js';

export function registerExec(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('exec')
    .description('send one prompt through the account pool and print the answer (no server needed)')
    .argument('<prompt>', 'the prompt; "-" reads it from stdin')
    .addOption(new Option('-m, --model <model>', 'model to use (default gpt-5-codex)'))
    .addOption(new Option('--json', 'print the full chat completion as JSON'))
    .addOption(new Option('--stream', 'print the answer as it arrives'));
  withCommonOptions(cmd);
  cmd.action(async () => {
    void ctx;
    throw new CliError('exec: not implemented yet');
  });
  return cmd;
}
