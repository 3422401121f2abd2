/**
 * Where the memory goes in a V8 heap snapshot (`npm run bench -- --only rss --heap-snapshot
 * <dir>` takes one of the proxy while it holds its streams open): live objects grouped by
 * constructor (or by kind for strings, arrays, code, closures), largest total first, with their
 * count and, given the number of open streams, count and bytes per stream.
 *
 *   npx tsx bench/heap-summary.ts <file.heapsnapshot> [streams] [N]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: npx tsx bench/heap-summary.ts <file.heapsnapshot> [streams] [N]\n');
  process.exit(2);
}
const streams = Number(process.argv[3] ?? 0);
const top = Number(process.argv[4] ?? 40);
const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const width = fields.length;
const typeAt = fields.indexOf('type');
const nameAt = fields.indexOf('name');
const sizeAt = fields.indexOf('self_size');

const groups = new Map<string, { count: number; bytes: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += width) {
  const type = types[snap.nodes[i + typeAt]!]!;
  const bytes = snap.nodes[i + sizeAt]!;
  total += bytes;
  // objects by constructor; strings, arrays, code and the like by kind (their "names" are their contents)
  const key = type === 'object' || type === 'native' ? snap.strings[snap.nodes[i + nameAt]!]! : `(${type})`;
  const g = groups.get(key) ?? { count: 0, bytes: 0 };
  g.count++;
  g.bytes += bytes;
  groups.set(key, g);
}

const kb = (n: number) => (n / 1024).toFixed(1);
process.stdout.write(`live heap ${kb(total)} KiB${streams ? `, ${kb(total / streams)} KiB per stream over ${streams} streams` : ''}\n\n`);
process.stdout.write(`${'KiB'.padStart(10)} ${'count'.padStart(9)}${streams ? `${'per stream'.padStart(12)}${'B/stream'.padStart(10)}` : ''}  constructor or kind\n`);
for (const [name, g] of [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) {
  const per = streams ? `${(g.count / streams).toFixed(2).padStart(12)}${Math.round(g.bytes / streams).toString().padStart(10)}` : '';
  process.stdout.write(`${kb(g.bytes).padStart(10)} ${String(g.count).padStart(9)}${per}  ${name.slice(0, 80)}\n`);
}
