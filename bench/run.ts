/**
 * Overhead benchmark: how much latency and throughput cliproxy adds on top of a bare HTTP client
 * talking to the same backend. Everything runs locally against the sandbox (127.0.0.1), with a
 * bounded number of requests, and exits by itself.
 *
 *   npx tsx bench/run.ts [--sequential 300] [--concurrent 300] [--concurrency 8] [--warmup 50]
 *
 * Cases (each: N sequential requests, then N more at the given concurrency; latency = until the
 * whole SSE body has been read):
 *   baseline         a bare undici Pool POSTing to the sandbox's /backend-api/codex/responses
 *   codex-client     the same request through cliproxy's CodexClient, body via raw()
 *   proxy-responses  POST /v1/responses (stream) on a cliproxy server in this process
 *   proxy-chat       POST /v1/chat/completions (stream) on the same server
 * A request counts as a success only when its stream really completed: a `response.completed`
 * event (Responses), or a chunk with finish_reason "stop" and no error chunk (chat). Failures
 * are counted and shown, and make the exit code 1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { MemoryAccountStore } from '../src/accounts/memory-store.js';
import { createRuntime } from '../src/app/runtime.js';
import { credentialFromTokens } from '../src/auth/credential-from-tokens.js';
import { loadConfig } from '../src/config/load.js';
import { startSandbox } from '../src/sandbox/index.js';
import type { MintedAccount, Sandbox } from '../src/sandbox/index.js';
import { buildServer } from '../src/server/app.js';
import { CodexClient, userAgent } from '../src/upstream/codex-client.js';

interface Options {
  sequential: number;
  concurrent: number;
  concurrency: number;
  warmup: number;
}

function parseArgs(argv: readonly string[]): Options {
  const opts: Options = { sequential: 300, concurrent: 300, concurrency: 8, warmup: 50 };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]?.replace(/^--/, '') as keyof Options | undefined;
    const value = Number(argv[i + 1]);
    if (!name || !(name in opts) || !Number.isInteger(value) || value < (name === 'warmup' ? 0 : 1) || value > 100_000) {
      throw new Error(`usage: npx tsx bench/run.ts [--sequential N] [--concurrent N] [--concurrency C] [--warmup N] (bad argument: ${argv[i]} ${argv[i + 1] ?? ''})`);
    }
    opts[name] = value;
    i++;
  }
  return opts;
}

/** One request, resolved when its whole body has been read: true when it completed properly. */
type RunOnce = () => Promise<boolean>;

interface CaseResult {
  name: string;
  mode: string;
  requests: number;
  failed: number;
  p50: number;
  p99: number;
  rps: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

async function measure(name: string, mode: string, total: number, concurrency: number, once: RunOnce): Promise<CaseResult> {
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  const started = performance.now();
  async function worker(): Promise<void> {
    while (next < total) {
      next++;
      const t0 = performance.now();
      const ok = await once().catch(() => false);
      latencies.push(performance.now() - t0);
      if (!ok) failed++;
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, () => worker()));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { name, mode, requests: total, failed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), rps: total / elapsed };
}

