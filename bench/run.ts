/**
 * `npm run bench`: the request path measured side by side, every party in a process of its own
 * (the upstream sandbox with zero delay, the load generator, each proxy), closed-loop clients.
 * Not part of `npm test`; bounded (a hard stop after 25 minutes) and exits by itself.
 *
 * Paths, each answering the same streamed Responses request:
 *   direct     the sandbox itself
 *   nginx      proxy_pass, buffering off, upstream keep-alive (only when `nginx` is on PATH)
 *   pipe       a bare Node pipe: http server → undici Pool → the sandbox (bench/pipe.ts)
 *   responses  cliproxy /v1/responses (pass-through)
 *   chat       cliproxy /v1/chat/completions (translated)
 * for answers of 1, 200 and 1000 tokens at concurrency 1, 16 and 64: req/s, p50/p99 latency,
 * time to first byte; ratios to nginx (to the pipe when nginx is absent) and the latency added
 * over direct. Then: RSS per open stream (2,000 streams held open by a slow upstream), start-up
 * time with 100 account files, and quota use (5 accounts with small quotas, a burst larger than
 * their sum).
 *
 * Results: bench/results/<date>.json, .md (tables) and .png (latency vs concurrency per path).
 *
 * Flags: --quick (shorter runs, fewer cells, one round: a smoke test of the harness), --duration
 * <s> per path and round (default 2), --rounds <n> (default 5: every path once per round, rounds
 * one after the other; a cell is its median round, so a slow spell of the machine does not land
 * on one path alone, and a ratio between two paths is the median of the rounds' ratios; before
 * the first cell every path serves 200-token answers at c=16 for 6 s, unmeasured, so that V8 has
 * compiled the hot code), --out <dir> (default bench/results), --proxy-root <dir> (measure the
 * cliproxy build of another checkout, e.g. the commit before a change; its dist/ must be built),
 * --label <text> (goes into the file names and the report), --only <part,...> (throughput, rss,
 * startup, quota), --cpu-prof <dir> (the proxy runs with node --cpu-prof; summarise a profile
 * with `npx tsx bench/profile-summary.ts <file>`), --tokens <n,...>, --concurrency <n,...> and
 * --paths <direct,nginx,pipe,responses,chat> (run only those throughput cells).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FileAccountStore } from '../src/accounts/file-store.js';
import { credentialFromTokens } from '../src/auth/credential-from-tokens.js';
import type { MintedAccount } from '../src/sandbox/index.js';
import { renderChart } from './chart.js';
import { markdownReport, type BenchResults, type Cell, type PathName } from './report.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

interface Options {
  quick: boolean;
  durationMs: number;
  /** Rounds per cell (every path once per round); the cell is the median round. */
  rounds: number;
  out: string;
  proxyRoot: string;
  label: string;
  only: Set<string>;
  /** Directory for V8 CPU profiles of the proxy (`--cpu-prof`), one per proxy process. */
  cpuProf: string | undefined;
  /** Directory for a heap snapshot of the proxy while it holds the RSS part's streams (`--heap-snapshot`). */
  heapSnapshot: string | undefined;
  /** Throughput cells to run (all when unset): answer sizes, concurrencies, paths. */
  tokens: number[] | undefined;
  concurrency: number[] | undefined;
  paths: Set<string> | undefined;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { quick: false, durationMs: 2000, rounds: 5, out: path.join(here, 'results'), proxyRoot: repo, label: '', only: new Set(['throughput', 'rss', 'startup', 'quota']), cpuProf: undefined, heapSnapshot: undefined, tokens: undefined, concurrency: undefined, paths: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench: ${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--duration') o.durationMs = Math.round(Number(value()) * 1000);
    else if (a === '--rounds') o.rounds = Number(value());
    else if (a === '--out') o.out = path.resolve(value());
    else if (a === '--proxy-root') o.proxyRoot = path.resolve(value());
    else if (a === '--label') o.label = value().replace(/[^\w.-]+/g, '-');
    else if (a === '--only') o.only = new Set(value().split(','));
    else if (a === '--cpu-prof') o.cpuProf = path.resolve(value());
    else if (a === '--heap-snapshot') o.heapSnapshot = path.resolve(value());
    else if (a === '--tokens') o.tokens = numbers(a, value());
    else if (a === '--concurrency') o.concurrency = numbers(a, value());
    else if (a === '--paths') o.paths = new Set(value().split(','));
    else throw new Error(`bench: unknown argument ${a} (see the comment at the top of bench/run.ts)`);
  }
  if (!(o.durationMs >= 500 && o.durationMs <= 60_000)) throw new Error('bench: --duration must be between 0.5 and 60 seconds');
  if (!(Number.isInteger(o.rounds) && o.rounds >= 1 && o.rounds <= 9)) throw new Error('bench: --rounds must be a whole number from 1 to 9');
  if (o.quick) {
    o.durationMs = Math.min(o.durationMs, 1000);
    o.rounds = 1;
  }
  return o;
}

