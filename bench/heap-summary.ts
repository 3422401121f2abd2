/**
 * Where the memory goes, from V8 heap snapshots of the proxy (`npm run bench -- --only rss
 * --heap-snapshot <dir>` takes one when half of the streams are open and one when all are):
 * live objects grouped by constructor (or by kind for strings, arrays, code, closures), largest
 * first. Given both snapshots and the number of streams opened between them, it shows what one
 * more open stream holds (the difference, per stream); given one snapshot, its totals.
 *
 *   npx tsx bench/heap-summary.ts <at-half.heapsnapshot> <all-open.heapsnapshot> <streams between> [N]
 *   npx tsx bench/heap-summary.ts <file.heapsnapshot> [N]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}
type Groups = Map<string, { count: number; bytes: number }>;

/** Live bytes and counts by constructor; strings, arrays, code and the like by kind (their "names" are their contents). */
function groupsOf(file: string): Groups {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups: Groups = new Map();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const key = type === 'object' || type === 'native' ? snap.strings[snap.nodes[i + nameAt]!]! : `(${type})`;
    const g = groups.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += snap.nodes[i + sizeAt]!;
    groups.set(key, g);
  }
  return groups;
}

const args = process.argv.slice(2);
if (args.length === 0) {
  process.stderr.write('usage: npx tsx bench/heap-summary.ts <at-half.heapsnapshot> <all-open.heapsnapshot> <streams between> [N]\n       npx tsx bench/heap-summary.ts <file.heapsnapshot> [N]\n');
  process.exit(2);
}
const diff = args[1]?.endsWith('.heapsnapshot') === true;
const top = Number((diff ? args[3] : args[1]) ?? 40);
const out = (line: string) => process.stdout.write(`${line}\n`);

if (diff) {
  const streams = Number(args[2]);
  if (!(streams > 0)) throw new Error('heap-summary: the number of streams between the snapshots must be positive');
  const a = groupsOf(args[0]!);
  const b = groupsOf(args[1]!);
  const rows = [...new Set([...a.keys(), ...b.keys()])].map((name) => {
    const x = a.get(name) ?? { count: 0, bytes: 0 };
    const y = b.get(name) ?? { count: 0, bytes: 0 };
    return { name, count: (y.count - x.count) / streams, bytes: (y.bytes - x.bytes) / streams };
  });
  const total = rows.reduce((n, r) => n + r.bytes, 0);
  out(`one more open stream holds ${(total / 1024).toFixed(1)} KiB of live heap (difference of the two snapshots over ${streams} streams)\n`);
  out(`${'B/stream'.padStart(9)} ${'count'.padStart(7)}  constructor or kind`);
  for (const r of rows.sort((p, q) => q.bytes - p.bytes).slice(0, top)) out(`${Math.round(r.bytes).toString().padStart(9)} ${r.count.toFixed(2).padStart(7)}  ${r.name.slice(0, 80)}`);
} else {
  const g = groupsOf(args[0]!);
  const total = [...g.values()].reduce((n, r) => n + r.bytes, 0);
  out(`live heap ${(total / 1024).toFixed(1)} KiB\n`);
  out(`${'KiB'.padStart(10)} ${'count'.padStart(9)}  constructor or kind`);
  for (const [name, r] of [...g].sort((p, q) => q[1].bytes - p[1].bytes).slice(0, top)) out(`${(r.bytes / 1024).toFixed(1).padStart(10)} ${String(r.count).padStart(9)}  ${name.slice(0, 80)}`);
}
