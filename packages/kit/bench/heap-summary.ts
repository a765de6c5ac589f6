/**
 * `node dist/bench/heap-summary.js FILE.heapsnapshot [--top N] [--retainers N]`: what a V8 heap
 * snapshot holds, by constructor (objects), function (closures) or kind (strings, arrays, code),
 * largest first, and for the largest groups who holds them (the retaining object's constructor
 * and the property or element it holds them by). Weak edges are ignored.
 * With two files (`EARLIER LATER`), the groups that grew most between them, and who holds those.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface HeapGroup {
  group: string;
  count: number;
  bytes: number;
  retainers: Array<{ by: string; count: number; bytes: number }>;
}

/** Groups the snapshot's nodes; the `topRetained` largest groups get their retainers listed. */
export function summarizeHeap(snap: Snapshot, topRetained: number): HeapGroup[] {
  const { meta } = snap.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const [typeOf, nameOf, sizeOf, edgeCountOf] = ['type', 'name', 'self_size', 'edge_count'].map((f) =>
    meta.node_fields.indexOf(f),
  ) as [number, number, number, number];
  const [edgeTypeOf, edgeNameOf, edgeToOf] = ['type', 'name_or_index', 'to_node'].map((f) =>
    meta.edge_fields.indexOf(f),
  ) as [number, number, number];
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = snap;
  const count = nodes.length / nf;

  const groupOf = (i: number): string => {
    const type = nodeTypes[nodes[i * nf + typeOf]!]!;
    const name = strings[nodes[i * nf + nameOf]!]!;
    if (type === 'object' || type === 'closure' || type === 'native') return `${type} ${name}`;
    if (type === 'hidden' || type === 'object shape' || type === 'array')
      return `${type} ${name}`.slice(0, 60);
    return `(${type})`;
  };
  const groups = new Map<string, HeapGroup>();
  const nodeGroup: string[] = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const g = groupOf(i);
    nodeGroup[i] = g;
    let entry = groups.get(g);
    if (!entry) groups.set(g, (entry = { group: g, count: 0, bytes: 0, retainers: [] }));
    entry.count += 1;
    entry.bytes += nodes[i * nf + sizeOf]!;
  }
  const sorted = [...groups.values()].sort((a, b) => b.bytes - a.bytes);
  const wanted = new Set(sorted.slice(0, topRetained).map((g) => g.group));
  const retainers = new Map<string, Map<string, { count: number; bytes: number }>>();
  let edge = 0;
  for (let i = 0; i < count; i++) {
    const from = nodeGroup[i]!;
    const n = nodes[i * nf + edgeCountOf]!;
    for (let k = 0; k < n; k++, edge += ef) {
      const type = edgeTypes[edges[edge + edgeTypeOf]!]!;
      if (type === 'weak' || type === 'shortcut') continue;
      const to = edges[edge + edgeToOf]! / nf;
      const toGroup = nodeGroup[to]!;
      if (!wanted.has(toGroup)) continue;
      const label =
        type === 'element' || type === 'hidden'
          ? `${from} [${type}]`
          : `${from} .${strings[edges[edge + edgeNameOf]!] ?? '?'}`;
      let byGroup = retainers.get(toGroup);
      if (!byGroup) retainers.set(toGroup, (byGroup = new Map()));
      const r = byGroup.get(label) ?? { count: 0, bytes: 0 };
      r.count += 1;
      r.bytes += nodes[to * nf + sizeOf]!;
      byGroup.set(label, r);
    }
  }
  for (const g of sorted.slice(0, topRetained)) {
    g.retainers = [...(retainers.get(g.group) ?? new Map<string, { count: number; bytes: number }>())]
      .map(([by, r]) => ({ by, ...r }))
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, 6);
  }
  return sorted;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, retainers: { type: 'string', default: '10' } },
  });
  const [file, later] = positionals;
  if (!file)
    throw new Error('usage: heap-summary FILE.heapsnapshot [LATER.heapsnapshot] [--top N] [--retainers N]');
  const read = (f: string): Snapshot => JSON.parse(readFileSync(f, 'utf8')) as Snapshot;
  const mb = (n: number): string => (n / 2 ** 20).toFixed(2).padStart(7);
  if (later) {
    const before = new Map(summarizeHeap(read(file), 0).map((g) => [g.group, g]));
    const after = summarizeHeap(read(later), Infinity);
    const grown = after
      .map((g) => ({
        ...g,
        grew: g.bytes - (before.get(g.group)?.bytes ?? 0),
        more: g.count - (before.get(g.group)?.count ?? 0),
      }))
      .sort((a, b) => b.grew - a.grew);
    const total = grown.reduce((s, g) => s + g.grew, 0);
    process.stdout.write(`${file} -> ${later}: live heap ${total >= 0 ? '+' : ''}${mb(total)} MB\n`);
    for (const g of grown.slice(0, Number(values.top))) {
      process.stdout.write(`${mb(g.grew)} MB ${String(g.more).padStart(8)}  ${g.group}\n`);
      for (const r of g.retainers)
        process.stdout.write(
          `           ${mb(r.bytes)} MB ${String(r.count).padStart(8)}  held by ${r.by}\n`,
        );
    }
    return;
  }
  const groups = summarizeHeap(read(file), Number(values.retainers));
  const total = groups.reduce((s, g) => s + g.bytes, 0);
  process.stdout.write(`${file}: ${mb(total)} MB live in ${groups.length} groups\n`);
  for (const g of groups.slice(0, Number(values.top))) {
    process.stdout.write(`${mb(g.bytes)} MB ${String(g.count).padStart(8)}  ${g.group}\n`);
    for (const r of g.retainers)
      process.stdout.write(`           ${mb(r.bytes)} MB ${String(r.count).padStart(8)}  held by ${r.by}\n`);
  }
}

if (require.main === module) main();
