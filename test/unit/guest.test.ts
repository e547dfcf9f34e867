// Guest memory options -> kernel command line, modules, disks and mounts.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROFILES } from '../../lib/jobs/stress.js';
import { onlyRpcTimeouts, runGuestJob } from '../../lib/guest.js';
import { readJobFile } from '../../lib/guest-job.js';
import { dumpDtbArgs, pmemNodes } from '../../lib/vm/devicetree.js';
import { daxConfigMissing, daxForKernel, fullGuest, guestSetup, sizeMiB } from '../../lib/vm/guest.js';

describe('guest memory options', () => {
  it('turns huge pages, THP and movablecore into kernel arguments', () => {
    const s = guestSetup({ hugepages: 16, hugepages1g: 1, thp: 'never', movablecore: '1G' }, 'x86_64', 4096);
    expect(s.append).toEqual(['hugepagesz=1G', 'hugepages=1', 'hugepagesz=2M', 'hugepages=16', 'transparent_hugepage=never', 'movablecore=1024M']);
    expect(s.modules).toEqual([]);
  });

  it('carves one pmem region per DAX filesystem and puts plain ones on virtio disks', () => {
    const s = guestSetup({ pmem: '128M', dax: ['ext4', 'xfs'], fs: ['xfs'] }, 'x86_64', 3072);
    expect(s.append).toEqual(['memmap=128M!1024M', 'memmap=128M!1152M']);
    expect(s.disks).toEqual([{ fs: 'xfs', sizeMiB: 256 }]);
    expect(s.mounts).toEqual([
      { fs: 'xfs', dax: false, device: '/dev/vda', path: '/mnt/guplab/xfs' },
      { fs: 'ext4', dax: true, device: '/dev/pmem0', path: '/mnt/guplab/ext4-dax' },
      { fs: 'xfs', dax: true, device: '/dev/pmem1', path: '/mnt/guplab/xfs-dax' },
    ]);
    expect(s.modules).toEqual(expect.arrayContaining(['virtio_blk', 'crc32c_generic', 'xfs', 'ext4', 'nd_e820', 'nd_pmem']));
    expect(s.script.filter((l) => l.startsWith('mkdir'))).toHaveLength(3);
  });

  it('says what is wrong with impossible requests', () => {
    expect(() => guestSetup({ dax: ['ext4'] }, 'x86_64', 3072)).toThrow(/--dax needs --pmem/);
    expect(() => guestSetup({ pmem: '127M', dax: ['ext4'] }, 'arm64', 3072)).toThrow(/even number of MiB/);
    expect(() => guestSetup({ pmem: '1G', dax: ['ext4', 'xfs'] }, 'x86_64', 2048)).toThrow(/needs --mem 3584/);
    expect(() => sizeMiB('12K')).toThrow(RangeError);
  });

  it("arm64: pmem regions beyond the kernel's RAM (mem=), as device-tree nodes for of_pmem", () => {
    const s = guestSetup({ pmem: '128M', dax: ['ext4', 'xfs'] }, 'arm64', 3072);
    // virt's RAM starts at 1 GiB: the kernel keeps 1024..4096 MiB, the regions follow.
    expect(s.append).toEqual(['mem=3072M']);
    expect(s.extraMemMiB).toBe(256);
    expect(s.pmemRegions).toEqual([
      { startMiB: 4096, sizeMiB: 128, fs: 'ext4' },
      { startMiB: 4224, sizeMiB: 128, fs: 'xfs' },
    ]);
    // The host makes those filesystems (loaded into the regions): no mkfs in the guest, only the mounts.
    expect(s.script.some((l) => l.includes('mkfs'))).toBe(false);
    expect(s.script.filter((l) => l.includes('mount -t'))).toHaveLength(2);
    expect(s.modules).toEqual(expect.arrayContaining(['of_pmem', 'nd_pmem']));
    expect(s.modules).not.toContain('nd_e820');
    expect(s.mounts.map((m) => m.device)).toEqual(['/dev/pmem0', '/dev/pmem1']);
    // x86_64 keeps memmap= and adds no RAM.
    const x = guestSetup({ pmem: '128M', dax: ['ext4'] }, 'x86_64', 3072);
    expect([x.extraMemMiB, x.pmemRegions]).toEqual([0, []]);
  });

  it('writes the pmem-region nodes with 2-cell addresses and sizes', () => {
    expect(
      pmemNodes([
        { startMiB: 4096, sizeMiB: 128 },
        { startMiB: 3072, sizeMiB: 256 },
      ]),
    ).toBe(
      '\n/ {\n\tpmem@100000000 {\n\t\tcompatible = "pmem-region";\n\t\treg = <0x1 0x0 0x0 0x8000000>;\n\t};\n' +
        '\tpmem@c0000000 {\n\t\tcompatible = "pmem-region";\n\t\treg = <0x0 0xc0000000 0x0 0x10000000>;\n\t};\n};\n',
    );
    expect(dumpDtbArgs(['-machine', 'virt,accel=tcg', '-m', '3328M'], '/t/q.dtb')).toEqual(['-machine', 'virt,accel=tcg,dumpdtb=/t/q.dtb', '-m', '3328M']);
    expect(() => dumpDtbArgs(['-m', '1G'], '/t/q.dtb')).toThrow(/no -machine/);
  });

  it("DAX needs FS_DAX, ZONE_DEVICE and the route's driver in the kernel config", () => {
    const config = (...opts: string[]): string => opts.map((o) => `${o}\n`).join('');
    const full = config('CONFIG_FS_DAX=y', 'CONFIG_ZONE_DEVICE=y', 'CONFIG_OF_PMEM=m', 'CONFIG_BLK_DEV_PMEM=m', 'CONFIG_X86_PMEM_LEGACY=m');
    expect(daxConfigMissing(full, 'arm64')).toEqual([]);
    expect(daxConfigMissing(full, 'x86_64')).toEqual([]);
    // Debian 5.10 arm64: FS_DAX without ZONE_DEVICE; 6.1 arm64: neither.
    expect(daxConfigMissing(config('CONFIG_FS_DAX=y', '# CONFIG_ZONE_DEVICE is not set', 'CONFIG_OF_PMEM=m', 'CONFIG_BLK_DEV_PMEM=m'), 'arm64')).toEqual([
      'CONFIG_ZONE_DEVICE',
    ]);
    expect(daxConfigMissing(config('CONFIG_OF_PMEM=m', 'CONFIG_BLK_DEV_PMEM=m'), 'arm64')).toEqual(['CONFIG_FS_DAX', 'CONFIG_ZONE_DEVICE']);
    // A user's --pmem on such a kernel is refused, naming the options; the full guest drops pmem and says why.
    const none = config('CONFIG_OF_PMEM=m');
    expect(() => daxForKernel({ pmem: '128M', dax: ['ext4'] }, none, 'arm64', '6.1.0-57-arm64')).toThrow(
      /6\.1\.0-57-arm64 .*lacks CONFIG_FS_DAX, CONFIG_ZONE_DEVICE, CONFIG_BLK_DEV_PMEM/,
    );
    const dropped = daxForKernel(fullGuest().memory, none, 'arm64', '6.1.0-57-arm64');
    expect(dropped.memory).not.toHaveProperty('pmem');
    expect(dropped.memory).not.toHaveProperty('dax');
    expect(dropped.memory.fs).toEqual(['ext4', 'xfs']);
    expect(dropped.noDax).toMatch(/lacks CONFIG_FS_DAX/);
    expect(daxForKernel(fullGuest().memory, full, 'arm64', '6.12.117+deb12-arm64')).toEqual({ memory: fullGuest().memory });
    expect(daxForKernel({ hugepages: 2 }, none, 'arm64', 'r')).toEqual({ memory: { hugepages: 2 } });
  });

  it('the full guest asks for DAX on every arch, optional where the kernel cannot', () => {
    for (const arch of ['x86_64', 'arm64'] as const) {
      expect(fullGuest().memory).toMatchObject({ pmem: '128M', dax: ['ext4', 'xfs'], daxOptional: true });
      expect(() => guestSetup(fullGuest().memory, arch, fullGuest().memMiB)).not.toThrow();
    }
  });

  it('the cached Debian kernels: DAX on every x86_64 line, on arm64 from 6.12 (5.10 lacks ZONE_DEVICE, 6.1 FS_DAX)', (ctx) => {
    const root = process.env.GUPLAB_CACHE ? `${process.env.GUPLAB_CACHE}/kernels` : undefined;
    const read = (release: string): string | undefined => {
      for (const f of [`${root}/${release}/root/boot/config-${release}`, `${root}/${release}/root/usr/src/linux-headers-${release}/.config`]) {
        try {
          return readFileSync(f, 'utf8');
        } catch {
          /* next */
        }
      }
      return undefined;
    };
    const cases: [string, 'x86_64' | 'arm64', string[]][] = [
      ['5.10.0-32-arm64', 'arm64', ['CONFIG_ZONE_DEVICE']],
      ['6.1.0-57-arm64', 'arm64', ['CONFIG_FS_DAX', 'CONFIG_ZONE_DEVICE']],
      ['6.12.117+deb12-arm64', 'arm64', []],
      ['7.3.4+deb13-arm64', 'arm64', []],
      ['6.1.0-57-amd64', 'x86_64', []],
      ['6.12.117+deb12-amd64', 'x86_64', []],
    ];
    const found = cases.filter(([r]) => root && read(r));
    if (!found.length) ctx.skip('no cached Debian kernels ($GUPLAB_CACHE)');
    for (const [release, arch, missing] of found) expect(daxConfigMissing(read(release)!, arch), release).toEqual(missing);
  });
});

