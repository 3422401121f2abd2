import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { FileAccountStore } from '../accounts/file-store.js';
import { credentialFromTokens } from '../auth/credential-from-tokens.js';
import { deviceLogin } from '../auth/device-login.js';
import { loadConfig } from '../config/load.js';
import { CODEX_CLIENT_ID, type Config } from '../config/schema.js';
import { CliError } from '../errors.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { startServer, type ServerHandle } from '../server/run.js';
import { parsePort } from './common-options.js';
import { writeLine, type CliContext } from './context.js';

interface DemoOptions {
  wait: boolean;
  port?: number;
  debug?: boolean;
}

const DEMO_MODEL = 'gpt-5-codex';
const DEMO_PROMPT = 'Return Hello from cliproxy!.';

/** The demo's config: nothing from the environment or a config file, everything pointed at the sandbox. */
function demoConfig(sandbox: Sandbox, authDir: string, apiKey: string, port: number, debug: boolean): Config {
  const config = loadConfig({ env: {}, cwd: authDir, flags: { authDir, host: '127.0.0.1', port } });
  config.codex.issuer = sandbox.issuer;
  config.codex.baseUrl = sandbox.baseUrl;
  config.apiKeys = [apiKey];
  config.debug = debug;
  return config;
}

function curlFor(url: string, apiKey: string, body: unknown): string {
  return [
    `curl ${url}/v1/chat/completions \\`,
    `  -H "Authorization: Bearer ${apiKey}" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '${JSON.stringify(body)}'`,
  ].join('\n');
}

function trySnippets(url: string, apiKey: string): string {
  return `Try it:

  curl -N ${url}/v1/chat/completions -H "Authorization: Bearer ${apiKey}" -H "Content-Type: application/json" \\
    -d '{"model":"${DEMO_MODEL}","stream":true,"messages":[{"role":"user","content":"Return It works!."}]}'

  // Node, with the openai package
  import OpenAI from 'openai';
  const client = new OpenAI({ baseURL: '${url}/v1', apiKey: '${apiKey}' });
  const r = await client.chat.completions.create({ model: '${DEMO_MODEL}', messages: [{ role: 'user', content: 'Return OK.' }] });
  console.log(r.choices[0].message.content);

  # the official Codex CLI, through the proxy
  PX_KEY=${apiKey} codex exec --skip-git-repo-check -m ${DEMO_MODEL} -c model_provider=px \\
    -c 'model_providers.px.name="px"' -c 'model_providers.px.base_url="${url}/v1"' \\
    -c 'model_providers.px.wire_api="responses"' -c 'model_providers.px.env_key="PX_KEY"' "Return OK."`;
}

export function registerDemo(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('demo')
    .description('start the sandbox, sign in one account by device code, start the server and send one request')
    .addOption(new Option('--no-wait', 'exit after the first request instead of serving until Ctrl-C'))
    .addOption(new Option('--port <port>', 'port for the API server (default: a free port)').argParser(parsePort))
    .addOption(new Option('--debug', 'verbose server logs on stderr'));
  cmd.action(async (opts: DemoOptions) => {
    const controller = new AbortController();
    const offInterrupt = ctx.onInterrupt(() => controller.abort(new Error('interrupted')));
    let sandbox: Sandbox | undefined;
    let server: ServerHandle | undefined;
    let authDir: string | undefined;
    try {
      sandbox = await startSandbox({ autoApprove: true, deviceIntervalSeconds: 1, quiet: true });
      writeLine(ctx.stdout, `Sandbox (offline stand-in for auth.openai.com and the Codex backend) at ${sandbox.url}`);
      authDir = await mkdtemp(path.join(tmpdir(), 'cliproxy-demo-'));
      writeLine(ctx.stdout, `Auth dir for this demo: ${authDir} (removed on exit)`);
      writeLine(ctx.stdout);
      writeLine(ctx.stdout, '== 1. Device-code login (the sandbox approves it automatically)');
      const login = await deviceLogin({
        issuer: sandbox.issuer,
        clientId: CODEX_CLIENT_ID,
        clock: ctx.clock,
        stdout: ctx.stdout,
        stderr: ctx.stderr,
        signal: controller.signal,
      });
      const store = new FileAccountStore({ dir: authDir, clock: ctx.clock });
      const credential = credentialFromTokens(login.tokens, 'device', ctx.clock.now(), login.pkce);
      const file = await store.save(credential);
      writeLine(ctx.stdout, `Signed in ${credential.email} (plan ${credential.planType}); saved ${file}`);
      writeLine(ctx.stdout);

      writeLine(ctx.stdout, '== 2. API server');
      const apiKey = `sk-demo-${randomBytes(18).toString('base64url')}`;
      const config = demoConfig(sandbox, authDir, apiKey, opts.port ?? 0, opts.debug === true);
      server = await startServer(config, { clock: ctx.clock, stdout: ctx.stdout, stderr: ctx.stderr, logs: opts.debug === true });
      writeLine(ctx.stdout, `API key for this demo: ${apiKey}`);
      writeLine(ctx.stdout);

      writeLine(ctx.stdout, '== 3. One chat completion');
      const body = { model: DEMO_MODEL, messages: [{ role: 'user', content: DEMO_PROMPT }] };
      writeLine(ctx.stdout, curlFor(server.url, apiKey, body));
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      const text = await res.text();
      let pretty = text;
      try {
        pretty = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // not JSON: print as is
      }
      writeLine(ctx.stdout, `→ HTTP ${res.status}`);
      writeLine(ctx.stdout, pretty);
      if (!res.ok) throw new CliError(`demo: the chat completion failed with HTTP ${res.status}`, 1);
      writeLine(ctx.stdout);

      if (opts.wait === false) return;
      writeLine(ctx.stdout, `Serving on ${server.url} until Ctrl-C.`);
      writeLine(ctx.stdout, trySnippets(server.url, apiKey));
      await new Promise<void>((resolve) => {
        if (controller.signal.aborted) return resolve();
        controller.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      writeLine(ctx.stderr, 'Shutting down…');
    } catch (err) {
      if (controller.signal.aborted) throw new CliError('Interrupted.', 130);
      throw err;
    } finally {
      offInterrupt();
      await server?.close();
      await sandbox?.close();
      if (authDir) await rm(authDir, { recursive: true, force: true });
    }
  });
  return cmd;
}