/** The `data:` payloads of an SSE body, in order. */
function sseData(text: string): string[] {
  return text
    .split(/\r?\n\r?\n/)
    .map((block) => block.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n'))
    .filter((d) => d !== '' && d !== '[DONE]');
}

function parsed(data: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(data) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A Responses stream succeeded when it carries a response.completed event. */
function responsesCompleted(text: string): boolean {
  return sseData(text).some((d) => parsed(d)?.['type'] === 'response.completed');
}

/** A chat stream succeeded when a chunk has finish_reason "stop" and no chunk carries an error. */
function chatCompleted(text: string): boolean {
  let stopped = false;
  for (const d of sseData(text)) {
    const chunk = parsed(d);
    if (!chunk || chunk['error'] !== undefined) return false;
    const choices = chunk['choices'] as { finish_reason?: unknown }[] | undefined;
    if (choices?.some((c) => c.finish_reason === 'stop')) stopped = true;
  }
  return stopped;
}

/** POST a JSON body with a bare undici Pool, read the whole response and judge it with `completed`. */
function poolRequest(pool: Pool, pathName: string, headers: Record<string, string>, body: string, completed: (text: string) => boolean): RunOnce {
  return async () => {
    const res = await pool.request({ path: pathName, method: 'POST', headers, body });
    const text = await res.body.text();
    return res.statusCode === 200 && completed(text);
  };
}

const responsesBody = { model: 'gpt-5', input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Return OK.' }] }], stream: true, store: false };
const chatBody = { model: 'gpt-5', messages: [{ role: 'user', content: 'Return OK.' }], stream: true };

interface ProxyHandle {
  url: string;
  close(): Promise<void>;
}

/** The cliproxy server (pool + CodexClient + fastify) over one sandbox account. */
async function startProxy(sandbox: Sandbox, account: MintedAccount): Promise<ProxyHandle> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-bench-'));
  const store = new MemoryAccountStore();
  const tokens = { idToken: account.idToken, accessToken: account.accessToken, refreshToken: account.refreshToken, tokenType: 'Bearer', expiresIn: account.expiresIn };
  await store.save(credentialFromTokens(tokens, 'import', Date.now()));
  const config = loadConfig({ env: {}, cwd: dir, flags: { authDir: dir, host: '127.0.0.1', port: 0 } });
  config.codex.issuer = sandbox.issuer;
  config.codex.baseUrl = sandbox.baseUrl;
  config.apiKeys = [];
  const runtime = await createRuntime(config, { store });
  const app = await buildServer({ config, pool: runtime.pool, upstream: runtime.upstream, clock: runtime.clock, logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function formatTable(results: readonly CaseResult[]): string {
  const baseline = new Map(results.filter((r) => r.name === 'baseline').map((r) => [r.mode, r]));
  const header = ['case', 'mode', 'requests', 'failed', 'p50 ms', 'p99 ms', 'req/s', 'p50 × base', 'req/s × base'];
  const rows = results.map((r) => {
    const b = baseline.get(r.mode);
    return [
      r.name,
      r.mode,
      String(r.requests),
      String(r.failed),
      r.p50.toFixed(2),
      r.p99.toFixed(2),
      r.rps.toFixed(0),
      b ? (r.p50 / b.p50).toFixed(2) : '-',
      b ? (r.rps / b.rps).toFixed(2) : '-',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  // A hard stop in case something hangs: the benchmark must always end by itself.
  const guard = setTimeout(() => {
    process.stderr.write('bench: did not finish within 5 minutes, giving up\n');
    process.exit(2);
  }, 5 * 60_000);
  guard.unref();

  const sandbox = await startSandbox({ quiet: true });
  const account = sandbox.mintAccount({ email: 'bench@example.com' });
  const auth = { accessToken: account.accessToken, accountId: account.accountId };
  const backend = new URL(sandbox.baseUrl);
  const basePool = new Pool(backend.origin, { keepAliveTimeout: 60_000 });
  const codex = new CodexClient({ baseUrl: sandbox.baseUrl, originator: 'codex_cli_rs', version: 'bench', requestTimeoutMs: 30_000 });
  const proxy = await startProxy(sandbox, account);
  const proxyPool = new Pool(proxy.url, { keepAliveTimeout: 60_000 });

  const upstreamHeaders = {
    authorization: `Bearer ${auth.accessToken}`,
    'chatgpt-account-id': auth.accountId,
    'content-type': 'application/json',
    accept: 'text/event-stream',
    originator: 'codex_cli_rs',
    'user-agent': userAgent('codex_cli_rs', 'bench'),
  };
  const json = { 'content-type': 'application/json', accept: 'text/event-stream' };
  const cases: [string, RunOnce][] = [
    ['baseline', poolRequest(basePool, `${backend.pathname}/responses`, upstreamHeaders, JSON.stringify(responsesBody), responsesCompleted)],
    ['codex-client', async () => {
      const stream = await codex.responses(auth, responsesBody);
      const decoder = new TextDecoder();
      let text = '';
      for await (const chunk of stream.raw()) text += decoder.decode(chunk, { stream: true });
      return stream.status === 200 && responsesCompleted(text + decoder.decode());
    }],
    ['proxy-responses', poolRequest(proxyPool, '/v1/responses', json, JSON.stringify(responsesBody), responsesCompleted)],
    ['proxy-chat', poolRequest(proxyPool, '/v1/chat/completions', json, JSON.stringify(chatBody), chatCompleted)],
  ];

  const results: CaseResult[] = [];
  try {
    // Warm every path (JIT, connections) before measuring any, so the first case is not penalised.
    for (const [, once] of cases) for (let i = 0; i < opts.warmup; i++) await once();
    for (const [name, once] of cases) {
      results.push(await measure(name, 'sequential', opts.sequential, 1, once));
      results.push(await measure(name, `concurrency ${opts.concurrency}`, opts.concurrent, opts.concurrency, once));
    }
    results.sort((a, b) => a.mode.localeCompare(b.mode) * -1 || cases.findIndex(([n]) => n === a.name) - cases.findIndex(([n]) => n === b.name));
    process.stdout.write(`cliproxy overhead benchmark — node ${process.version}, sandbox backend on 127.0.0.1, body "Return OK." streamed\n\n`);
    process.stdout.write(`${formatTable(results)}\n`);
    const failed = results.reduce((n, r) => n + r.failed, 0);
    if (failed > 0) {
      process.stdout.write(`\n${failed} request(s) did not complete properly (see the failed column)\n`);
      process.exitCode = 1;
    }
  } finally {
    await proxyPool.close();
    await proxy.close();
    await codex.close();
    await basePool.close();
    await sandbox.close();
    clearTimeout(guard);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
