// The consumer suite's data and decisions, with no kernel: the GUP call per
// version, the expectation rows, the judging, the "not run" reasons and the
// bench plan.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectationFor } from '../../lib/check/expectations.js';
import { loadCheckReport } from '../../lib/check/report.js';
import { buildProgram } from '../../lib/cli.js';
import { agrees, crossCheck, crossCheckStatus } from '../../lib/consumers/crosscheck.js';
import { projectRoot } from '../../lib/util/root.js';
import { benchPlan, defaultBenchSpec } from '../../lib/consumers/bench.js';
import { CONSUMER_EXPECTATIONS } from '../../lib/consumers/expectations.js';
import {
  daxMountFrom,
  formatBytes,
  fsTypeFrom,
  ioUringSetupReason,
  memlockReason,
  parseIpcLock,
  parseMemlock,
  procMemForce,
} from '../../lib/consumers/host.js';
import { judgeConsumer } from '../../lib/consumers/run.js';
import { BACKING_KINDS, CONSUMER_IDS, CONSUMERS, caseName, gupCallOn, PROBE_BYTES, SMALL_BYTES } from '../../lib/consumers/table.js';

const EFAULT = -14;
const EOPNOTSUPP = -95;
/** One release per Debian line guplab names, with a real sublevel. */
const LINES = ['5.10.240', '6.1.192', '6.12.118', '6.16.12', '6.18.44', '7.3.4'];

describe('the GUP call each consumer makes', () => {
  it('every consumer names a call on every line', () => {
    for (const c of CONSUMERS) for (const v of LINES) expect(gupCallOn(c.id, v), `${c.id} on ${v}`).toBeDefined();
  });

  it('O_DIRECT pins from 6.3 (iov_iter_extract_pages) and takes references before', () => {
    expect(gupCallOn('odirect-read', '6.1.192')).toMatchObject({ call: 'get_user_pages_fast', flags: 'FOLL_WRITE' });
    expect(gupCallOn('odirect-read', '6.3.0')).toMatchObject({ call: 'pin_user_pages_fast', flags: 'FOLL_WRITE' });
  });

  it('io_uring pins writable and long-term on every line, through pin_user_pages_fast by 6.12', () => {
    for (const v of LINES) expect(gupCallOn('io_uring-register', v)?.flags).toBe('FOLL_WRITE|FOLL_LONGTERM');
    expect(gupCallOn('io_uring-register', '6.1.192')?.call).toBe('pin_user_pages');
    expect(gupCallOn('io_uring-register', '6.18.44')?.call).toBe('pin_user_pages_fast');
  });

  it('/proc/PID/mem forces; process_vm_writev writes; vmsplice only reads', () => {
    expect(gupCallOn('proc-mem-write', '6.12.118')?.flags).toBe('FOLL_FORCE|FOLL_WRITE');
    expect(gupCallOn('process_vm_writev', '6.12.118')).toMatchObject({ call: 'pin_user_pages_remote', flags: 'FOLL_WRITE' });
    expect(gupCallOn('vmsplice', '6.12.118')).toMatchObject({ call: 'get_user_pages_fast', flags: '0' });
  });
});

