import { Option, type Command } from 'commander';
import { createParser } from 'eventsource-parser';
import type { Writable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { createRuntime } from '../app/runtime.js';
import { stderrLogger } from '../app/stderr-logger.js';
import { CliError, InternalError } from '../errors.js';
import { logServerError, toClientError } from '../server/error-mapping.js';
import { handleChatCompletion, type ChatCompletionOutcome } from '../handlers/chat-completion.js';
import { createHandlerDeps } from '../handlers/deps.js';
import { configFrom, type CliContext, type CommonOptions } from './context.js';
import { withCommonOptions } from './common-options.js';

export const DEFAULT_EXEC_MODEL = 'gpt-5-codex';

interface ExecOptions extends CommonOptions {
  model?: string;
  json?: boolean;
  stream?: boolean;
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
  // the stream is the SSE text an HTTP client would get: read it the way one would
  const chunks: object[] = [];
  const parser = createParser({
    onEvent: (m) => {
      if (m.data !== '[DONE]') chunks.push(JSON.parse(m.data) as object);
    },
  });
  const decoder = new TextDecoder();
  for await (const bytes of outcome.body.readable() as AsyncIterable<Buffer | string>) {
    parser.feed(typeof bytes === 'string' ? bytes : decoder.decode(bytes, { stream: true }));
    for (const chunk of chunks.splice(0)) {
      const error = (chunk as { error?: { message?: string } }).error;
      if (error) {
        if (last && !last.endsWith('\n')) ctx.stdout.write('\n');
        ctx.stderr.write(`error: ${error.message ?? 'the stream failed'}\n`);
        return false;
      }
      if (opts.json) {
        ctx.stdout.write(`${JSON.stringify(chunk)}\n`);
        continue;
      }
      const choice = (chunk as { choices?: { delta?: { content?: string | null } }[] }).choices?.[0];
      const text = choice?.delta?.content;
      if (text) {
        ctx.stdout.write(text);
        last = text;
      }
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
    const prompt = promptArg === '-' ? await text(ctx.stdin) : promptArg;
    if (!prompt.trim()) throw new CliError('The prompt is empty.', 2);

    const log = stderrLogger(ctx.stderr, config.debug ? 'debug' : 'warn');
    const runtime = await createRuntime(config, { clock: ctx.clock, log });
    const controller = new AbortController();
    const offInterrupt = ctx.onInterrupt(() => controller.abort(new Error('interrupted')));
    try {
      const { total } = runtime.pool.size();
      if (total === 0) throw new CliError(`No accounts in ${runtime.store.description}: sign one in with \`cliproxy login\`.`, 1);
      const deps = createHandlerDeps(runtime, { log });
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
        // the error line below is the report; only our own bugs get their details logged too
        if (apiError instanceof InternalError) logServerError(log, apiError, err);
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
