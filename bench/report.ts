/** The bench's results, and their Markdown report (tables and the targets of issue 11). */

export type PathName = 'direct' | 'nginx' | 'pipe' | 'responses' | 'chat';
export const PATHS: readonly PathName[] = ['direct', 'nginx', 'pipe', 'responses', 'chat'];

export interface Cell {
  path: PathName;
  tokens: number;
  concurrency: number;
  requests: number;
  errors: number;
  firstError?: string;
  rps: number;
  latency: { p50: number; p99: number; mean: number };
  ttfb: { p50: number; p99: number };
  /** CPU time (user + system) per request over the measured window: the proxy's (absent for direct), the upstream's and the load generator's; absent without /proc. */
  cpuUsPerRequest?: { proxy?: number; upstream?: number; client?: number };
  /** req/s of every round, in round order (absent in results written before this existed, and with one round). */
  roundsRps?: number[];
  /** p50 latency and time to first byte (ms) of every round, in round order (absent before session 7's results, and with one round). */
  roundsP50?: number[];
  roundsTtfbP50?: number[];
}

export interface BenchResults {
  date: string;
  label: string;
  cliproxy: string;
  node: string;
  machine: string;
  durationMs: number;
  /** Rounds per cell (absent in results written before rounds existed: one). */
  rounds?: number;
  /** How long each path served answers (200 tokens, c=16) before the first cell (absent in results written before that warm-up existed). */
  warmUpMs?: number;
  /** How long each cell's first round ran unmeasured (absent in results written before it was recorded). */
  cellWarmUpMs?: number;
  quick: boolean;
  nginx: string;
  cells: Cell[];
  /** perStreamKiB: the slope between n/2 and n open streams; fromIdleKiB: (RSS at n - idle) / n. Results written before the slope existed have no halfKiB / fromIdleKiB (their perStreamKiB is from idle). */
  rss?: { streams: number; held: number; idleKiB: number; halfKiB?: number; openKiB: number; perStreamKiB: number; fromIdleKiB?: number; heldOnKiB?: number; heldOnSeconds?: number };
  startup?: { accounts: number; medianMs: number; allMs: number[]; bareNodeMs: number };
  quota?: {
    accounts: number;
    limitPerAccount: number;
    aggregate: number;
    requests: number;
    served: number;
    servedShare: number;
    status429: number;
    early429: number;
    otherStatuses: number[];
    retryAfterWithHeader: number;
    retryAfterErrorS: { median: number | null; max: number | null };
  };
}