describe('expectations', () => {
  const expected = (id: (typeof CONSUMER_IDS)[number], name: string, v: string) => expectationFor(CONSUMER_EXPECTATIONS[id], name, v, 'x86_64')?.answer;

  it('cover every consumer on every backing on every line from 6.13 (guard regions exist there)', () => {
    for (const id of CONSUMER_IDS)
      for (const kind of BACKING_KINDS)
        for (const fs of ['ext4', 'xfs', 'btrfs'])
          for (const v of ['6.13.0', '6.18.44', '7.3.4']) expect(expected(id, caseName(kind, fs), v), `${id} ${caseName(kind, fs)} ${v}`).toBeDefined();
  });

  it('cover every backing but guard before 6.13', () => {
    for (const id of CONSUMER_IDS)
      for (const kind of BACKING_KINDS.filter((k) => k !== 'guard'))
        for (const v of ['5.10.240', '6.1.192', '6.12.118']) expect(expected(id, caseName(kind, 'ext4'), v), `${id} ${kind} ${v}`).toBeDefined();
    expect(expected('vmsplice', 'guard', '6.12.118')).toBeUndefined();
  });

  it("io_uring on a MAP_SHARED ext4 file: io_uring's own -EOPNOTSUPP before 6.5, GUP's writable-longterm -EFAULT from 6.5; tmpfs and memfd always register", () => {
    expect(expected('io_uring-register', 'file-ext4', '5.10.240')).toEqual({ ret: EOPNOTSUPP });
    expect(expected('io_uring-register', 'file-ext4', '6.1.192')).toEqual({ ret: EOPNOTSUPP });
    expect(expected('io_uring-register', 'file-ext4', '6.12.118')).toEqual({ ret: EFAULT });
    expect(expected('io_uring-register', 'file-xfs', '6.18.44')).toEqual({ ret: EFAULT });
    for (const v of LINES) {
      expect(expected('io_uring-register', 'tmpfs', v)).toEqual({ ret: 0 });
      expect(expected('io_uring-register', 'memfd', v)).toEqual({ ret: 0 });
    }
  });

  it("a MAP_PRIVATE file registers from 6.5 (COW into anonymous pages) but not before (io_uring's own check)", () => {
    expect(expected('io_uring-register', 'file-ext4-private', '6.1.192')).toEqual({ ret: EOPNOTSUPP });
    expect(expected('io_uring-register', 'file-ext4-private', '6.12.118')).toEqual({ ret: 0 });
  });

  it('only /proc/PID/mem (FOLL_FORCE) reaches PROT_NONE and writes read-only private memory', () => {
    expect(expected('proc-mem-read', 'protnone', '6.12.118')).toEqual({ ret: SMALL_BYTES });
    expect(expected('proc-mem-write', 'readonly', '6.12.118')).toEqual({ ret: SMALL_BYTES });
    expect(expected('process_vm_readv', 'protnone', '6.12.118')).toEqual({ ret: EFAULT });
    expect(expected('process_vm_writev', 'readonly', '6.12.118')).toEqual({ ret: EFAULT });
    expect(expected('odirect-read', 'anon', '6.12.118')).toEqual({ ret: PROBE_BYTES });
  });

  it('every row names its deciding kernel function', () => {
    for (const id of CONSUMER_IDS) for (const row of CONSUMER_EXPECTATIONS[id]) expect(row.source.length, `${id} ${row.cases}`).toBeGreaterThan(20);
  });
});

describe('judging', () => {
  it('holds an answer against the row for this kernel', () => {
    expect(judgeConsumer('io_uring-register', 'file-ext4', { answer: { ret: EFAULT } }, '6.18.44', 'x86_64')).toMatchObject({
      status: 'ok',
      expected: { ret: EFAULT },
    });
    expect(judgeConsumer('io_uring-register', 'file-ext4', { answer: { ret: 0 } }, '6.18.44', 'x86_64')).toMatchObject({ status: 'fail', answer: { ret: 0 } });
  });

  it('a skip stays a skip with its reason', () => {
    expect(judgeConsumer('vmsplice', 'hugetlb', { skip: 'no free 2M pages' }, '6.18.44', 'x86_64')).toEqual({
      case: 'hugetlb',
      status: 'skip',
      skip: 'no free 2M pages',
    });
  });

  it('a file on a filesystem the rows do not cover is not run, with what was seen, never a verdict', () => {
    const r = judgeConsumer('io_uring-register', 'file-9p', { answer: { ret: 0 } }, '6.18.44', 'x86_64');
    expect(r.status).toBe('skip');
    expect(r.skip).toMatch(/no expectation for a file on 9p .*observed 0/);
  });
});