function numbers(flag: string, list: string): number[] {
  const ns = list.split(',').map(Number);
  if (ns.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`bench: ${flag} takes positive whole numbers, comma-separated`);
  return ns;
}

// ---- child processes ------------------------------------------------------------------------

interface Child {
  proc: ChildProcess;
  /** The first JSON line it printed. */
  ready: Record<string, unknown>;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const c of children) c.kill('SIGKILL');
}
process.on('exit', killAll);

/** Starts a process and waits for its first stdout line that `parse` accepts. */
function startChild(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; stderrFile?: string; parse: (line: string) => Record<string, unknown> | undefined; timeoutMs?: number }): Promise<Child> {
  return new Promise((resolve, reject) => {
    // a log file gets the child's stderr directly (an fd of its own): the runner spends no CPU on it while measuring
    const logFd = opts.stderrFile ? openSync(opts.stderrFile, 'a') : undefined;
    const proc = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', logFd ?? 'pipe'] });
    if (logFd !== undefined) closeSync(logFd);
    children.add(proc);
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const errorOutput = () => (opts.stderrFile ? readFileSync(opts.stderrFile, 'utf8').slice(-4000) : stderr);
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`bench: ${path.basename(args[args.length - 1] ?? cmd)} did not start in time. ${errorOutput()}`));
    }, opts.timeoutMs ?? 30_000);
    const lines = createInterface({ input: proc.stdout! });
    let settled = false;
    lines.on('line', (line) => {
      if (settled) return;
      const ready = opts.parse(line);
      if (!ready) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        proc,
        ready,
        stop: () =>
          new Promise<void>((done) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return done();
            const force = setTimeout(() => proc.kill('SIGKILL'), 5000);
            proc.once('exit', () => {
              clearTimeout(force);
              children.delete(proc);
              done();
            });
            proc.stdin!.end();
            proc.kill('SIGTERM');
          }),
      });
    });
    proc.once('exit', (code) => {
      children.delete(proc);
      if (!settled) {
        clearTimeout(timer);
        reject(new Error(`bench: ${args.join(' ').slice(0, 80)} exited with ${code}. ${errorOutput()}`));
      }
    });
  });
}

