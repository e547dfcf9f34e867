// Run in a NUMA guest under `numactl --membind=N`: maps 2 MiB of anonymous
// memory, pins it (pin_user_pages_fast, write) with page facts, and prints
// one JSON line: the NUMA node of every pinned pfn (sysfs memory blocks)
// and the mapping's numa_maps line. test/vm/explore.test.ts judges it.
import { mapAnonymous, GupDevice } from '../../dist/lib/index.js';
import { nodeOf, numaMaps } from '../../dist/lib/numa.js';

const dev = GupDevice.open();
const m = mapAnonymous(2 << 20, { populate: true });
const r = dev.pin('pin_user_pages_fast', m.address, m.pages, { flags: ['write'], facts: true });
const nodes = [...new Set((r.facts ?? []).map((f) => nodeOf(f.pfn)))];
console.log(`numa-pin ${JSON.stringify({ ret: r.ret, pages: m.pages, nodes, numaMaps: numaMaps(m.address) })}`);
dev.close();