describe('host facts and "not run" reasons', () => {
  it('reads RLIMIT_MEMLOCK and CAP_IPC_LOCK from /proc', () => {
    expect(parseMemlock('Max locked memory         8388608              8388608              bytes\n')).toBe(8388608);
    expect(parseMemlock('Max locked memory         unlimited            unlimited            bytes\n')).toBeUndefined();
    expect(parseIpcLock('CapEff:\t000001ffffffffff\n')).toBe(true);
    expect(parseIpcLock('CapEff:\t0000000000000000\n')).toBe(false);
    expect(parseIpcLock(`CapEff:\t${(1n << 14n).toString(16).padStart(16, '0')}\n`)).toBe(true);
  });

  it('a buffer over RLIMIT_MEMLOCK names the limit and the fix; CAP_IPC_LOCK or a large enough limit runs', () => {
    const why = memlockReason(64 << 20, { limitBytes: 8 << 20, ipcLock: false });
    expect(why).toContain('64 MiB is over RLIMIT_MEMLOCK (8 MiB)');
    expect(why).toMatch(/ulimit -l \d+/);
    expect(why).toContain('root');
    expect(memlockReason(64 << 20, { limitBytes: 8 << 20, ipcLock: true })).toBeUndefined();
    expect(memlockReason(2 << 20, { limitBytes: 8 << 20, ipcLock: false })).toBeUndefined();
    expect(memlockReason(2 << 20, { limitBytes: undefined, ipcLock: false })).toBeUndefined();
    expect(formatBytes(65536)).toBe('64 KiB');
  });

  it('io_uring_setup refusals say why', () => {
    expect(ioUringSetupReason('EPERM', 2)).toContain('kernel.io_uring_disabled=2');
    expect(ioUringSetupReason('ENOSYS', undefined)).toContain('CONFIG_IO_URING');
  });

  it("/proc/PID/mem's force policy: the command line over the config (Debian 7.3.4 forces only the tracer)", () => {
    const debian73 = '# CONFIG_PROC_MEM_ALWAYS_FORCE is not set\nCONFIG_PROC_MEM_FORCE_PTRACE=y\n# CONFIG_PROC_MEM_NO_FORCE is not set\n';
    expect(procMemForce('quiet', debian73)).toEqual({ policy: 'ptrace', from: 'CONFIG_PROC_MEM_FORCE_PTRACE=y' });
    expect(procMemForce('quiet', 'CONFIG_PROC_MEM_ALWAYS_FORCE=y\n')).toEqual({ policy: 'always', from: 'CONFIG_PROC_MEM_ALWAYS_FORCE=y' });
    expect(procMemForce('quiet proc_mem.force_override=never', debian73)).toEqual({ policy: 'never', from: 'proc_mem.force_override=never' });
    expect(procMemForce('quiet', undefined)).toBeUndefined();
    expect(procMemForce('quiet', 'CONFIG_MMU=y\n')).toBeUndefined();
  });

  it('the filesystem of a folder is that of its longest mount point', () => {
    const mountinfo = [
      '22 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
      '23 22 0:21 / /dev/shm rw - tmpfs tmpfs rw',
      '24 22 0:30 / /work/my\\040dir rw - xfs /dev/vdb rw',
    ].join('\n');
    expect(fsTypeFrom(mountinfo, '/work/main')).toBe('ext4');
    expect(fsTypeFrom(mountinfo, '/dev/shm/x')).toBe('tmpfs');
    expect(fsTypeFrom(mountinfo, '/work/my dir/a')).toBe('xfs');
    expect(fsTypeFrom(mountinfo, '/dev/shmx')).toBe('ext4');
  });

  it('a folder on a DAX mount is told by its super options (dax, dax=always), not by a dax=never or a nested plain mount', () => {
    const mountinfo = [
      '22 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
      '30 22 259:0 / /mnt/guplab/ext4-dax rw,relatime - ext4 /dev/pmem0 rw,dax=always',
      '31 22 259:1 / /mnt/guplab/xfs-dax rw,relatime - xfs /dev/pmem1 rw,attr2,dax,inode64',
      '32 22 259:2 / /mnt/plain rw,relatime - ext4 /dev/pmem2 rw,dax=never',
      '33 30 254:1 / /mnt/guplab/ext4-dax/inner rw - ext4 /dev/vdc rw',
    ].join('\n');
    expect(daxMountFrom(mountinfo, '/mnt/guplab/ext4-dax/f')).toBe(true);
    expect(daxMountFrom(mountinfo, '/mnt/guplab/xfs-dax')).toBe(true);
    expect(daxMountFrom(mountinfo, '/mnt/plain/f')).toBe(false);
    expect(daxMountFrom(mountinfo, '/mnt/guplab/ext4-dax/inner/f')).toBe(false);
    expect(daxMountFrom(mountinfo, '/work')).toBe(false);
  });
});

