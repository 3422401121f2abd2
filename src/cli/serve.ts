import { Option, type Command } from 'commander';
import { CliError } from '../errors.js';
import type { CliContext } from './context.js';
import { parsePort, withCommonOptions } from './common-options.js';

export function registerServe(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('serve', { isDefault: true })
    .description('start the OpenAI-compatible API server (the default command)')
    .addOption(new Option('--host <host>', 'address to bind (default 127.0.0.1)'))
    .addOption(new Option('--port <port>', 'port to listen on (default 8080)').argParser(parsePort));
  withCommonOptions(cmd);
  cmd.action(async () => {
    void ctx;
    throw new CliError('serve: not implemented yet');
  });
  return cmd;
}
