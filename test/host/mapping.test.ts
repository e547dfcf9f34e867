// Every mapping kind the host can create, without the module.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  GuplabError,
  HugePagesUnavailableError,
  UnsupportedError,
  hugePageBytes,
  hugetlbPools,
  mapAnonymous,
  mapFile,
  mapHugetlb,
  mapMemfd,
  mapSecret,
  type HugePageSize,
} from '../../lib/index.js';

const PAGE = 4096;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'guplab-map-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Free pages of a hugetlb pool, or the reason it cannot be used here. */
function freeHuge(size: HugePageSize, want: number): string | undefined {
  const pool = hugetlbPools().get(hugePageBytes(size));
  if (!pool) return `no ${size} hugetlb pool on this kernel`;
  if (pool.free - pool.reserved < want) return `${pool.free - pool.reserved} free ${size} huge pages, ${want} needed (reserve with nr_hugepages)`;
  return undefined;
}

describe('anonymous mappings', () => {
  it('private: page aligned, unfaulted by default, populated on request', () => {
    const cold = mapAnonymous(3 * PAGE + 1);
    expect(cold.length).toBe(4 * PAGE);
    expect(cold.address % BigInt(PAGE)).toBe(0n);
    expect(cold.backing().rssKb).toBe(0);
    const warm = mapAnonymous(4 * PAGE, { populate: true });
    expect(warm.backing().rssKb).toBe(16);
    warm.write(5, 42);
    expect(warm.read(5)[0]).toBe(42);
    expect(warm.kind).toBe('anon');
    expect(warm.backing().vmFlags).not.toContain('sh');
  });

  it('shared: a forked child writes into the parent; private: it writes into its copy', () => {
    const shared = mapAnonymous(PAGE, { shared: true, populate: true });
    expect(shared.backing().vmFlags).toContain('sh');
    expect(shared.forkRun([{ op: 'write', offset: 0, value: 7 }]).results).toEqual([7n]);
    expect(shared.read(0)[0]).toBe(7);

    const priv = mapAnonymous(PAGE, { populate: true });
    const child = priv.forkRun([
      { op: 'write', offset: 0, value: 9 },
      { op: 'read', offset: 0 },
    ]);
    expect(child.results).toEqual([9n, 9n]);
    expect(priv.read(0)[0]).toBe(0);
  });

  it('THP on is 2 MiB aligned and smaps says what the kernel used; off gets none', () => {
    const on = mapAnonymous(4 << 20, { thp: 'on', populate: true });
    expect(on.address % BigInt(2 << 20)).toBe(0n);
    const report = on.backing();
    expect(report.vmFlags).toContain('hg');
    expect(report.anonHugeKb % 2048).toBe(0);
    expect(report.anonHugeKb).toBeLessThanOrEqual(4096);
    const off = mapAnonymous(4 << 20, { thp: 'off', populate: true });
    expect(off.backing().vmFlags).toContain('nh');
    expect(off.backing().anonHugeKb).toBe(0);
  });

  it('leaves the page after the buffer unmapped with holeAfter', () => {
    const m = mapAnonymous(2 * PAGE, { holeAfter: true });
    const end = m.address + BigInt(m.length);
    const covering = readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .filter((l) => {
        const [a, b] = (l.split(' ')[0] ?? '').split('-');
        return a && b && BigInt(`0x${a}`) <= end && end < BigInt(`0x${b}`);
      });
    expect(covering).toEqual([]);
  });
});