const jsonLine = (line: string) => {
  try {
    const v = JSON.parse(line) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

function tsProcess(script: string, arg: unknown): Promise<Child> {
  return startChild(process.execPath, ['--import', 'tsx', path.join(here, script), JSON.stringify(arg)], { parse: jsonLine });
}

/** Runs the load generator to its end and returns its JSON output. */
async function load(arg: Record<string, unknown>): Promise<Record<string, unknown>> {
  const child = await startChild(process.execPath, ['--import', 'tsx', path.join(here, 'load.ts'), JSON.stringify(arg)], { parse: jsonLine, timeoutMs: 120_000 });
  await new Promise<void>((resolve) => (child.proc.exitCode !== null ? resolve() : child.proc.once('exit', () => resolve())));
  return child.ready;
}

interface Upstream {
  child: Child;
  url: string;
  baseUrl: string;
  accounts: MintedAccount[];
  quotaSetAt: number;
}

async function startUpstream(arg: { accounts: number; quota?: { limit: number; resetsInSeconds: number }; slow?: { delayMs: number; times: number } }): Promise<Upstream> {
  const child = await tsProcess('upstream.ts', arg);
  const r = child.ready as { url: string; baseUrl: string; accounts: MintedAccount[]; quotaSetAt: number };
  return { child, ...r };
}

/** An auth dir with one token file per account (the file store's own format, 0600 in a 0700 dir). */
async function authDir(accounts: readonly MintedAccount[]): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-bench-auth-'));
  const store = new FileAccountStore({ dir });
  await store.ensureWritable();
  for (const a of accounts) {
    const tokens = { idToken: a.idToken, accessToken: a.accessToken, refreshToken: a.refreshToken, tokenType: 'Bearer', expiresIn: a.expiresIn };
    await store.save(credentialFromTokens(tokens, 'import', Date.now()));
  }
  return dir;
}

interface Proxy {
  child: Child;
  url: string;
  pid: number;
  startupMs: number;
}

/** `cliproxy serve` from `root` (its bin/ and dist/), on a free port, as a user would run it. */
async function startProxy(root: string, upstream: { url: string; baseUrl: string }, dir: string, nodeArgs: string[] = [], serveArgs: string[] = []): Promise<Proxy> {
  const home = mkdtempSync(path.join(tmpdir(), 'cliproxy-bench-home-'));
  const env = {
    ...process.env,
    HOME: home,
    CLIPROXY_CODEX_ISSUER: upstream.url,
    CLIPROXY_CODEX_BASE_URL: upstream.baseUrl,
    CLIPROXY_API_KEYS: '',
  };
  const t0 = performance.now();
  const child = await startChild(process.execPath, [...nodeArgs, path.join(root, 'bin', 'cliproxy.js'), 'serve', '--auth-dir', dir, '--port', '0', ...serveArgs], {
    env,
    cwd: home,
    stderrFile: path.join(home, 'cliproxy.log'),
    parse: (line) => {
      const m = /^listening on (\S+)/.exec(line);
      return m ? { url: m[1]! } : undefined;
    },
  });
  const startupMs = performance.now() - t0;
  return { child, url: child.ready['url'] as string, pid: child.proc.pid!, startupMs };
}

/** node flags for a proxy under --cpu-prof: one profile per process, in <dir>/<part>; start-up is short, so sampled every 100 µs there. */
function cpuProfArgs(o: Options, part: 'throughput' | 'startup'): string[] {
  if (!o.cpuProf) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${path.join(o.cpuProf, part)}`, ...(part === 'startup' ? ['--cpu-prof-interval=100'] : [])];
}

/**
 * The proxy's RSS while it holds its streams: the median of 7 readings 500 ms apart. One reading
 * lands anywhere in a garbage-collection cycle (the held streams still get an event every 2 s),
 * which moved the per-stream figure by ±4 KiB from run to run.
 */
async function steadyRssKiB(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 7; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 500));
    readings.push(rssKiB(pid));
  }
  return readings.sort((a, b) => a - b)[3]!;
}

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error('bench: no VmRSS for the proxy process');
  return Number(m[1]);
}

function nginxOnPath(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

/** A process's children, from /proc (none where there is no /proc). */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function startNginx(bin: string, upstreamUrl: string): Promise<{ url: string; pids(): number[]; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-bench-nginx-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const up = new URL(upstreamUrl);
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream sandbox { server ${up.hostname}:${up.port}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://sandbox;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
`;
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const proc = spawn(bin, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
  children.add(proc);
  // wait until it accepts connections
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url: `http://127.0.0.1:${port}`,
    // the master and its worker (for the CPU figures)
    pids: () => [proc.pid!, ...childPids(proc.pid!)],
    stop: () =>
      new Promise<void>((resolve) => {
        proc.once('exit', () => {
          children.delete(proc);
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}

// ---- requests -------------------------------------------------------------------------------

function prompt(tokens: number): string {
  if (tokens <= 1) return 'Return OK.';
  return `Return ${Array.from({ length: tokens }, (_, i) => `w${i}`).join(' ')}.`;
}

function responsesBody(tokens: number): string {
  return JSON.stringify({
    model: 'gpt-5-codex',
    instructions: 'You are a benchmark.',
    input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: prompt(tokens) }] }],
    stream: true,
    store: false,
  });
}

function chatBody(tokens: number): string {
  return JSON.stringify({ model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: prompt(tokens) }] });
}

function backendHeaders(a: MintedAccount): Record<string, string> {
  return {
    authorization: `Bearer ${a.accessToken}`,
    'chatgpt-account-id': a.accountId,
    'content-type': 'application/json',
    accept: 'text/event-stream',
    originator: 'codex_cli_rs',
  };
}

const ms = (n: number | null) => (typeof n === 'number' ? `${n.toFixed(2)} ms` : '–');

const CLIENT_HEADERS = { 'content-type': 'application/json', accept: 'text/event-stream' };

// ---- the parts ------------------------------------------------------------------------------

