// `guplab-repl`: a Node REPL with guplab imported and the device open, for
// exploring by hand (guplab vm shell --repl starts it in the guest). Every
// export of the package is in scope, plus `dev` (an open GupDevice) and the
// NUMA helpers of lib/numa.ts.
import repl from 'node:repl';
import * as guplab from './index.js';
import { nodeOf, nodes, numaMaps } from './numa.js';
import { ENV } from './contract.js';

const HELP = `guplab REPL: dev is an open GupDevice (kernel ${process.env[ENV.release] ?? 'of this machine'}), every export of guplab is in scope
  m = mapAnonymous(2 << 20, { thp: 'on', populate: true })      also mapHugetlb mapMemfd mapFile mapSecret
  dev.pin('pin_user_pages_fast', m.address, 16, { flags: ['write', 'longterm'], facts: true })
  dev.info()   API_NAMES   FLAG_NAMES   pinCounters()   m.backing()   m.pfn(0)
  nodes()   nodeOf(pfn)   numaMaps(m.address)    .help   Ctrl-D powers the guest off`;

/** The REPL (bin/guplab-repl.js): the device open, every export of guplab in scope. */
export function main(): void {
  const dev = guplab.GupDevice.open();
  console.log(HELP);
  const server = repl.start({ prompt: 'guplab> ', useGlobal: false, breakEvalOnSigint: true });
  Object.assign(server.context, guplab, { dev, nodeOf, nodes, numaMaps, help: () => console.log(HELP) });
  server.on('exit', () => {
    dev.close();
    process.exit(0);
  });
}
