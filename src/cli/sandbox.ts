import { Option, type Command } from 'commander';
import { CliError } from '../errors.js';
import type { CliContext } from './context.js';
import { parsePort } from './common-options.js';

export function registerSandbox(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('sandbox')
    .description('run the local emulator of the OpenAI issuer and the Codex backend (offline testing)')
    .addOption(new Option('--port <port>', 'port to listen on (default 0 = any free port)').argParser(parsePort))
    .addOption(new Option('--host <host>', 'address to bind (default 127.0.0.1)'))
    .addOption(new Option('--auto-approve', 'approve every browser authorization and device code automatically'));
  cmd.action(async () => {
    void ctx;
    throw new CliError('sandbox: not implemented yet');
  });
  return cmd;
}
