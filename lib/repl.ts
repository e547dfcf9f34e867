// `guplab-repl`: a Node REPL with guplab imported and the device open, for
// exploring by hand (guplab vm shell --repl starts it in the guest). Every
// export of the package is in scope, plus `dev` (an open GupDevice), `m`
// (a 2 MiB anonymous mapping, populated) and NUMA helpers read from sysfs.
import { readdirSync, readFileSync } from 'node:fs';
import repl from 'node:repl';
import * as guplab from './index.js';

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

const HELP = `guplab REPL: dev is an open GupDevice (kernel ${process.env.GUPLAB_KERNEL_RELEASE ?? "of this machine"}), every export of guplab is in scope
  m = mapAnonymous(2 << 20, { thp: 'on', populate: true })      also mapHugetlb mapMemfd mapFile mapSecret
  dev.pin('pin_user_pages_fast', m.address, 16, { flags: ['write', 'longterm'], facts: true })
  dev.info()   API_NAMES   FLAG_NAMES   pinCounters()   m.backing()   m.pfn(0)
  nodes()   nodeOf(pfn)   numaMaps(m.address)    .help   Ctrl-D powers the guest off`;

const dev = guplab.GupDevice.open();
console.log(HELP);
const server = repl.start({ prompt: 'guplab> ', useGlobal: false });
Object.assign(server.context, guplab, { dev, nodeOf, nodes, numaMaps, help: () => console.log(HELP) });
server.on('exit', () => {
  dev.close();
  process.exit(0);
});
