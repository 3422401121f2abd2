import { Option, type Command } from 'commander';
import { StoreLockedError } from '../accounts/store.js';
import { serverGcFlags } from '../app/gc-schedule.js';
import { CliError } from '../errors.js';
import { HostNotAllowedError } from '../server/host-policy.js';
import { startServer, type ServerHandle } from '../server/run.js';
import { configFrom, writeLine, type CliContext, type CommonOptions } from './context.js';
import { parsePort, withCommonOptions } from './common-options.js';

interface ServeOptions extends CommonOptions {
  host?: string;
  port?: number;
}

export function registerServe(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('serve')
    .description('start the OpenAI-compatible API server (the default command)')
    .addOption(new Option('--host <host>', 'address to bind (default 127.0.0.1; another address needs api-keys)'))
    .addOption(new Option('--port <port>', 'port to listen on (default 8080)').argParser(parsePort));
  withCommonOptions(cmd);
  cmd.action(async (opts: ServeOptions) => {
    const config = configFrom(ctx, opts);
    // before the first request: when V8 collects the old generation (see gc-schedule.ts)
    ctx.setV8Flags?.(serverGcFlags(ctx.env, ctx.execArgv ?? []));
    // Ctrl-C / SIGTERM is handled from before the start: a signal that came right after "listening
    // on" (a supervisor that stops what it just started) would otherwise still find no handler and
    // kill the process without a shutdown. One during the start stops the server once it is up.
    let server: ServerHandle | undefined;
    let interrupted = false;
    let stopped!: () => void;
    const done = new Promise<void>((resolve) => (stopped = resolve));
    const stop = () => {
      off();
      writeLine(ctx.stderr, 'Shutting down…');
      server!.close().then(stopped, (err: unknown) => {
        writeLine(ctx.stderr, `error while shutting down: ${(err as Error).message}`);
        stopped();
      });
    };
    const off = ctx.onInterrupt(() => {
      if (server) stop();
      else interrupted = true;
    });
    try {
      server = await startServer(config, {
        clock: ctx.clock,
        stdout: ctx.stdout,
        stderr: ctx.stderr,
        configSource: { load: (fileContent) => configFrom(ctx, opts, fileContent) },
      });
    } catch (err) {
      off();
      if (err instanceof HostNotAllowedError) throw new CliError(err.message, 78);
      if (err instanceof StoreLockedError) throw new CliError(err.message, 1);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new CliError(`Port ${config.port} on ${config.host} is already in use: pick another with --port.`, 1);
      if (code === 'EACCES') throw new CliError(`Not allowed to listen on ${config.host}:${config.port} (ports below 1024 need privileges).`, 1);
      if (code === 'EADDRNOTAVAIL') throw new CliError(`Cannot listen on ${config.host}: no such local address.`, 1);
      throw err;
    }
    if (interrupted) stop();
    await done;
  });
  return cmd;
}
