// NUMA guests: --numa N (N equal nodes) or one --numa SIZE[,cpus=LIST] per
// node, as virtme-ng takes it. Each node is a QEMU memory backend and a
// -numa node; x86_64 guests see them through the ACPI SRAT, arm64 (virt,
// direct kernel boot) through the device tree's numa-node-id properties.
// Checked against --mem and --cpus before anything is fetched or booted.
import { sizeMiB } from './guest.js';

export interface NumaNode {
  memMiB: number;
  cpus: number[];
}

/** Smallest node guplab makes: the x86 kernel ignores nodes under 4 MiB (NODE_MIN_SIZE), and a guest needs room. */
const MIN_NODE_MIB = 64;

function cpuList(text: string, cpus: number): number[] {
  const out: number[] = [];
  for (const part of text.split(/[;:]/).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new RangeError(`--numa cpus=${text}: a CPU list looks like 0, 0-1 or 0;2 (";" between ranges, as "," separates the options)`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new RangeError(`--numa cpus=${part}: the range runs backwards`);
    for (let c = from; c <= to; c++) {
      if (c >= cpus) throw new RangeError(`--numa cpus=${text}: CPU ${c} does not exist (the guest has --cpus ${cpus}: CPUs 0-${cpus - 1})`);
      out.push(c);
    }
  }
  return out;
}

/**
 * The nodes of a --numa request. `values` is what the user gave: one value
 * "N" (N equal nodes), or one "SIZE[,cpus=LIST]" per node (sizes adding up
 * to --mem). When no node names CPUs, they are dealt in equal blocks of
 * consecutive CPUs (a node may get none). Throws a RangeError naming the fix.
 */
export function parseNuma(values: readonly string[], memMiB: number, cpus: number): NumaNode[] {
  if (values.length === 0) return [];
  let nodes: NumaNode[];
  if (values.length === 1 && /^\d+$/.test(values[0]!.trim())) {
    const n = Number(values[0]);
    if (n < 1 || n > 8) throw new RangeError(`--numa ${n}: give 1 to 8 nodes`);
    if (memMiB % n !== 0)
      throw new RangeError(
        `--numa ${n}: --mem ${memMiB} does not split into ${n} equal nodes; give a --mem that ${n} divides, or the node sizes (--numa 1G --numa 512M ...)`,
      );
    nodes = Array.from({ length: n }, () => ({ memMiB: memMiB / n, cpus: [] }));
  } else {
    nodes = values.map((value) => {
      const [size, ...opts] = value.split(',').map((s) => s.trim());
      if (!size || !/^\d+[MG]$/i.test(size))
        throw new RangeError(`--numa ${value}: each node is SIZE[,cpus=LIST] (e.g. 1G,cpus=0), or give one --numa N for N equal nodes`);
      const node: NumaNode = { memMiB: sizeMiB(size), cpus: [] };
      for (const opt of opts) {
        const m = /^cpus=(.+)$/.exec(opt);
        if (!m?.[1]) throw new RangeError(`--numa ${value}: unknown node option "${opt}" (only cpus=LIST)`);
        node.cpus.push(...cpuList(m[1], cpus));
      }
      return node;
    });
    const total = nodes.reduce((sum, n) => sum + n.memMiB, 0);
    if (total !== memMiB) {
      throw new RangeError(
        `--numa node sizes add up to ${total} MiB (${nodes.map((n) => `${n.memMiB}M`).join(' + ')}) but --mem is ${memMiB}: make them add up to --mem, or set --mem ${total}`,
      );
    }
  }
  for (const [i, node] of nodes.entries()) {
    if (node.memMiB < MIN_NODE_MIB) throw new RangeError(`--numa: node ${i} has ${node.memMiB} MiB; each node needs ${MIN_NODE_MIB} MiB or more`);
  }
  const named = nodes.flatMap((n) => n.cpus);
  if (named.length === 0) {
    // Equal blocks of consecutive CPUs, one socket each (see numaQemuArgs).
    let d = Math.min(nodes.length, cpus);
    while (cpus % d !== 0) d--;
    for (let c = 0; c < cpus; c++) nodes[Math.floor(c / (cpus / d))]!.cpus.push(c);
  } else {
    const seen = new Set<number>();
    for (const c of named) {
      if (seen.has(c)) throw new RangeError(`--numa: CPU ${c} is given to two nodes`);
      seen.add(c);
    }
    const missing = Array.from({ length: cpus }, (_, c) => c).filter((c) => !seen.has(c));
    if (missing.length) throw new RangeError(`--numa: CPU ${missing.join(', ')} belongs to no node; give every CPU of --cpus ${cpus} to one node (cpus=...)`);
  }
  return nodes;
}

/**
 * The sockets that put each node's CPUs in a socket of their own, when the
 * nodes hold equal blocks of consecutive CPUs; else undefined. QEMU's
 * default (every CPU a core of one socket) puts CPUs that share a
 * last-level cache in different nodes, which x86's topology_sane()
 * (arch/x86/kernel/smpboot.c; seen on Debian 6.1) answers with a WARN at boot.
 */
export function numaSockets(nodes: readonly NumaNode[]): { sockets: number; cores: number } | undefined {
  const withCpus = nodes.filter((n) => n.cpus.length > 0);
  const per = withCpus[0]?.cpus.length ?? 0;
  if (per === 0) return undefined;
  const aligned = withCpus.every((n) => {
    const sorted = [...n.cpus].sort((a, b) => a - b);
    return sorted.length === per && sorted[0]! % per === 0 && sorted.every((c, i) => c === sorted[0]! + i);
  });
  return aligned ? { sockets: withCpus.length, cores: per } : undefined;
}

/** QEMU's arguments for the nodes: one RAM backend and one -numa node each, and a socket per node where they fit (numaSockets). */
export function numaQemuArgs(nodes: readonly NumaNode[]): string[] {
  const topo = numaSockets(nodes);
  const cpus = nodes.reduce((sum, n) => sum + n.cpus.length, 0);
  // -smp merges with the runner's own "-smp N".
  return (topo && nodes.length > 1 ? ['-smp', `cpus=${cpus},sockets=${topo.sockets},cores=${topo.cores},threads=1`] : []).concat(
    nodes.flatMap((node, i) => [
      '-object',
      `memory-backend-ram,id=guplab-numa${i},size=${node.memMiB}M`,
      '-numa',
      ['node', `nodeid=${i}`, `memdev=guplab-numa${i}`, ...cpuRanges(node.cpus).map((r) => `cpus=${r}`)].join(','),
    ]),
  );
}

/** 0,1,2,5 -> ["0-2", "5"]. */
function cpuRanges(cpus: readonly number[]): string[] {
  const sorted = [...cpus].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(sorted[i] === sorted[j] ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out;
}

/** One line per node, for the log: "node 0: 1024 MiB, CPUs 0". */
export function numaSummary(nodes: readonly NumaNode[]): string {
  return nodes.map((n, i) => `node ${i}: ${n.memMiB} MiB, CPUs ${n.cpus.length ? cpuRanges(n.cpus).join(',') : 'none'}`).join('; ');
}
