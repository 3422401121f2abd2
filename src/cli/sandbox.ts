import { Option, type Command } from 'commander';
import { CliError } from '../errors.js';
import { startSandbox } from '../sandbox/index.js';
import { writeLine, type CliContext } from './context.js';
import { parsePort, parsePositiveNumber } from './common-options.js';

interface SandboxCommandOptions {
  port?: number;
  host?: string;
  autoApprove?: boolean;
  quiet?: boolean;
  deviceInterval?: number;
  tokenTtl?: number;
}

export function registerSandbox(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('sandbox')
    .description('run the local emulator of the OpenAI issuer and the Codex backend (offline testing)')
    .addOption(new Option('--port <port>', 'port to listen on (default 0 = any free port)').argParser(parsePort))
    .addOption(new Option('--host <host>', 'address to bind (default 127.0.0.1)'))
    .addOption(new Option('--auto-approve', 'approve every browser authorization and device code automatically'))
    .addOption(new Option('--quiet', 'do not log one line per request'))
    .addOption(
      new Option('--device-interval <seconds>', 'polling interval the device flow asks clients to use (default 5, like the real service)').argParser(
        parsePositiveNumber('device interval'),
      ),
    )
    .addOption(new Option('--token-ttl <seconds>', 'lifetime of issued access tokens (default 3600)').argParser(parsePositiveNumber('token ttl')));
  cmd.action(async (opts: SandboxCommandOptions) => {
    let sandbox;
    try {
      sandbox = await startSandbox({
        port: opts.port ?? 0,
        host: opts.host ?? '127.0.0.1',
        autoApprove: opts.autoApprove ?? false,
        quiet: opts.quiet ?? false,
        ...(opts.deviceInterval !== undefined ? { deviceIntervalSeconds: opts.deviceInterval } : {}),
        ...(opts.tokenTtl !== undefined ? { accessTokenTtlSeconds: opts.tokenTtl } : {}),
        clock: ctx.clock,
        log: (line) => writeLine(ctx.stderr, line),
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new CliError(`sandbox: port ${opts.port ?? 0} is already in use; pick another with --port`, 1);
      throw new CliError(`sandbox: could not start: ${err instanceof Error ? err.message : String(err)}`, 1);
    }
    const out = ctx.stdout;
    writeLine(out, `sandbox listening on ${sandbox.url}`);
    writeLine(out, `  issuer:       ${sandbox.issuer}   (codex.issuer / CLIPROXY_CODEX_ISSUER)`);
    writeLine(out, `  backend:      ${sandbox.baseUrl}   (codex.base-url / CLIPROXY_CODEX_BASE_URL)`);
    writeLine(out, `  device page:  ${sandbox.url}/codex/device`);
    writeLine(out, `  auto-approve: ${opts.autoApprove ? 'on' : 'off'}`);
    writeLine(out, 'Try it:');
    writeLine(out, `  CLIPROXY_CODEX_ISSUER=${sandbox.issuer} CLIPROXY_CODEX_BASE_URL=${sandbox.baseUrl} cliproxy login --device-auth`);
    writeLine(out, 'Press Ctrl-C to stop.');
    await new Promise<void>((resolve) => {
      const off = ctx.onInterrupt(() => {
        off();
        void sandbox.close().then(resolve);
      });
    });
    writeLine(out, 'sandbox stopped');
  });
  return cmd;
}
