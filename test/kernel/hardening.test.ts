// Issue 8 regressions that need the module (found by `guplab stress`), and
// issue 17's rules for callers without privilege (README "Security model").
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limit } from '../limits.js';
import { kernelVersion } from '../../lib/check/expectations.js';
import { GupDevice, mapAnonymous, mapFile, pinCounters } from '../../lib/index.js';
import type { GuestMount } from '../../lib/vm/guest.js';
import { hostArch } from '../../lib/vm/paths.js';
import { runChild } from './child.js';
import { DEVICE, hasDevice } from './device.js';

describe.runIf(hasDevice)('hardening', () => {
  let dev: GupDevice;
  beforeAll(() => {
    dev = GupDevice.open();
  });
  afterAll(() => dev?.close());

  it('is root-only by default: mode 0600, group=-1', () => {
    expect(statSync(DEVICE).mode & 0o777).toBe(0o600);
    expect(readFileSync('/sys/module/guplab/parameters/group', 'utf8').trim()).toBe('-1');
  });

  it('refuses to dirty a set taken without write (it dirtied read-only file pages)', () => {
    const file = path.join(os.tmpdir(), `guplab-ro-${process.pid}`);
    writeFileSync(file, Buffer.alloc(4 * 4096, 7));
    const m = mapFile(file, 4 * 4096, { populate: true, prot: 'r' });
    const { acquired, released } = pinCounters();
    try {
      const held = dev.pin('pin_user_pages_fast', m.address, 4, { hold: true });
      expect(held.ret).toBe(4);
      expect(() => dev.release(held.handle ?? 0, { dirty: true })).toThrow(/flags \["write"\]/);
      expect(dev.release(held.handle ?? 0).nrPages).toBe(4);
    } finally {
      m.close();
    }
    const after = pinCounters();
    expect(after.acquired - after.released).toBe(acquired - released);
  });
});

/** An unprivileged user (nobody, no groups, no capabilities), as a group= member is. */
const NOBODY = ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all'];
const HELPER = 'test/kernel/unpriv.mjs';
const YAMA = '/proc/sys/kernel/yama/ptrace_scope';
const PARAMS = '/sys/module/guplab/parameters';
/** x86_64 guests see the host's gcc (with the i386 libc of scripts/deps.sh); arm64 guests have no compiler. */
const withGcc = hostArch() === 'x86_64' && existsSync('/usr/bin/gcc');
const ext4 = (JSON.parse(process.env.GUPLAB_MOUNTS ?? '[]') as GuestMount[]).find((m) => m.fs === 'ext4' && !m.dax)?.path;

async function run(args: string[]): Promise<string> {
  const r = await runChild(args[0] as string, args.slice(1));
  return `${r.stdout}${r.stderr}`;
}

/** Runs args as nobody, with RLIMIT_MEMLOCK memlock bytes if given. */
function asNobody(args: string[], memlock?: number): Promise<string> {
  return run(memlock === undefined ? [...NOBODY, ...args] : ['prlimit', `--memlock=${memlock}`, '--', ...NOBODY, ...args]);
}

const held = (): number => {
  const c = pinCounters();
  return c.acquired - c.released;
};

/** Polls cond for up to ms (scaled on a debug kernel, as every limit is). */
async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + limit(ms); Date.now() < end; ) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

