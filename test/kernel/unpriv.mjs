// Calls for test/kernel/hardening.test.ts made by another process, usually
// as an unprivileged user (setpriv): each prints "key: OUTCOME" lines, the
// outcome being OK or the error's code, and exits 0 unless it could not run.
//
//   hold API FLAGS PAGES...   HOLDs (FLAGS comma-separated or "none"), one line each
//   warn                      get_user_pages_fast with longterm (a WARN_ON_ONCE on 6.1 and 6.12)
//   remote PID ADDR           pin_user_pages_remote of one page of PID
//   budget-hold PAGES         hold PAGES long-term, print "held: OK", wait to be killed
//   budget-one                hold one page long-term
//   many-sets N CGROUP_DIR    (root) hold N one-page sets; print the cgroup's slab growth
import { readFileSync } from 'node:fs';
import { GupDevice, mapAnonymous } from '../../dist/lib/index.js';

const [cmd, ...args] = process.argv.slice(2);
const dev = GupDevice.open();
const outcome = (fn) => {
  try {
    fn();
    return 'OK';
  } catch (err) {
    return `${err.code} ${err.name}: ${err.message}`;
  }
};

if (cmd === 'hold') {
  // One node start for several holds (node starts slowly under an emulated CPU).
  for (let i = 0; i + 2 < args.length; i += 3) {
    const [api, flags, pages] = args.slice(i, i + 3);
    const m = mapAnonymous(Number(pages) * 4096, { populate: true });
    const list = flags === 'none' ? [] : flags.split(',');
    console.log(`hold ${api} ${flags}: ${outcome(() => dev.pin(api, m.address, Number(pages), { flags: list, hold: true }))}`);
  }
} else if (cmd === 'warn') {
  const m = mapAnonymous(4096, { populate: true });
  console.log(`warns: ${dev.warns('get_user_pages_fast', ['longterm'])}`);
  console.log(`warn: ${outcome(() => dev.pin('get_user_pages_fast', m.address, 1, { flags: ['longterm'] }))}`);
} else if (cmd === 'remote') {
  const [pid, addr] = args;
  console.log(`remote: ${outcome(() => {
    const r = dev.pin('pin_user_pages_remote', BigInt(addr), 1, { pid: Number(pid) });
    if (r.ret !== 1) throw Object.assign(new Error(`ret ${r.ret}`), { code: 'SHORT' });
  })}`);
} else if (cmd === 'budget-hold' || cmd === 'budget-one') {
  const pages = cmd === 'budget-one' ? 1 : Number(args[0]);
  const m = mapAnonymous(pages * 4096, { populate: true });
  console.log(`held: ${outcome(() => dev.pin('pin_user_pages_fast', m.address, pages, { flags: ['write', 'longterm'], hold: true }))}`);
  // Keep the device and the mapping reachable: a collected GupDevice closes its fd.
  if (cmd === 'budget-hold') setInterval(() => [dev, m], 1 << 30);
} else if (cmd === 'many-sets') {
  const [n, dir] = args;
  const slab = () => Number(/^slab (\d+)$/m.exec(readFileSync(`${dir}/memory.stat`, 'utf8'))?.[1] ?? NaN);
  const m = mapAnonymous(Number(n) * 4096, { populate: true });
  const before = slab();
  for (let i = 0; i < Number(n); i++) dev.pin('pin_user_pages_fast', m.address + BigInt(i * 4096), 1, { hold: true });
  const after = slab();
  console.log(`slab: ${before} ${after}`);
  dev.close();
} else {
  console.error(`unknown command ${cmd}`);
  process.exit(2);
}