function progressLine(cell: Cell): string {
  const cpu = cell.cpuUsPerRequest;
  return `  ${String(cell.tokens).padStart(4)} tok  c=${String(cell.concurrency).padStart(2)}  ${cell.path.padEnd(9)} ${String(cell.rps).padStart(8)} req/s  p50 ${ms(cell.latency.p50)}  p99 ${ms(cell.latency.p99)}  ttfb ${ms(cell.ttfb.p50)}${cpu?.proxy !== undefined ? `  cpu ${cpu.proxy} µs/req (upstream ${cpu.upstream}, client ${cpu.client})` : ''}${cell.errors ? `  errors ${cell.errors} (${String(cell.firstError)})` : ''}`;
}

/** How long each path serves answers before the throughput cells (see throughput). */
const WARM_UP_MS = (o: Options) => (o.quick ? 500 : 6_000);
/** How long each cell's first round runs unmeasured (the later rounds: ROUND_WARM_UP_MS). */
const CELL_WARM_UP_MS = (o: Options) => (o.quick ? 300 : 1_000);
const ROUND_WARM_UP_MS = 300;

async function throughput(o: Options, results: BenchResults): Promise<void> {
  const upstream = await startUpstream({ accounts: 1 });
  const account = upstream.accounts[0]!;
  const dir = await authDir([account]);
  const proxy = await startProxy(o.proxyRoot, upstream, dir, cpuProfArgs(o, 'throughput'));
  const pipe = await tsProcess('pipe.ts', { upstream: upstream.url });
  const nginxBin = nginxOnPath();
  const nginx = nginxBin ? await startNginx(nginxBin, upstream.url) : undefined;
  results.nginx = nginxBin ? `${nginxBin} (${spawnSync(nginxBin, ['-v'], { encoding: 'utf8' }).stderr.trim()})` : 'absent (not on PATH): ratios are to the bare pipe';
  const backendPath = `${new URL(upstream.baseUrl).pathname}/responses`;
  // `pids`: the processes between client and upstream (none for direct), whose CPU time per request is reported
  const targets: Array<{ name: PathName; url: string; path: string; headers: Record<string, string>; body: (t: number) => string; expect: string; pids: () => number[] }> = [
    { name: 'direct', url: upstream.url, path: backendPath, headers: backendHeaders(account), body: responsesBody, expect: 'response.completed', pids: () => [] },
    ...(nginx ? [{ name: 'nginx' as const, url: nginx.url, path: backendPath, headers: backendHeaders(account), body: responsesBody, expect: 'response.completed', pids: nginx.pids }] : []),
    { name: 'pipe', url: pipe.ready['url'] as string, path: backendPath, headers: backendHeaders(account), body: responsesBody, expect: 'response.completed', pids: () => [pipe.proc.pid!] },
    { name: 'responses', url: proxy.url, path: '/v1/responses', headers: CLIENT_HEADERS, body: responsesBody, expect: 'response.completed', pids: () => [proxy.pid] },
    { name: 'chat', url: proxy.url, path: '/v1/chat/completions', headers: CLIENT_HEADERS, body: chatBody, expect: '[DONE]', pids: () => [proxy.pid] },
  ];
  const tokenSizes = o.tokens ?? (o.quick ? [1, 200] : [1, 200, 1000]);
  const concurrencies = o.concurrency ?? (o.quick ? [1, 16] : [1, 16, 64]);
  try {
    // every path serves streamed answers for a while before anything is measured: V8 compiles
    // the hot code in tiers over the first seconds (a proxy's CPU per request fell by ~40 % over
    // its first 10 s of load), and a cell measured before that measures the compiler
    for (const t of targets) {
      if (o.paths && !o.paths.has(t.name)) continue;
      const r = await load({ mode: 'closed', url: t.url, path: t.path, headers: t.headers, body: t.body(200), concurrency: 16, warmupMs: 0, durationMs: WARM_UP_MS(o), expect: t.expect });
      process.stderr.write(`  warm-up  ${t.name.padEnd(9)} ${String(r['rps']).padStart(8)} req/s over ${WARM_UP_MS(o) / 1000} s (200 tokens, c=16; not measured)\n`);
    }
    for (const tokens of tokenSizes) {
      for (const concurrency of concurrencies) {
        // rounds: every path once per round, the rounds one after the other, so a slow spell of
        // the machine hits all paths alike; each path's cell is its median round (by req/s), and
        // keeps every round's req/s for the ratios (report.ts: the median of the rounds' ratios)
        const rounds = new Map<PathName, Cell[]>();
        for (let round = 0; round < o.rounds; round++) {
          for (const t of targets) {
            if (o.paths && !o.paths.has(t.name)) continue;
            const r = await load({
              mode: 'closed',
              url: t.url,
              path: t.path,
              headers: t.headers,
              body: t.body(tokens),
              concurrency,
              warmupMs: round === 0 ? CELL_WARM_UP_MS(o) : ROUND_WARM_UP_MS,
              durationMs: o.durationMs,
              expect: t.expect,
              cpuPids: { proxy: t.pids(), upstream: [upstream.child.proc.pid!] },
            });
            const cell = { path: t.name, tokens, concurrency, ...(r as Omit<Cell, 'path' | 'tokens' | 'concurrency'>) };
            rounds.set(t.name, [...(rounds.get(t.name) ?? []), cell]);
            process.stderr.write(`${progressLine(cell)}${o.rounds > 1 ? `  (round ${round + 1})` : ''}\n`);
          }
        }
        for (const cells of rounds.values()) {
          const sorted = [...cells].sort((a, b) => a.rps - b.rps);
          const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
          // errors of every round count
          results.cells.push({ ...median, errors: cells.reduce((n, c) => n + c.errors, 0), firstError: cells.find((c) => c.firstError)?.firstError, roundsRps: cells.map((c) => c.rps), roundsP50: cells.map((c) => c.latency.p50), roundsTtfbP50: cells.map((c) => c.ttfb.p50) });
        }
      }
    }
  } finally {
    await nginx?.stop();
    await pipe.stop();
    await proxy.child.stop();
    await upstream.child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * RSS per open stream: chat streams held open by a slow upstream (one event every 2 s), `n` in
 * two halves. Per stream is the slope between the two halves (RSS at n minus RSS at n/2, over
 * n/2): what one more open stream costs, without the one-off growth any load brings (V8's young
 * generation filling up to its size, allocator arenas) that a delta from idle spreads over the
 * streams. The delta from idle is reported too. Each RSS figure is a median over 3 s (steadyRssKiB).
 */
/** How long the RSS part keeps every stream open after its reading, to see that RSS holds still. */
const HOLD_ON_MS = (o: Options) => (o.quick ? 5_000 : 30_000);

async function rss(o: Options, results: BenchResults): Promise<void> {
  const n = o.quick ? 200 : 2000;
  const half = n / 2;
  const upstream = await startUpstream({ accounts: 1, slow: { delayMs: 2000, times: 1_000_000 } });
  const dir = await authDir(upstream.accounts);
  // room for every stream (server.max-connections is 1024 by default)
  const config = path.join(dir, 'bench-config.yaml');
  writeFileSync(config, `server:\n  max-connections: ${n + 100}\n`);
  const snapshotArgs = o.heapSnapshot ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${o.heapSnapshot}`] : [];
  if (o.heapSnapshot) mkdirSync(o.heapSnapshot, { recursive: true });
  const proxy = await startProxy(o.proxyRoot, upstream, dir, snapshotArgs, ['--config', config]);
  const holders: Child[] = [];
  const hold = async () => {
    const holder = await startChild(
      process.execPath,
      ['--import', 'tsx', path.join(here, 'load.ts'), JSON.stringify({ mode: 'hold', url: proxy.url, path: '/v1/chat/completions', headers: CLIENT_HEADERS, body: chatBody(1000), n: half })],
      { parse: jsonLine, timeoutMs: 120_000 },
    );
    holders.push(holder);
    await new Promise((r) => setTimeout(r, 1000));
    return holder.ready['held'] as number;
  };
  try {
    // warm: the model catalog, the JIT, a first stream
    await load({ mode: 'burst', url: proxy.url, path: '/v1/chat/completions', headers: CLIENT_HEADERS, body: chatBody(1), n: 4, concurrency: 4 });
    await new Promise((r) => setTimeout(r, 500));
    const idle = await steadyRssKiB(proxy.pid);
    const heldFirst = await hold();
    const atHalf = await steadyRssKiB(proxy.pid);
    // a snapshot at each half (after the RSS reading: writing one takes memory of its own, so the RSS figures of such a run are not comparable)
    const halfSnapshot = o.heapSnapshot ? await heapSnapshot(o.heapSnapshot, proxy) : undefined;
    const heldSecond = await hold();
    const open = await steadyRssKiB(proxy.pid);
    // the same streams, held on: RSS must not creep up while they only receive their events
    await new Promise((r) => setTimeout(r, HOLD_ON_MS(o)));
    const heldOn = await steadyRssKiB(proxy.pid);
    const held = heldFirst + heldSecond;
    const perStreamKiB = Math.round(((open - atHalf) / Math.max(1, heldSecond)) * 100) / 100;
    const fromIdleKiB = Math.round(((open - idle) / Math.max(1, held)) * 100) / 100;
    results.rss = { streams: n, held, idleKiB: idle, halfKiB: atHalf, openKiB: open, perStreamKiB, fromIdleKiB, heldOnKiB: heldOn, heldOnSeconds: HOLD_ON_MS(o) / 1000 };
    process.stderr.write(`  rss: idle ${idle} KiB, ${heldFirst} streams ${atHalf} KiB, ${held} streams ${open} KiB → ${perStreamKiB} KiB per stream (${fromIdleKiB} KiB from idle); ${heldOn} KiB after ${HOLD_ON_MS(o) / 1000} s more\n`);
    if (o.heapSnapshot) {
      const fullSnapshot = await heapSnapshot(o.heapSnapshot, proxy);
      process.stderr.write(`  heap snapshots (this run's RSS includes their own memory): what one more stream holds: npx tsx bench/heap-summary.ts ${halfSnapshot} ${fullSnapshot} ${heldSecond}\n`);
    }
  } finally {
    for (const h of holders) await h.stop();
    await proxy.child.stop();
    await upstream.child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Has the proxy write a heap snapshot (SIGUSR2) while the streams are held; returns its path.
 * Node writes it on the main thread, so once the proxy answers a request again the file is complete.
 */
async function heapSnapshot(dir: string, proxy: Proxy): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(proxy.pid, 'SIGUSR2');
  const deadline = Date.now() + 120_000;
  let file: string | undefined;
  while (!(file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f)))) {
    if (Date.now() > deadline) throw new Error('bench: no heap snapshot appeared within 2 minutes');
    await new Promise((r) => setTimeout(r, 200));
  }
  await fetch(`${proxy.url}/healthz`, { signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) }).then((r) => r.arrayBuffer());
  return path.join(dir, file);
}

