// The jobs' host-side decisions, without booting: the guest a benchmark in
// the VM boots with, test-vm's run list, and which matrix cells are reused.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveSpec } from '../../lib/bench/spec.js';
import { benchGuestMemory } from '../../lib/jobs/bench.js';
import { cellKey, checkFileFor, keyFileFor, reusable } from '../../lib/jobs/matrix.js';
import type { Suite } from '../../lib/jobs/plan.js';
import { parseRuns } from '../../lib/jobs/test-vm.js';
import { CHECK_SCHEMA_VERSION } from '../../lib/check/report.js';
import { fullGuestUnlessChosen } from '../../lib/jobs/vm.js';
import { DEFAULT_KERNEL } from '../../lib/kernels/kernel.js';
import { expandRuns, ONCE_PER_SET, onceTests } from '../../lib/vm/runs.js';

describe('bench --vm guest memory', () => {
  it('boots with 2 MiB huge pages for the hugetlb backing, without extra flags', () => {
    const spec = resolveSpec({ backings: ['hugetlb'], sizes: ['16M'] });
    expect(benchGuestMemory(spec, {})).toEqual({ hugepages: 9 });
  });
  it('adds an ext4 disk for file and pmem with DAX ext4 for dax, optional (the kernel decides) unless the user chose pmem', () => {
    const spec = resolveSpec({ backings: ['file', 'dax'], sizes: ['2M'] });
    expect(benchGuestMemory(spec, {})).toEqual({ fs: ['ext4'], pmem: '128M', dax: ['ext4'], daxOptional: true });
    expect(benchGuestMemory(spec, { pmem: '256M' })).toEqual({ fs: ['ext4'], pmem: '256M', dax: ['ext4'] });
  });
  it('lets each option the user chose win', () => {
    const spec = resolveSpec({ backings: ['hugetlb', 'file'], sizes: ['2M'] });
    expect(benchGuestMemory(spec, { hugepages: 64, fs: ['xfs'] })).toEqual({ hugepages: 64, fs: ['xfs'] });
  });
  it('needs nothing for the default 4K/THP spec', () => {
    expect(benchGuestMemory(resolveSpec({}), {})).toEqual({});
  });
});

describe('check --vm guest', () => {
  it('is the full guest unless memory options were chosen', () => {
    const full = fullGuestUnlessChosen({ arch: 'x86_64', memMiB: 2048, append: ['quiet'] });
    expect(full.memMiB).toBe(3072);
    expect(full.memory).toMatchObject({ hugepages: 16, movablecore: '256M', pmem: '128M' });
    expect(full.append).toEqual(['secretmem.enable=1', 'cma=0', 'quiet']);
    const chosen = fullGuestUnlessChosen({ arch: 'x86_64', memMiB: 1024, memChosen: true, memory: { hugepages: 2 } });
    expect(chosen).toMatchObject({ memMiB: 1024, memory: { hugepages: 2 } });
  });
});

describe('test-vm --runs', () => {
  it('parses KERNEL:ARCH pairs, the host arch by default', () => {
    expect(parseRuns('6.1:x86_64, 6.12:arm64,7', 'x86_64')).toEqual([
      { kernel: '6.1', arch: 'x86_64' },
      { kernel: '6.12', arch: 'arm64' },
      { kernel: '7', arch: 'x86_64' },
    ]);
  });
  it('names a bad arch', () => {
    expect(() => parseRuns('6.1:riscv64', 'x86_64')).toThrow(/unknown arch "riscv64" in --runs: use x86_64 or arm64/);
  });
  it('runs the kernel-independent files once in make test, everywhere in make test-full and for pairs', () => {
    expect(onceTests('test')).toEqual(['test/kernel/bench.test.ts', 'test/kernel/hardening.test.ts']);
    expect(onceTests('full')).toEqual([]);
    expect(onceTests('6.12:x86_64,7.3:x86_64')).toEqual([]);
    expect(() => expandRuns('fast')).toThrow(/unknown run set "fast": use test, full, lines/);
  });
  it('names the default kernel line once, in lib/kernels/kernel.ts, and the Makefile reads it there', () => {
    // Expectation and consumer tables name versions as data; everything else takes DEFAULT_KERNEL.
    const code = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? code(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
      );
    const naming = code('lib').filter((f) => !/^lib\/(check|consumers)\//.test(f) && readFileSync(f, 'utf8').includes(`'${DEFAULT_KERNEL}'`));
    expect(naming).toEqual(['lib/kernels/kernel.ts']);
    expect(readFileSync('Makefile', 'utf8')).toMatch(/^KERNEL\s+\?= \$\(shell sed .*DEFAULT_KERNEL.* lib\/kernels\/kernel\.ts\)$/m);
  });
  it('names only test files that exist', () => {
    for (const file of Object.values(ONCE_PER_SET).flat()) expect(existsSync(file), file).toBe(true);
  });
});

describe('matrix: a cell whose report is reused instead of booting', () => {
  const o = { suites: ['check'] as Suite[], only: [] as string[] };
  const report = {
    schemaVersion: CHECK_SCHEMA_VERSION,
    release: '6.1.0-57-amd64',
    version: '6.1.0',
    arch: 'x86_64',
    accelerator: 'tcg',
    probes: [],
    totals: {},
  };

  it('keys on the release, the arch, the suites and probes, and the guplab build', () => {
    const key = cellKey('6.1.0-57-amd64', 'x86_64', o);
    expect(cellKey('6.1.0-57-amd64', 'x86_64', o)).toBe(key);
    expect(cellKey('6.1.0-58-amd64', 'x86_64', o)).not.toBe(key);
    expect(cellKey('6.1.0-57-amd64', 'arm64', o)).not.toBe(key);
    expect(cellKey('6.1.0-57-amd64', 'x86_64', { ...o, only: ['partial'] })).not.toBe(key);
    expect(cellKey('6.1.0-57-amd64', 'x86_64', { ...o, suites: ['check', 'kernel-tests'] })).not.toBe(key);
    expect(JSON.parse(key).guplab).toMatch(/^[0-9a-f]{16}$/);
  });

  it('is reused only when whole and made with the same key', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'guplab-cell-'));
    const file = checkFileFor(dir, '6.1', 'x86_64');
    const key = cellKey('6.1.0-57-amd64', 'x86_64', o);
    expect(reusable(file, key, o)).toBe(false); // nothing there
    writeFileSync(file, JSON.stringify(report));
    expect(reusable(file, key, o)).toBe(false); // no key: a run that did not finish well
    writeFileSync(keyFileFor(file), key);
    expect(reusable(file, key, o)).toBe(true);
    expect(reusable(file, cellKey('6.1.0-58-amd64', 'x86_64', o), o)).toBe(false); // a new release
    expect(reusable(file, key, { suites: ['check', 'bench-short'] })).toBe(false); // its benchmark is missing
    writeFileSync(file, '{"schemaVersion":');
    expect(reusable(file, key, o)).toBe(false); // cut short
  });
});
