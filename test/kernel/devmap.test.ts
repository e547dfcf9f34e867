// The module's mmap (ABI 5): a VM_IO | VM_PFNMAP mapping of pages the open
// file owns (remap_pfn_range), for the pfnmap probe. What is tested here is
// the module's own behaviour: the mapping's flags and contents, every bound
// mmap() checks, and that the pages live as long as the mapping and are
// freed with the file. What GUP answers on it is the check's pfnmap probe.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mapDevice } from '../../lib/index.js';
import { addon, type NativeMapOptions } from '../../lib/native.js';
import { hasDevice } from './device.js';

const PAGE = 4096;

function vmFlags(address: bigint): string[] {
  const entry = readFileSync('/proc/self/smaps', 'utf8')
    .split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)
    .find((e) => e.startsWith(`${address.toString(16)}-`));
  return (
    /^VmFlags:(.*)$/m
      .exec(entry ?? '')?.[1]
      ?.trim()
      .split(/\s+/) ?? []
  );
}

/** The addon's map() straight, below mapDevice()'s own checks: what the module itself refuses. */
function rawMap(pages: number, offsetPages: number, shared = true): string {
  const request: NativeMapOptions = {
    kind: 'device',
    length: pages * PAGE,
    offset: offsetPages * PAGE,
    shared,
    prot: 'rw',
    populate: 'none',
    holeAfter: false,
    align: PAGE,
  };
  try {
    const m = addon().map(request);
    addon().unmap(m.buffer);
    return 'mapped';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

function memAvailableKb(): number {
  return Number(/^MemAvailable:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? NaN);
}

describe.runIf(hasDevice)('mmap of /dev/guplab', () => {
  const max = addon().abi.mmapPages;

  it('is VM_IO | VM_PFNMAP, not expandable nor dumped, never executable', () => {
    expect(max).toBe(16);
    const m = mapDevice(max);
    try {
      const flags = vmFlags(m.address);
      for (const f of ['io', 'pf', 'de', 'dd', 'sh']) expect(flags, flags.join(' ')).toContain(f);
      expect(flags).not.toContain('ex');
      expect(flags).not.toContain('me');
    } finally {
      m.close();
    }
  });

  it('maps zeroed pages that keep what is written (the fd is closed at once); pagemap shows no pfn', () => {
    const m = mapDevice(max);
    try {
      const bytes = m.bytes();
      expect(bytes.every((b) => b === 0)).toBe(true);
      for (let i = 0; i < max; i++) m.write(i * PAGE, 0x30 + i, PAGE);
      for (let i = 0; i < max; i++) {
        expect(m.read(i * PAGE)[0]).toBe(0x30 + i);
        expect(m.read(i * PAGE + PAGE - 1)[0]).toBe(0x30 + i);
      }
      // walk_page_test() (mm/pagewalk.c) treats a VM_PFNMAP vma as a hole:
      // /proc/self/pagemap reports its pages not present.
      expect(m.pfn(0)).toBe(0n);
    } finally {
      m.close();
    }
  });

  it('an offset maps the pages from there, each open file its own pages', () => {
    const whole = mapDevice(max);
    const tail = mapDevice(1, { offsetPages: max - 1 });
    try {
      whole.write((max - 1) * PAGE, 0x5a);
      // Another open file: its own zeroed pages, not those of the first.
      expect(tail.read(0)[0]).toBe(0);
      tail.write(0, 0xa5);
      expect(whole.read((max - 1) * PAGE)[0]).toBe(0x5a);
    } finally {
      whole.close();
      tail.close();
    }
  });

  it('refuses what is out of bounds or private, with EINVAL', () => {
    expect(rawMap(max, 0)).toBe('mapped');
    expect(rawMap(1, max - 1)).toBe('mapped');
    expect(rawMap(max + 1, 0)).toBe('EINVAL');
    expect(rawMap(1, max)).toBe('EINVAL');
    expect(rawMap(max / 2 + 1, max / 2)).toBe('EINVAL');
    // vm_pgoff far beyond the buffer, where pgoff + pages would overflow a naive sum.
    expect(rawMap(1, 2 ** 40)).toBe('EINVAL');
    expect(rawMap(1, 0, false)).toBe('EINVAL');
    expect(() => mapDevice(max + 1)).toThrow(/more than the 16 pages/);
  });

  it('frees the pages with the file: 768 map/write/unmap cycles after a warm-up leave MemAvailable where it was', () => {
    const cycle = (): void => {
      const m = mapDevice(max);
      m.write(0, 1, max * PAGE);
      m.close();
    };
    // The warm-up lets the JS heap and the allocator caches settle first.
    for (let c = 0; c < 128; c++) cycle();
    const cycles = 768;
    const before = memAvailableKb();
    for (let c = 0; c < cycles; c++) cycle();
    const lostKb = before - memAvailableKb();
    // A leak would lose cycles * 64 KiB = 48 MiB; allow a quarter of that for noise.
    expect(lostKb, `MemAvailable fell by ${lostKb} kB over ${cycles} cycles`).toBeLessThan((cycles * max * PAGE) / 1024 / 4);
  });
});
