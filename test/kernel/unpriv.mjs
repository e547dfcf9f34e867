// Calls for test/kernel/hardening.test.ts made by another process, usually
// as an unprivileged user (setpriv): each prints "key: OUTCOME" lines, the
// outcome being OK or the error's code, and exits 0 unless it could not run.
// Several commands may run in one process (node starts slowly under an
// emulated CPU), separated by "+": unpriv.mjs mirror + mmap + facts
//
//   hold API FLAGS PAGES...   HOLDs (FLAGS comma-separated or "none"), one line each
//   warn                      get_user_pages_fast with longterm (a WARN_ON_ONCE on 6.1 and 6.12)
//   remote PID ADDR           pin_user_pages_remote of one page of PID
//   budget-hold PAGES         hold PAGES long-term, print "held: OK", wait to be killed
//   budget-one                hold one page long-term
//   many-sets N CGROUP_DIR    (root) hold N one-page sets; print the cgroup's slab growth
//   mirror                    MIRROR, ACCESS both ways, MIRROR_STATE (pfns hidden?), RELEASE
//   bench-hmm                 BENCH of hmm_range_fault
//   mmap                      mmap of /dev/guplab, written and read back
//   facts                     FACTS of 4 pages: are the frame numbers hidden?
//   force                     FOLL_FORCE on its own memory: local, and *_remote on itself
//   allowlist                 flags outside the allowlist (dump, anon, hwpoison) on the locked path
//   memlock-mirror PAGES      a mirror of PAGES pages (its table is charged to RLIMIT_MEMLOCK)
//   memlock-mmap              an mmap of /dev/guplab (its 16 pages are charged to RLIMIT_MEMLOCK)
import { readFileSync } from 'node:fs';
import { GupDevice, mapAnonymous, mapDevice } from '../../dist/lib/index.js';

const dev = GupDevice.open();
const outcome = (fn) => {
  try {
    fn();
    return 'OK';
  } catch (err) {
    return `${err.code} ${err.name}: ${err.message}`;
  }
};

async function command(cmd, args) {
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
    console.log(
      `remote: ${outcome(() => {
        const r = dev.pin('pin_user_pages_remote', BigInt(addr), 1, { pid: Number(pid) });
        if (r.ret !== 1) throw Object.assign(new Error(`ret ${r.ret}`), { code: 'SHORT' });
      })}`,
    );
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
  } else if (cmd === 'mirror') {
    const m = mapAnonymous(8 * 4096, { populate: true });
    m.write(4096 + 3, 0x5a);
    let h = 0;
    console.log(`mirror: ${outcome(() => (h = dev.mirror(m.address, 8, { write: true }).handle))}`);
    console.log(
      `access: ${outcome(() => {
        if (dev.readPinned(h, 1, 3)[0] !== 0x5a) throw Object.assign(new Error('read back wrong'), { code: 'DATA' });
        dev.writePinned(h, 2, 9, Uint8Array.of(0xa5));
        if (m.read(2 * 4096 + 9)[0] !== 0xa5) throw Object.assign(new Error('write not seen'), { code: 'DATA' });
      })}`,
    );
    const state = dev.mirrorState(h, { pfns: true });
    const valid = state.pfns.filter((e) => e.valid && e.writable).length;
    console.log(`state: valid ${valid} of 8, pfns ${state.pfns.every((e) => e.pfn === 0n) ? 'hidden' : 'shown'}`);
    console.log(`release: ${outcome(() => dev.release(h))}`);
  } else if (cmd === 'bench-hmm') {
    const m = mapAnonymous(64 * 4096, { populate: true });
    const r = await dev.bench('hmm_range_fault', m.address, 64, { pagesPerCall: 16, iterations: 3, flags: ['write'] });
    console.log(`bench-hmm: done ${r.done} status ${r.status}`);
  } else if (cmd === 'mmap') {
    console.log(
      `mmap: ${outcome(() => {
        const m = mapDevice(16);
        m.write(15 * 4096, 0x77);
        if (m.read(15 * 4096)[0] !== 0x77) throw Object.assign(new Error('read back wrong'), { code: 'DATA' });
        m.close();
      })}`,
    );
  } else if (cmd === 'facts') {
    const m = mapAnonymous(4 * 4096, { populate: true });
    const r = dev.pin('pin_user_pages_fast', m.address, 4, { facts: true });
    const facts = r.facts ?? [];
    console.log(
      `facts: ret ${r.ret}, pfns ${facts.length && facts.every((f) => f.pfn === 0n && f.pfnBefore === 0n) ? 'hidden' : 'shown'}, kinds ${facts.map((f) => f.kinds.join('+')).join(',')}`,
    );
  } else if (cmd === 'force') {
    const m = mapAnonymous(4096, { populate: true, prot: 'r' });
    console.log(`force-local: ${outcome(() => dev.pin('pin_user_pages', m.address, 1, { flags: ['write', 'force'] }))}`);
    console.log(`force-self: ${outcome(() => dev.pin('pin_user_pages_remote', m.address, 1, { pid: process.pid, flags: ['write', 'force'] }))}`);
    console.log(`self: ${outcome(() => dev.pin('pin_user_pages_remote', m.address, 1, { pid: process.pid }))}`);
  } else if (cmd === 'allowlist') {
    const info = dev.info();
    console.log(
      `info: admin ${info.admin}, pin_user_pages [${info.unprivFlags.pin_user_pages}], pin_user_pages_remote [${info.unprivFlags.pin_user_pages_remote}]`,
    );
    const m = mapAnonymous(4096, { populate: true });
    for (const flag of ['dump', 'anon', 'hwpoison', 'split_pmd', 'nowait', 'nofault', 'interruptible']) {
      if (!dev.info().flags.includes(flag)) continue;
      console.log(`flag ${flag}: ${outcome(() => dev.pin('pin_user_pages', m.address, 1, { flags: [flag] }))}`);
    }
  } else if (cmd === 'memlock-mirror') {
    const pages = Number(args[0]);
    const m = mapAnonymous(pages * 4096);
    console.log(`memlock-mirror: ${outcome(() => dev.release(dev.mirror(m.address, pages, { snapshot: true }).handle))}`);
  } else if (cmd === 'memlock-mmap') {
    console.log(`memlock-mmap: ${outcome(() => mapDevice(1).close())}`);
  } else {
    console.error(`unknown command ${cmd}`);
    process.exit(2);
  }
}

const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; ) {
  const end = argv.indexOf('+', i) < 0 ? argv.length : argv.indexOf('+', i);
  await command(argv[i], argv.slice(i + 1, end));
  i = end + 1;
}
