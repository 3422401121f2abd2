import { homedir } from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { browserLogin, type LoginResult } from '../auth/browser-login.js';
import { defaultCodexAuthPath, readCodexAuth, SHARED_REFRESH_WARNING } from '../auth/codex-import.js';
import { credentialFromTokens } from '../auth/credential-from-tokens.js';
import { deviceLogin } from '../auth/device-login.js';
import { LoginError } from '../auth/login-error.js';
import { openAccountStore } from '../auth/store-for-config.js';
import type { Config } from '../config/schema.js';
import type { OpenedStore } from '../auth/store-for-config.js';
import { configFrom, writeLine, type CliContext, type CommonOptions } from './context.js';
import { parsePort, parsePositiveNumber, withCommonOptions } from './common-options.js';
import { countUsable } from './status.js';

/**
 * Optional seams a test (or an embedding program) may put on the CLI context: how to open a
 * browser and which fetch to use for the issuer. Production uses the `open` package and
 * the global fetch.
 */
export interface LoginSeams {
  openBrowser?: (url: string) => Promise<void>;
  fetch?: typeof fetch;
}

interface LoginOptions extends CommonOptions {
  deviceAuth?: boolean;
  browser?: boolean;
  oauthCallbackPort?: number;
  timeout?: number;
  fromCodex?: string | boolean;
}

async function openWithSystemBrowser(url: string): Promise<void> {
  const { default: open } = await import('open');
  const child = await open(url);
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('spawn', () => resolve());
    // already spawned (or failed synchronously) before we listened
    setTimeout(resolve, 500).unref();
  });
}

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
  cmd.action(async (opts: LoginOptions) => {
    const config = configFrom(ctx, opts);
    const seams = ctx as CliContext & LoginSeams;
    const opened = await openAccountStore(config, ctx.clock, { warn: (message: string) => writeLine(ctx.stderr, `Warning: ${message}`) });
    try {
      await runLogin(opts, config, seams, opened);
    } finally {
      await opened.close();
    }
  });

  async function runLogin(opts: LoginOptions, config: Config, seams: CliContext & LoginSeams, opened: OpenedStore): Promise<void> {
    const store = opened.store;

    if (opts.fromCodex !== undefined && opts.fromCodex !== false) {
      const home = ctx.env.HOME || homedir();
      const file = typeof opts.fromCodex === 'string' ? path.resolve(ctx.cwd, opts.fromCodex) : defaultCodexAuthPath(ctx.env, home);
      const credential = await readCodexAuth(file, ctx.clock.now());
      await opened.ensureWritable();
      const saved = await store.save(credential);
      writeLine(ctx.stderr, SHARED_REFRESH_WARNING);
      writeLine(ctx.stdout, `Authentication saved to ${saved}`);
      writeLine(ctx.stdout, `Imported ${credential.email} (${credential.planType}) from ${file}.`);
      return;
    }

    // fail before the sign-in, not after it, when the tokens could not be saved
    await opened.ensureWritable();

    const abort = new AbortController();
    const unregister = ctx.onInterrupt(() => abort.abort());
    const device = opts.deviceAuth === true;
    let result: LoginResult;
    try {
      if (device) {
        result = await deviceLogin({
          issuer: config.codex.issuer,
          clientId: config.codex.clientId,
          clock: ctx.clock,
          stdout: ctx.stdout,
          stderr: ctx.stderr,
          fetch: seams.fetch,
          signal: abort.signal,
        });
      } else {
        result = await browserLogin({
          issuer: config.codex.issuer,
          clientId: config.codex.clientId,
          originator: config.codex.originator,
          port: opts.oauthCallbackPort,
          timeoutMs: opts.timeout !== undefined ? opts.timeout * 1000 : undefined,
          clock: ctx.clock,
          stdout: ctx.stdout,
          stderr: ctx.stderr,
          stdin: ctx.stdin,
          openBrowser: opts.browser === false ? null : (seams.openBrowser ?? openWithSystemBrowser),
          fetch: seams.fetch,
          signal: abort.signal,
        });
      }
    } finally {
      unregister();
    }
    let credential;
    try {
      credential = credentialFromTokens(result.tokens, device ? 'device' : 'oauth', ctx.clock.now(), result.pkce);
    } catch (err) {
      throw new LoginError(`Authentication failed: ${(err as Error).message}`);
    }
    const saved = await store.save(credential);
    writeLine(ctx.stdout, `Authentication saved to ${saved}`);
    writeLine(ctx.stdout, device ? 'Codex device authentication successful!' : 'Codex authentication successful!');
  }

  const status = cmd.command('status').description('show whether any account is signed in (exit 0 if so, 1 if not)');
  withCommonOptions(status);
  status.action(async (opts: CommonOptions) => {
    const config = configFrom(ctx, { ...cmd.opts<CommonOptions>(), ...opts });
    const opened = await openAccountStore(config, ctx.clock, { warn: (message: string) => writeLine(ctx.stderr, `Warning: ${message}`) });
    let accounts;
    try {
      ({ accounts } = await opened.store.list());
    } finally {
      await opened.close();
    }
    const usable = countUsable(accounts.map((a) => a.credential));
    if (usable > 0) {
      writeLine(ctx.stdout, `Logged in using ChatGPT (${usable} ${usable === 1 ? 'account' : 'accounts'})`);
      ctx.exitCode = 0;
    } else {
      writeLine(ctx.stdout, 'Not logged in');
      ctx.exitCode = 1;
    }
  });
  return cmd;
}
