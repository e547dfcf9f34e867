// The jobs' host-side decisions, without booting: the guest a benchmark in
// the VM boots with, and test-vm's run list.
import { describe, expect, it } from 'vitest';
import { resolveSpec } from '../../lib/bench/spec.js';
import { benchGuestMemory } from '../../lib/jobs/bench.js';
import { parseRuns } from '../../lib/jobs/test-vm.js';
import { fullGuestUnlessChosen } from '../../lib/jobs/vm.js';

describe('bench --vm guest memory', () => {
  it('boots with 2 MiB huge pages for the hugetlb backing, without extra flags', () => {
    const spec = resolveSpec({ backings: ['hugetlb'], sizes: ['16M'] });
    expect(benchGuestMemory(spec, {}, 'x86_64')).toEqual({ hugepages: 9 });
  });
  it('adds an ext4 disk for file and pmem with DAX ext4 for dax, optional (the kernel decides) unless the user chose pmem', () => {
    const spec = resolveSpec({ backings: ['file', 'dax'], sizes: ['2M'] });
    for (const arch of ['x86_64', 'arm64'] as const) expect(benchGuestMemory(spec, {}, arch)).toEqual({ fs: ['ext4'], pmem: '128M', dax: ['ext4'], daxOptional: true });
    expect(benchGuestMemory(spec, { pmem: '256M' }, 'arm64')).toEqual({ fs: ['ext4'], pmem: '256M', dax: ['ext4'] });
  });
  it('lets each option the user chose win', () => {
    const spec = resolveSpec({ backings: ['hugetlb', 'file'], sizes: ['2M'] });
    expect(benchGuestMemory(spec, { hugepages: 64, fs: ['xfs'] }, 'x86_64')).toEqual({ hugepages: 64, fs: ['xfs'] });
  });
  it('needs nothing for the default 4K/THP spec', () => {
    expect(benchGuestMemory(resolveSpec({}), {}, 'x86_64')).toEqual({});
  });
});

describe('check --vm guest', () => {
  it('is the full guest unless memory options were chosen', () => {
    const full = fullGuestUnlessChosen({ arch: 'x86_64', memMiB: 2048, append: ['quiet'] });
    expect(full.memMiB).toBe(3072);
    expect(full.memory).toMatchObject({ hugepages: 16, movablecore: '256M', pmem: '128M' });
    expect(full.append).toEqual(['secretmem.enable=1', 'quiet']);
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
});