function find(r: BenchResults, path: PathName, tokens: number, concurrency: number): Cell | undefined {
  return r.cells.find((c) => c.path === path && c.tokens === tokens && c.concurrency === concurrency);
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * A cell's req/s ÷ a reference cell's: for cells measured in rounds, the median of the rounds'
 * ratios (each round runs the paths back to back, so a ratio within a round compares them at the
 * same speed of the machine); else the plain ratio.
 */
export function rpsRatio(cell: Cell, base: Cell): number {
  const a = cell.roundsRps;
  const b = base.roundsRps;
  if (!a || !b || a.length !== b.length || a.length < 2) return cell.rps / base.rps;
  return median(a.map((x, i) => x / b[i]!));
}

/**
 * What a path adds to the sandbox direct, p50 latency or time to first byte (ms): for cells
 * measured in rounds, the median of the rounds' differences (as for the ratios: within a round
 * the paths run back to back, at the same speed of the machine; the cells' own figures are each
 * path's median round, which need not be the same round for both); else the plain difference.
 */
export function addedMs(cell: Cell, direct: Cell, what: 'p50' | 'ttfb'): number {
  const a = what === 'p50' ? cell.roundsP50 : cell.roundsTtfbP50;
  const b = what === 'p50' ? direct.roundsP50 : direct.roundsTtfbP50;
  if (a && b && a.length === b.length && a.length >= 2) return median(a.map((x, i) => x - b[i]!));
  return what === 'p50' ? cell.latency.p50 - direct.latency.p50 : cell.ttfb.p50 - direct.ttfb.p50;
}

/** The reference for ratios: nginx when it was measured, else the bare pipe. */
export function referencePath(r: BenchResults): PathName {
  return r.cells.some((c) => c.path === 'nginx') ? 'nginx' : 'pipe';
}

const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
const signed = (n: number) => (Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(2)}` : '–');

export interface TargetCheck {
  what: string;
  target: string;
  measured: string;
  met: boolean | null;
}

/** The targets of issue 11, checked against one run (null: not measured in this run). */
export function checkTargets(r: BenchResults): TargetCheck[] {
  const ref = referencePath(r);
  const out: TargetCheck[] = [];
  for (const c of [16, 64]) {
    const chat = find(r, 'chat', 200, c);
    const base = find(r, ref, 200, c);
    const ratio = chat && base ? rpsRatio(chat, base) : NaN;
    out.push({ what: `chat, 200 tokens, c=${c}: req/s ÷ ${ref}`, target: '≥ 0.65', measured: f2(ratio), met: Number.isFinite(ratio) ? ratio >= 0.65 : null });
  }
  const added = (path: PathName) => {
    const p = find(r, path, 200, 1);
    const d = find(r, 'direct', 200, 1);
    return p && d ? addedMs(p, d, 'p50') : NaN;
  };
  const chatAdded = added('chat');
  out.push({ what: 'chat, 200 tokens, c=1: added p50 vs direct', target: '≤ 0.9 ms', measured: `${signed(chatAdded)} ms`, met: Number.isFinite(chatAdded) ? chatAdded <= 0.9 : null });
  for (const c of [1, 16, 64]) {
    const resp = find(r, 'responses', 200, c);
    const pipe = find(r, 'pipe', 200, c);
    const ratio = resp && pipe ? rpsRatio(resp, pipe) : NaN;
    out.push({ what: `responses, 200 tokens, c=${c}: req/s ÷ pipe`, target: '≥ 0.95', measured: f2(ratio), met: Number.isFinite(ratio) ? ratio >= 0.95 : null });
  }
  const respAdded = added('responses');
  out.push({ what: 'responses, 200 tokens, c=1: added p50 vs direct', target: '≤ 0.6 ms', measured: `${signed(respAdded)} ms`, met: Number.isFinite(respAdded) ? respAdded <= 0.6 : null });
  if (r.rss) {
    const kb = (r.rss.perStreamKiB * 1024) / 1000;
    out.push({ what: `RSS per open stream (${r.rss.held} streams)`, target: '≤ 50 KB', measured: `${kb.toFixed(1)} KB`, met: kb <= 50 && r.rss.held === r.rss.streams });
  }
  if (r.startup) out.push({ what: 'start-up to listening, 100 account files', target: '≤ 300 ms', measured: `${r.startup.medianMs} ms`, met: r.startup.medianMs <= 300 });
  if (r.quota) out.push({ what: 'quota: 429s seen while quota was left', target: '0', measured: String(r.quota.early429), met: r.quota.early429 === 0 });
  return out;
}

export function markdownReport(r: BenchResults, pngName: string): string {
  const ref = referencePath(r);
  const lines: string[] = [];
  lines.push(`# cliproxy bench — ${r.date}${r.label ? ` (${r.label})` : ''}`);
  lines.push('');
  lines.push(`cliproxy ${r.cliproxy}, Node ${r.node}, ${r.machine}. Upstream: the sandbox with zero delay; load generator, upstream and each proxy in separate processes; closed-loop clients, ${(r.rounds ?? 1) > 1 ? `${r.rounds} rounds of ${r.durationMs / 1000} s per path (every path once per round; each cell is its median round)` : `${r.durationMs / 1000} s per cell`} after a warm-up${r.warmUpMs ? ` (per path: ${r.warmUpMs / 1000} s of 200-token answers at c=16 before the first cell${r.cellWarmUpMs ? `, ${r.cellWarmUpMs / 1000} s before each cell's first round` : ''})` : ''}${r.quick ? ' (--quick)' : ''}. nginx: ${r.nginx}.`);
  lines.push('');
  if (r.cells.length) {
    lines.push(`Ratios are req/s ÷ ${ref} at the same size and concurrency${(r.rounds ?? 1) > 1 ? ' (for cells measured in rounds, the median of the rounds\' ratios: the paths of one round run back to back, at the same speed of the machine)' : ''}; "added" is the p50 (and time-to-first-byte) difference to the sandbox direct${(r.rounds ?? 1) > 1 ? ' (likewise the median of the rounds\' differences)' : ''}; "proxy CPU" is the CPU time (user + system, from /proc) the proxy's processes used per request in the measured window, which moves far less with the machine's noise than req/s.`);
    lines.push('');
    const sizes = [...new Set(r.cells.map((c) => c.tokens))];
    const concs = [...new Set(r.cells.map((c) => c.concurrency))];
    for (const tokens of sizes) {
      lines.push(`## ${tokens} token${tokens === 1 ? '' : 's'} per answer`);
      lines.push('');
      lines.push(`| c | path | req/s | ÷ ${ref} | p50 ms | p99 ms | TTFB p50 ms | added p50 ms | added TTFB ms | proxy CPU µs/req | errors |`);
      lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
      for (const c of concs) {
        const base = find(r, ref, tokens, c);
        const direct = find(r, 'direct', tokens, c);
        for (const p of PATHS) {
          const cell = find(r, p, tokens, c);
          if (!cell) continue;
          lines.push(
            `| ${c} | ${p} | ${cell.rps.toFixed(0)} | ${base ? f2(rpsRatio(cell, base)) : '–'} | ${f2(cell.latency.p50)} | ${f2(cell.latency.p99)} | ${f2(cell.ttfb.p50)} | ${direct ? signed(addedMs(cell, direct, 'p50')) : '–'} | ${direct ? signed(addedMs(cell, direct, 'ttfb')) : '–'} | ${cell.cpuUsPerRequest?.proxy ?? '–'} | ${cell.errors} |`,
          );
        }
      }
      lines.push('');
    }
    lines.push(`![p50 latency vs concurrency per path](${pngName})`);
    lines.push('');
  }
  if (r.rss) {
    lines.push('## Memory per open stream');
    lines.push('');
    if (r.rss.halfKiB !== undefined && r.rss.fromIdleKiB !== undefined) {
      lines.push(
        `${r.rss.held} of ${r.rss.streams} chat streams held open (a 1,000-word prompt each; the upstream sends one event every 2 s), opened in two halves: proxy RSS ${r.rss.idleKiB} KiB idle → ${r.rss.halfKiB} KiB at ${r.rss.streams / 2} → ${r.rss.openKiB} KiB at ${r.rss.streams}: **${r.rss.perStreamKiB} KiB per stream** (the second half's slope); ${r.rss.fromIdleKiB} KiB per stream counted from idle, which also spreads the one-off growth of any load (V8's young generation, allocator arenas) over the streams.`,
      );
    } else {
      lines.push(`${r.rss.held} of ${r.rss.streams} chat streams held open (the upstream sends one event every 2 s): proxy RSS ${r.rss.idleKiB} KiB idle → ${r.rss.openKiB} KiB, **${r.rss.perStreamKiB} KiB per stream**.`);
    }
    if (r.rss.heldOnKiB !== undefined && r.rss.heldOnSeconds !== undefined) {
      const growth = r.rss.heldOnKiB - r.rss.openKiB;
      lines.push('');
      lines.push(`Held on for ${r.rss.heldOnSeconds} s more (only their events arriving): ${r.rss.heldOnKiB} KiB, ${growth >= 0 ? '+' : ''}${growth} KiB (${(growth / r.rss.held).toFixed(2)} KiB per stream).`);
    }
    lines.push('');
  }
  if (r.startup) {
    lines.push('## Start-up');
    lines.push('');
    lines.push(`\`cliproxy serve\` with ${r.startup.accounts} account files, process spawn → "listening on": **${r.startup.medianMs} ms** median (${r.startup.allMs.join(', ')} ms); a bare \`node -e 0\` takes ${r.startup.bareNodeMs} ms here.`);
    lines.push('');
  }
  if (r.quota) {
    const q = r.quota;
    lines.push('## Quota use');
    lines.push('');
    lines.push(
      `${q.accounts} accounts × ${q.limitPerAccount} requests per window (aggregate ${q.aggregate}), a burst of ${q.requests} chat requests at concurrency 16: **${q.served} served (${(q.servedShare * 100).toFixed(1)} % of the aggregate quota)**, ${q.status429} answered 429, **${q.early429} 429s while quota was left**${q.otherStatuses.length ? `, other statuses: ${q.otherStatuses.join(', ')}` : ''}. Retry-After on ${q.retryAfterWithHeader} of the 429s, off from the real reset by ${q.retryAfterErrorS.median ?? '–'} s median, ${q.retryAfterErrorS.max ?? '–'} s at most.`,
    );
    lines.push('');
  }
  lines.push('## Targets (issue 11)');
  lines.push('');
  lines.push('| what | target | measured | met |');
  lines.push('|---|---|---|---|');
  for (const t of checkTargets(r)) lines.push(`| ${t.what} | ${t.target} | ${t.measured} | ${t.met === null ? 'not measured' : t.met ? 'yes' : 'no'} |`);
  lines.push('');
  return lines.join('\n');
}
