/**
 * Where the time goes in a V8 CPU profile (`node --cpu-prof`, see `npm run bench -- --cpu-prof
 * <dir>`): self time per function (name, file:line), the top N, and self time per package
 * (node internals, each dependency, cliproxy's own modules), as shares of the busy time.
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [N]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [N]\n');
  process.exit(2);
}
const top = Number(process.argv[3] ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
// percentages are of the busy time: the idle samples (waiting for I/O) are left out
let idleUs = 0;
for (const [id, us] of selfUs) if (byId.get(id)?.callFrame.functionName === '(idle)') idleUs += us;
const total = [...selfUs.values()].reduce((a, b) => a + b, 0) - idleUs;

function where(url: string): string {
  if (!url) return '(native/v8)';
  if (url.startsWith('node:')) return 'node';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  const d = /\/dist\/(.*)$/.exec(url) ?? /\/src\/(.*)$/.exec(url);
  return d ? `cliproxy ${d[1]}` : url;
}

const fn = new Map<string, number>();
const pkg = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  if (n.callFrame.functionName === '(idle)') continue;
  const name = n.callFrame.functionName || '(anonymous)';
  const w = where(n.callFrame.url);
  const key = `${name}  ${w}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  const p = w.startsWith('cliproxy ') ? 'cliproxy' : w;
  pkg.set(p, (pkg.get(p) ?? 0) + us);
}
const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
process.stdout.write(`busy ${(total / 1000).toFixed(0)} ms (idle ${(idleUs / 1000).toFixed(0)} ms left out); shares of the busy time\n\nself time by package:\n`);
for (const [k, us] of [...pkg].sort((a, b) => b[1] - a[1]).slice(0, 15)) process.stdout.write(`${pct(us)}  ${k}\n`);
process.stdout.write(`\nself time by function (top ${top}):\n`);
for (const [k, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(us)}  ${k}\n`);
