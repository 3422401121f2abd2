import { Command, CommanderError } from 'commander';
import { packageVersion } from '../app/version.js';
import { ConfigError } from '../config/load.js';
import { CliError } from '../errors.js';
import { defaultContext, writeLine, type CliContext } from './context.js';
import { COMMAND_NAMES, mapLegacyArgs, type CommandName } from './legacy-flags.js';
import { registerServe } from './serve.js';
import { registerLogin } from './login.js';
import { registerStatus } from './status.js';
import { registerLogout } from './logout.js';
import { registerExec } from './exec.js';
import { registerStore } from './store.js';
import { registerSandbox } from './sandbox.js';
import { registerDemo } from './demo.js';

/** One registration per command name (legacy-flags.ts COMMAND_NAMES: the one list of commands). */
const REGISTER: Record<CommandName, (program: Command, ctx: CliContext) => Command> = {
  serve: registerServe,
  login: registerLogin,
  status: registerStatus,
  logout: registerLogout,
  exec: registerExec,
  store: registerStore,
  sandbox: registerSandbox,
  demo: registerDemo,
};

export function buildProgram(ctx: CliContext): Command {
  const program = new Command();
  program
    .name('cliproxy')
    .description('Serve ChatGPT accounts as an OpenAI-compatible API (also installed as CLIProxyAPI).')
    .version(packageVersion(), '-V, --version')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    // both are inherited by every subcommand created after this point (commander copies them)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
      outputError: (s, write) => write(s),
    })
    .addHelpText(
      'after',
      `
Legacy flags (CLIProxyAPI style) work as written:
  cliproxy -codex-login [-no-browser] [-oauth-callback-port N]   same as: cliproxy login
  cliproxy -codex-device-login                                 same as: cliproxy login --device-auth
  cliproxy -config F -auth-dir D                               same as: cliproxy serve --config F --auth-dir D
A bare "cliproxy" starts the server.`,
    );

  for (const name of COMMAND_NAMES) REGISTER[name](program, ctx);
  return program;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: readonly string[], ctx: CliContext = defaultContext()): Promise<number> {
  const program = buildProgram(ctx);
  // a bare `cliproxy` (or only serve's flags) becomes `serve …` here, so serve need not be commander's default
  const args = mapLegacyArgs(argv);
  try {
    await program.parseAsync(args, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      // commander already printed the one-line error; add the usage line of the command
      const words = args.filter((a) => !a.startsWith('-'));
      let cmd: Command = program;
      for (const w of words) {
        const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
        if (!sub) break;
        cmd = sub;
      }
      writeLine(ctx.stderr, `Usage: ${commandPath(cmd)} ${cmd.usage()}`);
      writeLine(ctx.stderr, `Run "${commandPath(cmd)} --help" for details.`);
      return 2;
    }
    if (err instanceof CliError) {
      writeLine(ctx.stderr, err.message);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      writeLine(ctx.stderr, err.message);
      return 78; // EX_CONFIG
    }
    throw err;
  }
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
