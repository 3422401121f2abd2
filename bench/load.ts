/**
 * Bench process: the load generator (a small undici client in a process of its own, so nothing
 * in it shares the proxy's event loop). Three modes, chosen by argv JSON `mode`:
 *
 * - closed: `concurrency` workers, each sending the next request as soon as the previous answer
 *   ended, for `warmupMs` (not measured) then `durationMs`. Every answer must be 200 and end
 *   with `expect`. Prints `{ requests, errors, rps, latency: {p50,p99,mean}, ttfb: {p50,p99} }`
 *   (ms; latency = request sent → last body byte, ttfb = request sent → first body byte).
 * - hold: opens `n` streams at once, waits until each sent its first body byte, prints
 *   `{ held, failed }`, then keeps them open until stdin closes (RSS measurement).
 * - burst: `n` requests with `concurrency` workers; prints one record per request
 *   `{ status, at, retryAfter }` (at = ms since the burst started, when the answer ended).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Agent, Pool, type Dispatcher } from 'undici';

interface Target {
  url: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}
type Args =
  | ({ mode: 'closed'; concurrency: number; warmupMs: number; durationMs: number; expect: string; cpuPids?: Record<string, number[]> } & Target)
  | ({ mode: 'hold'; n: number } & Target)
  | ({ mode: 'burst'; n: number; concurrency: number } & Target);

const args = JSON.parse(process.argv[2] ?? '{}') as Args;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

interface One {
  status: number;
  ttfb: number;
  latency: number;
  ok: boolean;
  retryAfter?: string;
}

async function once(d: Dispatcher, t: Target, expect: string | undefined): Promise<One> {
  const t0 = performance.now();
  const res = await d.request({ origin: t.url, path: t.path, method: 'POST', headers: t.headers, body: t.body });
  let ttfb = -1;
  // `expect` anywhere in the body (also across chunk boundaries)
  let carry = '';
  let seen = !expect;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    if (ttfb < 0) ttfb = performance.now() - t0;
    if (!seen) {
      const text = carry + chunk.toString('latin1');
      seen = text.includes(expect!);
      carry = text.slice(-(expect!.length - 1));
    }
  }
  const latency = performance.now() - t0;
  if (ttfb < 0) ttfb = latency;
  const ra = res.headers['retry-after'];
  return { status: res.statusCode, ttfb, latency, ok: res.statusCode === 200 && seen, retryAfter: typeof ra === 'string' ? ra : undefined };
}

/** CPU time (user + system, ms) the processes `pids` used so far, from /proc/<pid>/stat; undefined where there is no /proc. */
function cpuMs(pids: readonly number[]): number | undefined {
  let ticks = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      return undefined;
    }
    // the fields after the command name (which may hold spaces) in parentheses; utime and stime are the 14th and 15th
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / CLOCK_TICKS;
}
/** USER_HZ: 100 on every Linux build that matters (sysconf(_SC_CLK_TCK)). */
const CLOCK_TICKS = 100;

