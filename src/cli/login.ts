import { Option, type Command } from 'commander';
import { CliError } from '../errors.js';
import type { CliContext } from './context.js';
import { parsePort, parsePositiveNumber, withCommonOptions } from './common-options.js';

export function registerLogin(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('login')
    .description('sign in a ChatGPT account (browser OAuth with PKCE by default; --device-auth for headless machines)')
    .addOption(new Option('--device-auth', 'sign in with a device code (no local browser needed)'))
    .addOption(new Option('--no-browser', 'print the sign-in URL instead of opening a browser'))
    .addOption(new Option('--oauth-callback-port <port>', 'port of the local callback server (default 1455)').argParser(parsePort))
    .addOption(new Option('--timeout <seconds>', 'how long to wait for the browser callback (default 300)').argParser(parsePositiveNumber('timeout')))
    .addOption(new Option('--from-codex [path]', "import the Codex CLI's auth.json (default ~/.codex/auth.json)"));
  withCommonOptions(cmd);
  cmd.action(async () => {
    void ctx;
    throw new CliError('login: not implemented yet');
  });
  const status = cmd.command('status').description('show whether any account is signed in (exit 0 if so, 1 if not)');
  withCommonOptions(status);
  status.action(async () => {
    throw new CliError('login status: not implemented yet');
  });
  return cmd;
}
