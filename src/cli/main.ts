import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load.js';
import { CliError } from '../errors.js';
import { defaultContext, writeLine, type CliContext } from './context.js';
import { KNOWN_COMMANDS, mapLegacyArgs } from './legacy-flags.js';
import { registerServe } from './serve.js';
import { registerLogin } from './login.js';
import { registerStatus } from './status.js';
import { registerLogout } from './logout.js';
import { registerExec } from './exec.js';
import { registerSandbox } from './sandbox.js';
import { registerDemo } from './demo.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command();
  program
    .name('cliproxy')
    .description('Serve ChatGPT accounts as an OpenAI-compatible API (also installed as CLIProxyAPI).')
    .version(version(), '-V, --version')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
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

  const commands = [registerServe, registerLogin, registerStatus, registerLogout, registerExec, registerSandbox, registerDemo];
  for (const register of commands) {
    const cmd = register(program, ctx);
    applyErrorHandling(cmd, ctx);
  }
  return program;
}

function applyErrorHandling(cmd: Command, ctx: CliContext): void {
  cmd.exitOverride();
  cmd.configureOutput({
    writeOut: (s) => ctx.stdout.write(s),
    writeErr: (s) => ctx.stderr.write(s),
    outputError: (s, write) => write(s),
  });
  for (const sub of cmd.commands) applyErrorHandling(sub, ctx);
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: readonly string[], ctx: CliContext = defaultContext()): Promise<number> {
  const program = buildProgram(ctx);
  const args = mapLegacyArgs(argv);
  const first = args[0];
  if (first !== undefined && !first.startsWith('-') && !KNOWN_COMMANDS.includes(first)) {
    writeLine(ctx.stderr, `error: unknown command '${first}'`);
    writeLine(ctx.stderr, `Usage: cliproxy ${program.usage()}`);
    writeLine(ctx.stderr, 'Run "cliproxy --help" for details.');
    return 2;
  }
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