async function closed(a: Extract<Args, { mode: 'closed' }>): Promise<void> {
  const pool = new Pool(a.url, { connections: a.concurrency, keepAliveTimeout: 60_000, pipelining: 1 });
  const latencies: number[] = [];
  const ttfbs: number[] = [];
  let errors = 0;
  const start = performance.now();
  const measureFrom = start + a.warmupMs;
  const end = measureFrom + a.durationMs;
  // each watched process's CPU time over the measured window (from its start to the last answer)
  const cpuNames = Object.keys(a.cpuPids ?? {}).filter((n) => a.cpuPids![n]!.length > 0);
  let cpuAtStart: Array<number | undefined> = [];
  let clientAtStart = process.cpuUsage();
  const cpuTimer = setTimeout(() => {
    cpuAtStart = cpuNames.map((n) => cpuMs(a.cpuPids![n]!));
    clientAtStart = process.cpuUsage();
  }, a.warmupMs);
  let firstError: string | undefined;
  const worker = async () => {
    while (performance.now() < end) {
      const sentAt = performance.now();
      try {
        const r = await once(pool, a, a.expect);
        if (sentAt < measureFrom) continue;
        if (!r.ok) {
          errors++;
          firstError ??= `status ${r.status}`;
          continue;
        }
        latencies.push(r.latency);
        ttfbs.push(r.ttfb);
      } catch (err) {
        if (sentAt >= measureFrom) errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: a.concurrency }, worker));
  const elapsed = performance.now() - measureFrom;
  clearTimeout(cpuTimer);
  // CPU µs per measured request, per watched process
  const cpuUsPerRequest: Record<string, number> = {};
  cpuNames.forEach((n, i) => {
    const now = cpuMs(a.cpuPids![n]!);
    const then = cpuAtStart[i];
    if (now !== undefined && then !== undefined && latencies.length > 0) cpuUsPerRequest[n] = Math.round(((now - then) * 1000) / latencies.length);
  });
  if (cpuNames.length && latencies.length > 0) {
    const client = process.cpuUsage(clientAtStart);
    cpuUsPerRequest['client'] = Math.round((client.user + client.system) / latencies.length);
  }
  latencies.sort((x, y) => x - y);
  ttfbs.sort((x, y) => x - y);
  const mean = latencies.reduce((s, x) => s + x, 0) / Math.max(1, latencies.length);
  process.stdout.write(
    `${JSON.stringify({
      requests: latencies.length,
      errors,
      firstError,
      rps: round((latencies.length / elapsed) * 1000),
      latency: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), mean: round(mean) },
      ttfb: { p50: round(percentile(ttfbs, 50)), p99: round(percentile(ttfbs, 99)) },
      cpuUsPerRequest: cpuNames.length ? cpuUsPerRequest : undefined,
    })}\n`,
  );
  await pool.close();
}

async function hold(a: Extract<Args, { mode: 'hold' }>): Promise<void> {
  const agent = new Agent({ connections: a.n, keepAliveTimeout: 60_000 });
  const controllers: AbortController[] = [];
  let failed = 0;
  const opened = Array.from({ length: a.n }, async () => {
    const c = new AbortController();
    controllers.push(c);
    try {
      const res = await agent.request({ origin: a.url, path: a.path, method: 'POST', headers: a.headers, body: a.body, signal: c.signal });
      const it = (res.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      await it.next();
      if (res.statusCode !== 200) failed++;
      // keep reading slowly in the background so the stream stays a live stream
      void (async () => {
        try {
          while (!(await it.next()).done) {
            /* drain */
          }
        } catch {
          /* aborted at the end */
        }
      })();
    } catch {
      failed++;
    }
  });
  await Promise.all(opened);
  process.stdout.write(`${JSON.stringify({ held: a.n - failed, failed })}\n`);
  await new Promise<void>((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.resume();
  });
  for (const c of controllers) c.abort();
  await agent.destroy().catch(() => undefined);
}

async function burst(a: Extract<Args, { mode: 'burst' }>): Promise<void> {
  const pool = new Pool(a.url, { connections: a.concurrency, keepAliveTimeout: 60_000 });
  const t0 = performance.now();
  const out: Array<{ status: number; at: number; retryAfter?: string }> = [];
  let next = 0;
  const worker = async () => {
    while (next < a.n) {
      next++;
      try {
        const r = await once(pool, a, undefined);
        out.push({ status: r.status, at: round(performance.now() - t0), retryAfter: r.retryAfter });
      } catch {
        out.push({ status: 0, at: round(performance.now() - t0) });
      }
    }
  };
  await Promise.all(Array.from({ length: a.concurrency }, worker));
  process.stdout.write(`${JSON.stringify({ startedAt: Date.now() - (performance.now() - t0), results: out })}\n`);
  await pool.close();
}

if (args.mode === 'closed') await closed(args);
else if (args.mode === 'hold') await hold(args);
else await burst(args);
process.exit(0);