describe('protections and advice', () => {
  it('refuses JS access a protection forbids, and tracks mprotect per page', () => {
    const m = mapAnonymous(2 * PAGE, { prot: 'r' });
    expect(m.read(0)[0]).toBe(0);
    expect(() => m.write(0, 1)).toThrow(/read-only: protect\(\) it first/);
    expect(() => m.bytes()).toThrow(RangeError);
    m.protect('none', PAGE, PAGE);
    expect(m.protection(PAGE)).toBe('none');
    expect(() => m.read(PAGE)).toThrow(/PROT_NONE/);
    m.protect('rw');
    m.write(PAGE, 3);
    expect(m.bytes()[PAGE]).toBe(3);
    expect(readFileSync('/proc/self/maps', 'utf8')).toMatch(new RegExp(`^${m.address.toString(16)}-\\S+ rw-p`, 'm'));
  });

  it('MADV_DONTNEED drops private anonymous data; populateWrite faults pages in', () => {
    const m = mapAnonymous(4 * PAGE, { populate: true });
    m.write(0, 0xab, PAGE);
    m.advise('dontneed');
    expect(m.read(0)[0]).toBe(0);
    const cold = mapAnonymous(4 * PAGE);
    cold.advise('populateWrite');
    expect(cold.backing().rssKb).toBe(16);
    expect(() => m.advise('dontneed', 1, PAGE)).toThrow(RangeError);
    expect(() => m.advise('nonsense' as 'cold')).toThrow(/unknown madvise advice/);
  });
});

describe('lifetime', () => {
  it('close unmaps, detaches the buffer and is idempotent', () => {
    const m = mapAnonymous(PAGE, { populate: true });
    const hex = m.address.toString(16);
    m.close();
    m.close();
    expect(m.closed).toBe(true);
    expect(m.buffer.byteLength).toBe(0);
    expect(() => m.read(0)).toThrow(
      expect.objectContaining({ name: 'ClosedError', code: 'ERR_GUPLAB_CLOSED', message: 'the mapping is closed: map a new one' }),
    );
    expect(readFileSync('/proc/self/maps', 'utf8')).not.toMatch(new RegExp(`^${hex}-`, 'm'));
  });
});

describe('memfd, secret and files', () => {
  it('memfd is shmem, mapped shared: a forked child writes through', () => {
    const m = mapMemfd(8 * PAGE, { populate: true });
    expect(m.kind).toBe('memfd');
    expect(m.backing().vmFlags).toContain('sh');
    m.forkRun([{ op: 'write', offset: PAGE, value: 5 }]);
    expect(m.read(PAGE)[0]).toBe(5);
    expect(readFileSync('/proc/self/maps', 'utf8')).toMatch(new RegExp(`^${m.address.toString(16)}-.*memfd:guplab`, 'm'));
  });

  it('memfd_secret memory works from user space, or says how to enable it', () => {
    let m;
    try {
      m = mapSecret(PAGE, { populate: true });
    } catch (err) {
      expect(err).toBeInstanceOf(UnsupportedError);
      expect((err as UnsupportedError).hint).toMatch(/secretmem.enable=1/);
      return;
    }
    m.write(0, 77);
    expect(m.read(0)[0]).toBe(77);
    expect(m.shared).toBe(true);
  });

  it('a shared file mapping writes the file; a private one does not', () => {
    const file = path.join(tmp, 'data');
    const m = mapFile(file, 3 * PAGE, { create: true, populate: true });
    m.write(PAGE, 0x5a, 4);
    m.close();
    const bytes = readFileSync(file);
    expect(bytes.length).toBe(3 * PAGE);
    expect([...bytes.subarray(PAGE, PAGE + 5)]).toEqual([0x5a, 0x5a, 0x5a, 0x5a, 0]);

    const p = mapFile(file, 3 * PAGE, { shared: false, populate: true });
    p.write(PAGE, 1);
    expect(p.read(PAGE + 1)[0]).toBe(0x5a);
    p.close();
    expect(readFileSync(file)[PAGE]).toBe(0x5a);
  });

  it('sync writes a shared mapping back; resident counts page-cache pages; movePage says where a page is', () => {
    const file = path.join(tmp, 'synced');
    const m = mapFile(file, 2 * PAGE, { create: true });
    expect(m.resident()).toBe(0);
    m.write(0, 0x33);
    m.sync();
    expect(readFileSync(file)[0]).toBe(0x33);
    expect(m.resident(0, PAGE)).toBe(1); // the next page may be read ahead
    m.close();
    const a = mapAnonymous(PAGE, { populate: true });
    const where = a.movePage(0);
    // Without CONFIG_NUMA move_pages is ENOSYS; else the page's node.
    if (where.errno) expect(where.errno).toBe('ENOSYS');
    else expect(where).toMatchObject({ ret: 0, status: 0 });
    a.close();
  });

  it('file errors name the problem and the fix', () => {
    expect(() => mapFile(path.join(tmp, 'missing'), PAGE)).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'open' }));
    const short = path.join(tmp, 'short');
    writeFileSync(short, 'x');
    expect(() => mapFile(short, 2 * PAGE)).toThrow(/shorter than the 8192-byte mapping: pass create: true/);
    expect(() => mapFile(short, 2 * PAGE)).toThrow(GuplabError);
    expect(() => mapFile('', PAGE)).toThrow(TypeError);
  });
});