/** Start-up to listening with 100 account files (median of 5 starts). */
async function startup(o: Options, results: BenchResults): Promise<void> {
  const upstream = await startUpstream({ accounts: 100 });
  const dir = await authDir(upstream.accounts);
  const times: number[] = [];
  try {
    for (let i = 0; i < (o.quick ? 2 : 5); i++) {
      const proxy = await startProxy(o.proxyRoot, upstream, dir, cpuProfArgs(o, 'startup'));
      times.push(proxy.startupMs);
      await proxy.child.stop();
    }
  } finally {
    await upstream.child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  // for scale: a bare `node -e 0` on this machine
  const t0 = performance.now();
  spawnSync(process.execPath, ['-e', '0']);
  const bareNodeMs = Math.round(performance.now() - t0);
  results.startup = { accounts: 100, medianMs: Math.round(times[Math.floor(times.length / 2)]!), allMs: times.map(Math.round), bareNodeMs };
  process.stderr.write(`  start-up with 100 account files: median ${results.startup.medianMs} ms (${results.startup.allMs.join(', ')}); bare node ${bareNodeMs} ms\n`);
}

/**
 * Quota use: 5 accounts with `limit` requests each per window, a burst of 1.5× their sum at
 * concurrency 16 through /v1/chat/completions. Served share of the aggregate quota, 429s the
 * client saw while quota was left (must be 0), and how far Retry-After is from the real reset.
 */
async function quota(o: Options, results: BenchResults): Promise<void> {
  const limit = o.quick ? 4 : 20;
  const windowSeconds = 120;
  const upstream = await startUpstream({ accounts: 5, quota: { limit, resetsInSeconds: windowSeconds } });
  const dir = await authDir(upstream.accounts);
  const proxy = await startProxy(o.proxyRoot, upstream, dir);
  const aggregate = 5 * limit;
  try {
    // the catalog fetch first (it is not a /responses request, so it uses no quota)
    await fetch(`${proxy.url}/v1/models`).then((r) => r.text());
    const burst = (await load({ mode: 'burst', url: proxy.url, path: '/v1/chat/completions', headers: CLIENT_HEADERS, body: chatBody(1), n: Math.round(aggregate * 1.5), concurrency: 16 })) as {
      startedAt: number;
      results: Array<{ status: number; at: number; retryAfter?: string }>;
    };
    const served = burst.results.filter((r) => r.status === 200);
    const sorted = [...burst.results].sort((a, b) => a.at - b.at);
    // quota left while fewer than `aggregate` answers were served: a 429 before the last success is one too early
    const lastSuccessAt = served.length ? Math.max(...served.map((r) => r.at)) : 0;
    const early429 = sorted.filter((r) => r.status === 429 && r.at < lastSuccessAt && served.length < aggregate + 1).length;
    const limited = burst.results.filter((r) => r.status === 429);
    const resetAt = upstream.quotaSetAt + windowSeconds * 1000;
    const errorsS = limited
      .filter((r) => r.retryAfter !== undefined)
      .map((r) => Number(r.retryAfter) - (resetAt - (burst.startedAt + r.at)) / 1000);
    const absErr = errorsS.map(Math.abs).sort((a, b) => a - b);
    results.quota = {
      accounts: 5,
      limitPerAccount: limit,
      aggregate,
      requests: burst.results.length,
      served: served.length,
      servedShare: Math.round((served.length / aggregate) * 1000) / 1000,
      status429: limited.length,
      early429,
      otherStatuses: [...new Set(burst.results.filter((r) => r.status !== 200 && r.status !== 429).map((r) => r.status))],
      retryAfterWithHeader: errorsS.length,
      retryAfterErrorS: { median: absErr.length ? Math.round(absErr[Math.floor(absErr.length / 2)]! * 100) / 100 : null, max: absErr.length ? Math.round(absErr[absErr.length - 1]! * 100) / 100 : null },
    };
    process.stderr.write(`  quota: ${JSON.stringify(results.quota)}\n`);
  } finally {
    await proxy.child.stop();
    await upstream.child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const guard = setTimeout(() => {
    process.stderr.write('bench: did not finish within 25 minutes, giving up\n');
    killAll();
    process.exit(2);
  }, 25 * 60_000);
  guard.unref();

  if (o.proxyRoot === repo) {
    process.stderr.write('bench: building dist/ (the bundle bin/cliproxy.js runs)\n');
    const build = spawnSync(process.execPath, [path.join(repo, 'scripts', 'build.mjs')], { stdio: 'inherit' });
    if (build.status !== 0) throw new Error('bench: the build failed');
  }
  const gitRev = spawnSync('git', ['-C', o.proxyRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim() || 'unknown';
  const date = new Date().toISOString().replace(/:\d\d\.\d+Z$/, 'Z').replace(/:/g, '');
  const results: BenchResults = {
    date: new Date().toISOString(),
    label: o.label,
    cliproxy: gitRev,
    node: process.version,
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    durationMs: o.durationMs,
    rounds: o.rounds,
    warmUpMs: o.only.has('throughput') ? WARM_UP_MS(o) : undefined,
    cellWarmUpMs: o.only.has('throughput') ? CELL_WARM_UP_MS(o) : undefined,
    quick: o.quick,
    nginx: 'not measured',
    cells: [],
  };
  if (o.only.has('throughput')) {
    process.stderr.write('bench: throughput\n');
    await throughput(o, results);
  }
  if (o.only.has('rss')) {
    process.stderr.write('bench: RSS per open stream\n');
    await rss(o, results);
  }
  if (o.only.has('startup')) {
    process.stderr.write('bench: start-up\n');
    await startup(o, results);
  }
  if (o.only.has('quota')) {
    process.stderr.write('bench: quota use\n');
    await quota(o, results);
  }
  mkdirSync(o.out, { recursive: true });
  const base = path.join(o.out, `${date}${o.label ? `-${o.label}` : ''}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  const md = markdownReport(results, path.basename(`${base}.png`));
  writeFileSync(`${base}.md`, md);
  if (results.cells.length) writeFileSync(`${base}.png`, renderChart(results));
  process.stdout.write(`${md}\nwritten: ${base}.json, .md${results.cells.length ? ', .png' : ''}\n`);
  const errors = results.cells.reduce((s, c) => s + c.errors, 0);
  if (errors > 0) {
    process.stderr.write(`bench: ${errors} request(s) did not complete properly (see the errors column)\n`);
    process.exitCode = 1;
  }
}

main().then(
  () => process.exit(),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    killAll();
    process.exit(1);
  },
);