describe("the guest test run and vitest's worker RPC timeout", () => {
  // The end of a real run (6.12 x86_64, TCG) that vitest failed although every test passed.
  const tail = (errors: string, count = 1): string =>
    [
      ' ✓ test/kernel/pin.test.ts > GUP on a real kernel > refuses to talk through a closed device 87ms',
      '⎯⎯⎯⎯⎯⎯ Unhandled Errors ⎯⎯⎯⎯⎯⎯\r',
      errors,
      ' Test Files  5 passed (5)\r',
      '      Tests  134 passed (134)\r',
      `     Errors  ${count} error${count > 1 ? 's' : ''}\r`,
    ].join('\n');
  const timeout =
    '\x1b[31mError: [vitest-worker]: Timeout calling "onTaskUpdate"\x1b[39m\r\n ❯ Object.onTimeoutError node_modules/vitest/dist/chunks/rpc.-pEldfrD.js:53:10\r';
  const passed = { numTotalTests: 134, numFailedTests: 0, numFailedTestSuites: 0 };

  it('counts a run whose only unhandled errors are that timeout, with every test passed, as passed', () => {
    expect(onlyRpcTimeouts(tail(timeout), passed)).toBe(true);
  });
  it('keeps it failed when a test failed, no test ran, or another unhandled error came too', () => {
    expect(onlyRpcTimeouts(tail(timeout), { ...passed, numFailedTests: 1 })).toBe(false);
    expect(onlyRpcTimeouts(tail(timeout), { ...passed, numFailedTestSuites: 1 })).toBe(false);
    expect(onlyRpcTimeouts(tail(timeout), { numTotalTests: 0, numFailedTests: 0, numFailedTestSuites: 0 })).toBe(false);
    expect(onlyRpcTimeouts(tail(`${timeout}\nError: EFAULT from the module\r`, 2), passed)).toBe(false);
    expect(onlyRpcTimeouts(tail(`${timeout}\n${timeout}`, 2), passed)).toBe(true);
    expect(onlyRpcTimeouts(' Test Files  5 passed (5)\n      Tests  134 passed (134)\n', passed)).toBe(false);
  });
});

