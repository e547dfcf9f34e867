// NUMA facts of this machine, read from sysfs and procfs: which node holds
// a pfn, which nodes are online, a mapping's numa_maps line. The guplab REPL
// has them in scope; they work outside a VM too.
import { readdirSync, readFileSync } from 'node:fs';

/** Base page size of the arches guplab boots (x86_64, Debian arm64: 4K). */
const PAGE = 4096n;

/** The NUMA node holding a pfn, from sysfs memory blocks (/sys/devices/system/node/nodeN/memoryB); -1 when sysfs does not say. */
export function nodeOf(pfn: bigint): number {
  let block: bigint;
  try {
    block = BigInt(`0x${readFileSync('/sys/devices/system/memory/block_size_bytes', 'utf8').trim()}`);
  } catch {
    return -1;
  }
  const index = (pfn * PAGE) / block;
  for (const dir of readdirSync('/sys/devices/system/node').filter((d) => /^node\d+$/.test(d))) {
    const entries = readdirSync(`/sys/devices/system/node/${dir}`);
    if (entries.includes(`memory${index}`)) return Number(dir.slice(4));
  }
  return -1;
}

/** The NUMA nodes the guest has (/sys/devices/system/node/online). */
export function nodes(): string {
  return readFileSync('/sys/devices/system/node/online', 'utf8').trim();
}

/** The /proc/self/numa_maps line of the mapping that holds `address` (policy and pages per node). */
export function numaMaps(address: bigint): string | undefined {
  const hex = address.toString(16);
  return readFileSync('/proc/self/numa_maps', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${hex} `));
}