describe('bench plan', () => {
  it('io_uring over 64K..64M on 4K pages, THP on the multiples of 2M; O_DIRECT fresh and warm', () => {
    const ids = benchPlan(defaultBenchSpec()).map((c) => c.id);
    expect(ids).toContain('io_uring-register/4K/64K');
    expect(ids).toContain('io_uring-register/4K/64M');
    expect(ids).toContain('io_uring-register/THP/2M');
    expect(ids).not.toContain('io_uring-register/THP/64K');
    expect(ids).toContain('odirect-read/4K/4K/fresh');
    expect(ids).toContain('odirect-read/4K/4K/warm');
    expect(ids.some((i) => i.startsWith('process_vm_readv/'))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('the command', () => {
  it('guplab consumers has check, cross-check and bench', () => {
    const cmd = buildProgram('x86_64').commands.find((c) => c.name() === 'consumers');
    expect(cmd?.commands.map((c) => c.name())).toEqual(['check', 'cross-check', 'bench']);
  });
});

describe('cross-check against the module', () => {
  const load = (f: string) => loadCheckReport(path.join(projectRoot, f));
  const c61 = 'docs/data/consumers/check-6.1.0-57-amd64-x86_64-tcg.json';
  const c612 = 'docs/data/consumers/check-6.12.118+deb12-amd64-x86_64-tcg.json';

  it("a consumer agrees when it makes of GUP's answer what its source says", () => {
    expect(agrees({ ret: 0 }, { ret: 16 }, 'same')).toBe(true);
    expect(agrees({ ret: -14 }, { ret: -14 }, 'same')).toBe(true);
    expect(agrees({ ret: -95 }, { ret: 16 }, 'same')).toBe(false);
    expect(agrees({ ret: -14 }, { ret: -12 }, 'efault')).toBe(true);
    expect(agrees({ ret: -5 }, { ret: -14 }, 'eio')).toBe(true);
    expect(agrees({ ret: -14 }, { ret: -14 }, 'eio')).toBe(false);
  });

  it('6.12 (the committed reports of both instruments): every pair agrees', () => {
    const rows = crossCheck(load(c612), load('docs/data/check-6.12-x86_64.json'));
    expect(rows.filter((r) => r.verdict !== 'agree')).toEqual([]);
    expect(crossCheckStatus(rows)).toBe(0);
  });

  it("6.1: io_uring on ext4 DISAGREEs with pin_user_pages, explained by io_uring's own check; the rest agree or were not run", () => {
    const rows = crossCheck(load(c61), load('docs/data/check-6.1-x86_64.json'));
    const ext4 = rows.find((r) => r.consumer === 'io_uring-register' && r.case === 'file-ext4');
    expect(ext4).toMatchObject({ verdict: 'DISAGREE', consumerAnswer: { ret: -95 }, moduleAnswer: { ret: 16 }, moduleCase: 'ext4/pin_user_pages' });
    expect(ext4?.why).toContain("io_uring's own check");
    expect(rows.filter((r) => r.verdict === 'DISAGREE').map((r) => r.case)).toEqual(['file-ext4', 'file-ext4-private']);
    expect(crossCheckStatus(rows)).toBe(0);
  });

  it('an unexplained disagreement fails; reports of different kernels are refused', () => {
    const consumers = load(c612);
    const module = load('docs/data/check-6.12-x86_64.json');
    const tampered = JSON.parse(JSON.stringify(module)) as typeof module;
    const c = tampered.probes.find((p) => p.id === 'writable-longterm-shared')!.cases.find((x) => x.case === 'tmpfs/pin_user_pages_fast')!;
    c.answer = { ret: -14 };
    const rows = crossCheck(consumers, tampered);
    expect(rows.find((r) => r.case === 'tmpfs')).toMatchObject({ verdict: 'DISAGREE' });
    expect(crossCheckStatus(rows)).toBe(1);
    expect(() => crossCheck(load(c61), module)).toThrow(/different kernels/);
  });
});