/** A process of nobody's (sleep) and the address of its first mapped page. */
async function startTarget(): Promise<{ pid: number; addr: string; pages: number; kill: () => Promise<void> }> {
  const child = spawn(NOBODY[0] as string, [...NOBODY.slice(1), 'sleep', '1000'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const pid = child.pid ?? -1;
  const comm = (): string => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  expect(await waitFor(() => comm() === 'sleep', 20000)).toBe(true);
  const [start, end] = (readFileSync(`/proc/${pid}/maps`, 'utf8').split(' ')[0] ?? '').split('-').map((x) => BigInt(`0x${x}`));
  return {
    pid,
    addr: `0x${(start ?? 0n).toString(16)}`,
    pages: Number(((end ?? 0n) - (start ?? 0n)) / 4096n),
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe.runIf(hasDevice)('callers without privilege (issue 17)', { timeout: limit(180_000) }, () => {
  let dev: GupDevice;
  let bin = '';
  let bin32 = '';
  let yama = '';
  beforeAll(async () => {
    dev = GupDevice.open();
    yama = existsSync(YAMA) ? readFileSync(YAMA, 'utf8').trim() : '';
    // What group=GID gives its members: the device opens, nothing more.
    chmodSync(DEVICE, 0o666);
    if (withGcc) {
      const dir = mkdtempSync('/tmp/guplab-unpriv-');
      chmodSync(dir, 0o755);
      bin = path.join(dir, 'unpriv');
      bin32 = path.join(dir, 'unpriv32');
      expect(await run(['gcc', '-O2', '-Wall', '-Wextra', '-Werror', '-o', bin, 'test/kernel/unpriv.c'])).toBe('');
      // -idirafter: <asm/*.h> of the amd64 kernel headers serve i386 too (gcc-multilib, which
      // would add that path, conflicts with Debian's aarch64 cross compilers).
      expect(
        await run(['gcc', '-m32', '-idirafter', '/usr/include/x86_64-linux-gnu', '-O2', '-Wall', '-Wextra', '-Werror', '-o', bin32, 'test/kernel/unpriv.c']),
      ).toBe('');
    }
  }, limit(120_000));
  afterAll(() => {
    chmodSync(DEVICE, 0o600);
    if (yama) writeFileSync(YAMA, yama);
    dev?.close();
  });

  it('refuses a HOLD that is not FOLL_PIN|FOLL_LONGTERM with EPERM; a long-term pin is held; root holds anything', async () => {
    const base = held();
    const out = await asNobody([
      process.execPath,
      HELPER,
      'hold',
      'pin_user_pages_fast',
      'write',
      '4',
      'get_user_pages_fast',
      'write',
      '4',
      'pin_user_pages_unlocked',
      'none',
      '4',
      'pin_user_pages_fast',
      'write,longterm',
      '4',
    ]);
    expect(out).toMatch(/hold pin_user_pages_fast write: EPERM PermissionError: .*\["longterm"\]/);
    expect(out).toMatch(/hold get_user_pages_fast write: EPERM PermissionError/);
    expect(out).toMatch(/hold pin_user_pages_unlocked none: EPERM PermissionError/);
    expect(out).toMatch(/hold pin_user_pages_fast write,longterm: OK/);
    const m = mapAnonymous(4 * 4096, { populate: true });
    const r = dev.pin('get_user_pages_fast', m.address, 4, { hold: true });
    expect(r.ret).toBe(4);
    dev.release(r.handle ?? 0);
    m.close();
    expect(await waitFor(() => held() === base, 10000)).toBe(true);
  });

  it('refuses a flag set the kernel answers through WARN_ON_ONCE with EPERM, before the kernel sees it', async () => {
    const warnings = async (): Promise<number> => (await run(['dmesg'])).split('\n').filter((l) => /WARNING:/.test(l)).length;
    const before = await warnings();
    const out = await asNobody([process.execPath, HELPER, 'warn']);
    expect(out).toMatch(/warns: true/);
    expect(out).toMatch(/warn: EPERM PermissionError: .*CAP_SYS_ADMIN/);
    expect(await warnings()).toBe(before);
  });

  it.runIf(existsSync(YAMA))('refuses *_remote on a process the caller does not trace, under Yama ptrace_scope 0, 1 and 2', async () => {
    const target = await startTarget();
    try {
      for (const scope of ['0', '1', '2']) {
        writeFileSync(YAMA, scope);
        expect(await asNobody([process.execPath, HELPER, 'remote', String(target.pid), target.addr]), `scope ${scope}`).toMatch(
          /remote: EPERM PermissionError: .*tracer/,
        );
        if (withGcc) {
          // As its tracer: Yama decides at PTRACE_SEIZE, the module follows. On 7.x the
          // module cannot read the target's dumpability (compat.h guplab_mm_dumpable:
          // Debian's 7.x keeps it in task->exec_state, behind an unexported reader), so a
          // tracer without CAP_SYS_PTRACE is refused too: the safe side.
          const out = await asNobody([bin, 'remote', String(target.pid), target.addr, 'seize']);
          const tracerPins = scope === '0' && kernelVersion(os.release())[0] < 7;
          expect(out, `scope ${scope}`).toMatch(
            tracerPins ? /seize: OK\nremote: OK/ : scope === '0' ? /seize: OK\nremote: EPERM/ : /seize: EPERM\nremote: EPERM/,
          );
          // FOLL_FORCE follows the same rule: a tracer may (CONFIG_PROC_MEM_FORCE_PTRACE's rule).
          expect(out, `scope ${scope}`).toMatch(tracerPins ? /remote-force: OK/ : /remote-force: EPERM/);
        }
        // Root (CAP_SYS_PTRACE) keeps its power.
        expect(dev.pin('pin_user_pages_remote', BigInt(target.addr), 1, { pid: target.pid }).ret).toBe(1);
      }
    } finally {
      writeFileSync(YAMA, yama || '0');
      await target.kill();
    }
  });

  it.runIf(withGcc)('undoes a HOLD that would take a small folio past the refcount bound with EOVERFLOW, and releases every set at close', async () => {
    // One memfd page at 60000 addresses (60000 VMAs, under vm.max_map_count): each HOLD adds
    // 60000 * 1024 to its refcount; the bound (INT_MAX / 4, kmod/main.c GUPLAB_MAX_FOLIO_REFS)
    // admits 8 such HOLDs and refuses the 9th, far below 2^31 and try_grab_folio()'s WARN.
    const base = held();
    expect(await run([bin, 'refbound', '60000'])).toBe('holds: 8, then EOVERFLOW\n');
    expect(await waitFor(() => held() === base, 10000)).toBe(true);
  });

  it.runIf(withGcc)('decides *_remote for the image a traced child runs after exec: a mode-0711 binary leaves its tracer nothing', async () => {
    const dir = mkdtempSync('/tmp/guplab-exec-');
    chmodSync(dir, 0o755);
    const copy = (name: string, mode: number): string => {
      const file = path.join(dir, name);
      writeFileSync(file, readFileSync('/bin/sleep'));
      chmodSync(file, mode);
      return file;
    };
    const unreadable = copy('sleep-0711', 0o711);
    const readable = copy('sleep-0755', 0o755);
    if (existsSync(YAMA)) writeFileSync(YAMA, '0'); // PTRACE_TRACEME needs scope < 2
    try {
      // would_dump(): nobody cannot read the binary, so the new mm is not dumpable, and
      // __ptrace_may_access() refuses even its tracer; the module must not be weaker.
      expect(await asNobody([bin, 'tracexec', unreadable])).toMatch(/exec: OK\ntracexec: EPERM\ntracexec-force: EPERM/);
      // The control: the same exec of a readable copy leaves a dumpable mm its tracer may pin
      // (on 7.x the module cannot read dumpability and refuses every tracer, as above).
      const tracerPins = kernelVersion(os.release())[0] < 7;
      expect(await asNobody([bin, 'tracexec', readable])).toMatch(tracerPins ? /exec: OK\ntracexec: OK\ntracexec-force: OK/ : /exec: OK\ntracexec: EPERM/);
    } finally {
      if (yama) writeFileSync(YAMA, yama);
    }
  });

  it.runIf(withGcc)('refuses *_remote from inside a Landlock domain (its PTRACE_SEIZE is refused)', async () => {
    const target = await startTarget();
    try {
      writeFileSync(YAMA, '0');
      const out = await asNobody([bin, 'landlock', String(target.pid), target.addr]);
      // Landlock came in 5.13 (security/landlock/syscalls.c,
      // landlock_create_ruleset()): 5.10 answers ENOSYS, there is no domain to test.
      const [major, minor] = kernelVersion(os.release());
      if (major * 1000 + minor < 5013) expect(out).toMatch(/^landlock: ENOSYS/);
      else expect(out).toMatch(/landlock: OK\nseize: EPERM\nremote: EPERM/);
    } finally {
      writeFileSync(YAMA, yama || '0');
      await target.kill();
    }
  });

  it(
    'charges held pages to the user: another process of that user gets no fresh RLIMIT_MEMLOCK budget',
    async () => {
      const base = held();
      const memlock = 16 * 4096;
      const holder = spawn('prlimit', [`--memlock=${memlock}`, '--', ...NOBODY, process.execPath, HELPER, 'budget-hold', '16'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<void>((resolve) => holder.on('exit', () => resolve()));
      let out = '';
      holder.stdout.on('data', (d: Buffer) => (out += d.toString()));
      try {
        expect(await waitFor(() => out.includes('held:'), 30000)).toBe(true);
        expect(out).toMatch(/held: OK/);
        expect(await asNobody([process.execPath, HELPER, 'budget-one'], memlock)).toMatch(/held: ENOMEM/);
      } finally {
        holder.kill('SIGKILL');
        await exited;
      }
      expect(await waitFor(() => held() === base, 10000)).toBe(true);
      expect(await asNobody([process.execPath, HELPER, 'budget-one'], memlock)).toMatch(/held: OK/);
      if (withGcc) {
        for (const how of ['fork', 'exec', 'scm']) {
          const o = await asNobody([bin, 'budget', how, '16']);
          expect(o, how).toMatch(new RegExp(`held: OK[\\s\\S]*${how}: ENOMEM`));
        }
      }
      expect(await waitFor(() => held() === base, 10000)).toBe(true);
    },
    limit(180_000),
  );

  it.runIf(withGcc)('gives a 32-bit (IA32_EMULATION) FACTS caller correct 56-byte records, root and group member alike', async () => {
    expect(await run([bin32, 'facts32'])).toMatch(/facts32: ret 8, OK \(sizeof 56, long 4\)/);
    // As nobody, pagemap hides the frame numbers, and so does FACTS: both 0.
    expect(await asNobody([bin32, 'facts32'])).toMatch(/facts32: ret 8, OK \(sizeof 56, long 4\)/);
  });

  it('lets a group member MIRROR, ACCESS through the mirror, BENCH hmm_range_fault and mmap the device; FACTS and MIRROR_STATE hide frame numbers from it', async () => {
    const out = await asNobody([process.execPath, HELPER, 'mirror', '+', 'bench-hmm', '+', 'mmap', '+', 'facts']);
    expect(out).toMatch(/mirror: OK\naccess: OK\nstate: valid 8 of 8, pfns hidden\nrelease: OK/);
    expect(out).toMatch(/bench-hmm: done 3 status 0/);
    expect(out).toMatch(/mmap: OK/);
    expect(out).toMatch(/facts: ret 4, pfns hidden, kinds anon,anon,anon,anon/);
    // Root (CAP_SYS_ADMIN) sees them, as in /proc/PID/pagemap.
    const m = mapAnonymous(4 * 4096, { populate: true });
    try {
      const facts = dev.pin('pin_user_pages_fast', m.address, 4, { facts: true }).facts ?? [];
      expect(facts.map((f) => f.pfn)).toEqual([0, 1, 2, 3].map((i) => m.pfn(i * 4096)));
      const mirror = dev.mirror(m.address, 4);
      expect(dev.mirrorState(mirror.handle, { pfns: true }).pfns?.map((e) => e.pfn)).toEqual([0, 1, 2, 3].map((i) => m.pfn(i * 4096)));
      dev.release(mirror.handle);
    } finally {
      m.close();
    }
  });

  it('refuses FOLL_FORCE on its own memory and flags outside the allowlist with EPERM; root keeps both', async () => {
    const out = await asNobody([process.execPath, HELPER, 'force', '+', 'allowlist']);
    expect(out).toMatch(/force-local: EPERM/);
    expect(out).toMatch(/force-self: EPERM/);
    expect(out).toMatch(/^self: OK/m);
    // INFO reports the rule: the allowlist per API, and whether the caller is privileged.
    expect(out).toMatch(/info: admin false, pin_user_pages \[write,longterm,nowait[^\]]*\], pin_user_pages_remote \[write,(longterm,)?force,nowait/);
    expect(out).not.toMatch(/pin_user_pages \[[^\]]*(force|dump)/);
    expect(dev.info().admin).toBe(true);
    for (const flag of ['dump', 'anon', 'hwpoison', 'split_pmd']) expect(out).toMatch(new RegExp(`flag ${flag}: EPERM`));
    for (const flag of ['nowait', 'nofault', 'interruptible'].filter((f) => dev.info().flags.includes(f as never))) {
      expect(out).toMatch(new RegExp(`flag ${flag}: OK`));
    }
    const m = mapAnonymous(4096, { populate: true, prot: 'r' });
    try {
      expect(dev.pin('pin_user_pages', m.address, 1, { flags: ['write', 'force'] }).ret).toBe(1);
      expect(dev.pin('pin_user_pages', m.address, 1, { flags: ['dump'] }).ret).toBe(1);
    } finally {
      m.close();
    }
  });

  it('charges mirror tables and the mmap pages to the user against RLIMIT_MEMLOCK', async () => {
    // 65536 pages: a 512 KiB table, 129 pages with the struct; the mmap: 16 pages.
    expect(await asNobody([process.execPath, HELPER, 'memlock-mirror', '65536', '+', 'memlock-mmap'], 32 * 1024)).toMatch(
      /memlock-mirror: ENOMEM[\s\S]*memlock-mmap: ENOMEM/,
    );
    expect(await asNobody([process.execPath, HELPER, 'memlock-mirror', '65536', '+', 'memlock-mmap'], 1 << 20)).toMatch(/memlock-mirror: OK\nmemlock-mmap: OK/);
  });

  it.runIf(withGcc)(
    'answers an ACCESS through a mirror of memfd_secret memory with EFAULT (no oops), and the module is free again when the caller exits',
    async () => {
      const refcnt = (): string => readFileSync('/sys/module/guplab/refcnt', 'utf8').trim();
      const before = refcnt();
      const out = await asNobody([bin, 'secret']);
      const [major, minor] = kernelVersion(os.release());
      if (major * 1000 + minor < 5014) {
        expect(out).toMatch(/memfd_secret: ENOSYS/); // memfd_secret came in 5.14
        return;
      }
      // The anonymous range is mirrored, then replaced by secret memory (MAP_FIXED) and touched:
      // the refill finds the memfd_secret VMA and answers as GUP does.
      expect(out).toMatch(/mirror: OK\naccess-read: EFAULT\naccess-write: EFAULT\nmirror-secret: EFAULT\nsnapshot-secret: EFAULT\nbytes: kept/);
      expect(await waitFor(() => refcnt() === before, 10000)).toBe(true);
    },
  );

  it('does not hand a released handle out again at once (xa_alloc_cyclic)', () => {
    const m = mapAnonymous(4096, { populate: true });
    const a = dev.pin('pin_user_pages_fast', m.address, 1, { hold: true }).handle ?? 0;
    dev.release(a);
    const b = dev.pin('pin_user_pages_fast', m.address, 1, { hold: true }).handle ?? 0;
    expect(b).toBeGreaterThan(0);
    expect(b).not.toBe(a);
    dev.release(b);
    m.close();
  });

  it.runIf(ext4 !== undefined)('releases a set that ACCESS wrote into dirty when the file closes (the bytes reach the disk)', async () => {
    const file = path.join(ext4 ?? '', `guplab-dirty-${process.pid}`);
    writeFileSync(file, Buffer.alloc(4096, 0));
    const m = mapFile(file, 4096, { populate: true });
    const d = GupDevice.open();
    const h = d.pin('pin_user_pages_fast', m.address, 1, { flags: ['write'], hold: true }).handle ?? 0;
    await run(['sync']); // the page is clean now, and stays pinned
    d.writePinned(h, 0, 100, Buffer.from('guplab17'));
    m.close();
    d.close(); // no RELEASE: the close decides whether the page is dirty
    // What the disk holds: an O_DIRECT read writes dirty page-cache pages back first, and
    // reads around a clean one (which a global drop_caches would have evicted, bytes and all).
    const disk = await run(['sh', '-c', `dd if=${file} iflag=direct bs=4096 count=1 2>/dev/null`]);
    expect(disk.length).toBe(4096);
    expect(disk.slice(100, 108)).toBe('guplab17');
  });

  it(
    'charges what a holder makes the module allocate to its memory cgroup',
    async () => {
      const dir = mkdtempSync('/tmp/guplab-cg-');
      expect(await run(['mount', '-t', 'cgroup2', 'none', dir])).toBe('');
      const cg = path.join(dir, 'guplab');
      try {
        writeFileSync(path.join(dir, 'cgroup.subtree_control'), '+memory');
        mkdirSync(cg);
        const n = 3000;
        const out = await run(['sh', '-c', `echo $$ > ${cg}/cgroup.procs && exec ${process.execPath} ${HELPER} many-sets ${n} ${cg}`]);
        const m = /slab: (\d+) (\d+)/.exec(out);
        expect(m, out).not.toBeNull();
        console.log(`memcg: ${n} one-page sets grew the holder's cgroup slab by ${Number(m?.[2]) - Number(m?.[1])} bytes`);
        // Per set at least its struct (kmalloc-64) and its one-entry array; plus xarray nodes.
        expect(Number(m?.[2]) - Number(m?.[1])).toBeGreaterThan(n * 64);
      } finally {
        if (existsSync(cg)) rmdirSync(cg);
        await run(['umount', dir]);
        rmdirSync(dir);
      }
    },
    limit(180_000),
  );

  it('ends a BENCH at max_bench_seconds with -ETIME, and a remote BENCH whose target exits with -ESRCH', async () => {
    const param = path.join(PARAMS, 'max_bench_seconds');
    const old = readFileSync(param, 'utf8').trim();
    const m = mapAnonymous(16 * 4096, { populate: true });
    writeFileSync(param, '1');
    try {
      const r = await dev.bench('get_user_pages_fast', m.address, 16, { pagesPerCall: 1, iterations: 1 << 20 });
      console.log(`bench: max_bench_seconds=1 ended a 16-page BENCH after ${r.done} of ${1 << 20} iterations, status ${r.status}`);
      expect(r.status).toBe(-62);
      expect(r.done).toBeGreaterThan(0);
      expect(r.done).toBeLessThan(1 << 20);
    } finally {
      writeFileSync(param, old);
      m.close();
    }
    const target = await startTarget();
    const running = dev.bench('get_user_pages_remote', BigInt(target.addr), target.pages, { pid: target.pid, pagesPerCall: 1, iterations: 1 << 20 });
    await new Promise((r) => setTimeout(r, 500));
    await target.kill();
    const r = await running;
    console.log(`bench: remote BENCH whose target was killed after 500 ms: ${r.done} iterations, status ${r.status}`);
    expect(r.status).toBe(-3);
    expect(r.done).toBeLessThan(1 << 20);
  });
});
