import { Option, type Command } from 'commander';
import type { Readable } from 'node:stream';
import { createRuntime } from '../app/runtime.js';
import { stderrLogger } from '../app/stderr-logger.js';
import { CliError } from '../errors.js';
import { toClientError } from '../server/error-mapping.js';
import { handleChatCompletion, type ChatCompletionOutcome } from '../server/handlers/chat-completion.js';
import type { HandlerDeps } from '../server/handlers/deps.js';
import { ModelCatalog } from '../server/model-catalog.js';
import type { Writable } from 'node:stream';
import { configFrom, type CliContext, type CommonOptions } from './context.js';
import { withCommonOptions } from './common-options.js';

export const DEFAULT_EXEC_MODEL = 'gpt-5-codex';

interface ExecOptions extends CommonOptions {
  model?: string;
  json?: boolean;
  stream?: boolean;
}

async function readAll(stream: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(parts).toString('utf8');
}

function endLine(out: Writable, text: string): void {
  out.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Prints an outcome: the answer only (or JSON with --json). Returns false when the stream ended in an error. */
async function printOutcome(outcome: ChatCompletionOutcome, opts: ExecOptions, ctx: CliContext): Promise<boolean> {
  if (outcome.kind === 'json') {
    if (opts.json) {
      endLine(ctx.stdout, JSON.stringify(outcome.completion, null, 2));
    } else {
      const message = outcome.completion.choices[0]?.message as { content?: string | null; refusal?: string | null } | undefined;
      endLine(ctx.stdout, message?.content ?? message?.refusal ?? '');
    }
    return true;
  }
  let last = '';
  for await (const item of outcome.items) {
    if (item.kind === 'error') {
      if (last && !last.endsWith('\n')) ctx.stdout.write('\n');
      ctx.stderr.write(`error: ${item.message}\n`);
      return false;
    }
    if (opts.json) {
      ctx.stdout.write(`${JSON.stringify(item.chunk)}\n`);
      continue;
    }
    const choice = (item.chunk as { choices?: { delta?: { content?: string | null } }[] }).choices?.[0];
    const text = choice?.delta?.content;
    if (text) {
      ctx.stdout.write(text);
      last = text;
    }
  }
  if (!opts.json && !last.endsWith('\n')) ctx.stdout.write('\n');
  return true;
}

export function registerExec(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('exec')
    .description('send one prompt through the account pool and print the answer (no server needed)')
    .argument('<prompt>', 'the prompt; "-" reads it from stdin')
    .addOption(new Option('-m, --model <model>', `model to use (default ${DEFAULT_EXEC_MODEL})`))
    .addOption(new Option('--json', 'print the full chat completion as JSON (with --stream: one chunk per line)'))
    .addOption(new Option('--stream', 'print the answer as it arrives'));
  withCommonOptions(cmd);
  cmd.action(async (promptArg: string, opts: ExecOptions) => {
    const config = configFrom(ctx, opts);
    const prompt = promptArg === '-' ? await readAll(ctx.stdin) : promptArg;
    if (!prompt.trim()) throw new CliError('The prompt is empty.', 2);

    const log = stderrLogger(ctx.stderr, config.debug ? 'debug' : 'warn');
    const runtime = await createRuntime(config, { clock: ctx.clock, log });
    const controller = new AbortController();
    const offInterrupt = ctx.onInterrupt(() => controller.abort(new Error('interrupted')));
    try {
      const { total } = runtime.pool.size();
      if (total === 0) throw new CliError(`No accounts in ${runtime.store.description}: sign one in with \`cliproxy login\`.`, 1);
      const deps: HandlerDeps = {
        pool: runtime.pool,
        upstream: runtime.upstream,
        catalog: new ModelCatalog({
          pool: runtime.pool,
          upstream: runtime.upstream,
          clock: ctx.clock,
          cacheSeconds: config.modelsCacheSeconds,
          aliases: config.modelAliases,
          log,
        }),
        clock: ctx.clock,
        log,
      };
      const body = {
        model: opts.model ?? DEFAULT_EXEC_MODEL,
        messages: [{ role: 'user', content: prompt }],
        stream: opts.stream === true,
      };
      let ok: boolean;
      try {
        const outcome = await handleChatCompletion(deps, body, { signal: controller.signal });
        ok = await printOutcome(outcome, opts, ctx);
      } catch (err) {
        if (err instanceof CliError) throw err;
        if (controller.signal.aborted) throw new CliError('Interrupted.', 130);
        const apiError = toClientError(err, { now: ctx.clock.now(), maxBodyMb: config.maxBodyMb });
        if (apiError.status >= 500 && apiError.type === 'server_error') log.error({ err }, 'exec failed');
        throw new CliError(`error: ${apiError.message}`, 1);
      }
      if (!ok) ctx.exitCode = 1;
    } finally {
      offInterrupt();
      await runtime.close();
    }
  });
  return cmd;
}