describe('hugetlb', () => {
  it('a short pool gives HugePagesUnavailableError that says how to reserve pages', () => {
    const pool = hugetlbPools().get(2 << 20);
    if (!pool) return expect(() => mapHugetlb(2 << 20)).toThrow(UnsupportedError);
    const want = pool.free - pool.reserved + 1;
    const err = (() => {
      try {
        mapHugetlb(want * (2 << 20));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(HugePagesUnavailableError);
    expect((err as HugePagesUnavailableError).hint).toMatch(/nr_hugepages|hugepages=/);
  });

  it.skipIf(freeHuge('2M', 2))('maps 2 MiB pages (skipped without a reserved pool)', () => {
    const m = mapHugetlb(3 << 20, { populate: true });
    expect(m.length).toBe(4 << 20);
    expect(m.address % BigInt(2 << 20)).toBe(0n);
    expect(m.backing().kernelPageKb).toBe(2048);
    expect(m.backing().hugetlbKb).toBe(4096);
  });

  it.skipIf(freeHuge('2M', 1))('memfd with MFD_HUGETLB (skipped without a reserved pool)', () => {
    const m = mapMemfd(1 << 20, { hugetlb: '2M', populate: true });
    expect(m.length).toBe(2 << 20);
    expect(m.backing().kernelPageKb).toBe(2048);
  });

  it('rejects unknown sizes before mmap', () => {
    expect(() => mapHugetlb(PAGE, { pageSize: '3X' as HugePageSize })).toThrow(TypeError);
    expect(() => mapHugetlb(PAGE, { pageSize: '4K' })).toThrow(UnsupportedError);
  });
});

describe('arguments', () => {
  it('bad lengths, modes and offsets are TypeError/RangeError before any syscall', () => {
    expect(() => mapAnonymous(0)).toThrow(RangeError);
    expect(() => mapAnonymous(1.5)).toThrow(RangeError);
    expect(() => mapAnonymous(-PAGE)).toThrow(RangeError);
    expect(() => mapAnonymous(PAGE, { thp: 'maybe' as 'on' })).toThrow(TypeError);
    expect(() => mapAnonymous(PAGE, { prot: 'wx' as 'rw' })).toThrow(TypeError);
    expect(() => mapAnonymous(PAGE, { prot: 'none', populate: true })).toThrow(/PROT_NONE memory cannot be populated/);
    expect(() => mapAnonymous(PAGE, { prot: 'r', populate: 'write' })).toThrow(RangeError);
    const m = mapAnonymous(PAGE);
    expect(() => m.read(PAGE)).toThrow(RangeError);
    expect(() => m.protect('r', 0, 100)).toThrow(/multiples of the page size/);
    expect(() => m.forkRun([{ op: 'write', offset: 0, value: 300 }])).toThrow(RangeError);
  });
});
