import { Command, CommanderError } from 'commander';
import { packageVersion } from '../app/version.js';
import { ConfigError } from '../config/load.js';
import { CliError } from '../errors.js';
import { defaultContext, writeLine, type CliContext } from './context.js';
import { COMMAND_NAMES, mapLegacyArgs, type CommandName } from './legacy-flags.js';
/**
 * One registration per command name (legacy-flags.ts COMMAND_NAMES: the one list of commands),
 * loaded on demand: a command's module brings everything it runs (the server, the sandbox, the
 * login flows), and `cliproxy serve` should not pay for loading the others at start-up.
 */
export type Register = (program: Command, ctx: CliContext) => Command;
const REGISTER: Record<CommandName, () => Promise<Register>> = {
  serve: async () => (await import('./serve.js')).registerServe,
  login: async () => (await import('./login.js')).registerLogin,
  status: async () => (await import('./status.js')).registerStatus,
  logout: async () => (await import('./logout.js')).registerLogout,
  exec: async () => (await import('./exec.js')).registerExec,
  store: async () => (await import('./store.js')).registerStore,
  sandbox: async () => (await import('./sandbox.js')).registerSandbox,
  demo: async () => (await import('./demo.js')).registerDemo,
};

/** The registrations of every command, or only of `only` (what a run of that command needs). */
export async function loadCommands(only?: CommandName): Promise<Register[]> {
  return Promise.all((only ? [only] : COMMAND_NAMES).map((name) => REGISTER[name]()));
}

/** The program with the given commands (loadCommands). */
export function buildProgram(ctx: CliContext, registers: readonly Register[]): Command {
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

  registers.forEach((register) => register(program, ctx));
  return program;
}

/**
 * Runs the CLI; returns the process exit code. `commands` (from loadCommands) are the ones
 * loaded beforehand; by default the command named first is loaded now (a test child that drops
 * its privileges loads them all before the drop).
 */
export async function main(argv: readonly string[], ctx: CliContext = defaultContext(), commands?: readonly Register[]): Promise<number> {
  // a bare `cliproxy` (or only serve's flags) becomes `serve …` here, so serve need not be commander's default
  const args = mapLegacyArgs(argv);
  // a command named first is all that is loaded; anything else (--help, --version, a typo to suggest a command for) gets them all
  const first = args[0];
  const program = buildProgram(ctx, commands ?? (await loadCommands((COMMAND_NAMES as readonly string[]).includes(first ?? '') ? (first as CommandName) : undefined)));
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