describe('the guest job file', () => {
  const write = (json: unknown): string => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'guplab-job-')), 'job.json');
    writeFileSync(file, JSON.stringify(json));
    return file;
  };
  it('parses the steps the host writes', () => {
    const job = {
      steps: [
        { kind: 'tests', paths: ['test/kernel'], exclude: ['test/kernel/bench.test.ts'], junit: 'j.xml' },
        { kind: 'check', only: [], report: 'c.json' },
      ],
    };
    expect(readJobFile(write(job))).toEqual(job);
  });
  it('names each field that is wrong, and an unknown kind', () => {
    expect(() => readJobFile(write({ steps: [{ kind: 'bench', spec: [], dir: 'x', print: 'table', progress: true }] }))).toThrow(
      /a benchmark spec object\n\s+→ at steps\[0\]\.spec/,
    );
    expect(() => readJobFile(write({ steps: [{ kind: 'shell' }] }))).toThrow(/is not a guest job[\s\S]*steps\[0\]\.kind/);
    expect(() => readJobFile(write({ steps: [{ kind: 'check', only: [], report: 'c.json', extra: 1 }] }))).toThrow(/extra/);
  });
  it("carries the host's provenance in a bench step, for the guest to write once", () => {
    const provenance = {
      command: ['guplab', 'bench', '--vm'],
      guplabVersion: '0.0.0',
      host: { release: 'r', arch: 'x86_64', cpuModel: 'c', cpus: 2, node: 'v20' },
    };
    const job = { steps: [{ kind: 'bench', spec: {}, dir: '', print: 'none', progress: false, provenance }] };
    expect(readJobFile(write(job))).toEqual(job);
    expect(() => readJobFile(write({ steps: [{ ...job.steps[0], provenance: { command: 'guplab bench' } }] }))).toThrow(/steps\[0\]\.provenance/);
  });
  it("runs a script step with sh: its status is the step's, the first failing step's the job's; a bad name is refused", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'guplab-script-'));
    const job = {
      steps: [
        { kind: 'script', name: 'first', text: `echo ran > ${dir}/first; exit 3` },
        { kind: 'script', name: 'second', text: `echo ran > ${dir}/second` },
      ],
    };
    expect(await runGuestJob(readJobFile(write(job)))).toBe(3);
    expect(readFileSync(path.join(dir, 'second'), 'utf8')).toBe('ran\n');
    expect(() => readJobFile(write({ steps: [{ kind: 'script', name: '../x', text: 'true' }] }))).toThrow(/steps\[0\]\.name/);
  });
  it('carries the call `guplab pin --vm` sends, and refuses an unknown API, flag or backing by its field', () => {
    const call = { api: 'pin_user_pages_fast', flags: ['write', 'longterm'], backing: 'THP', size: 2 << 20, prefault: true };
    const job = { steps: [{ kind: 'pin', call, json: false }] };
    expect(readJobFile(write(job))).toEqual(job);
    expect(() => readJobFile(write({ steps: [{ kind: 'pin', call: { ...call, api: 'gup' }, json: false }] }))).toThrow(/steps\[0\]\.call\.api/);
    expect(() => readJobFile(write({ steps: [{ kind: 'pin', call: { ...call, flags: ['wrte'] }, json: false }] }))).toThrow(/steps\[0\]\.call\.flags\[0\]/);
    expect(() => readJobFile(write({ steps: [{ kind: 'pin', call: { ...call, backing: '1G' }, json: false }] }))).toThrow(/steps\[0\]\.call\.backing/);
  });
  it('carries the stress profiles `guplab stress` sends, and refuses a profile with a field missing or negative', () => {
    for (const name of ['full', 'ci'] as const) {
      const job = { steps: [{ kind: 'stress', profile: { ...PROFILES[name].guest, seed: 7 } }] };
      expect(readJobFile(write(job))).toEqual(job);
    }
    expect(() => readJobFile(write({ steps: [{ kind: 'stress', profile: { ...PROFILES.ci.guest } }] }))).toThrow(/steps\[0\]\.profile\.seed/);
    expect(() => readJobFile(write({ steps: [{ kind: 'stress', profile: { ...PROFILES.ci.guest, seed: 1, killRounds: -1 } }] }))).toThrow(/killRounds/);
  });
});
