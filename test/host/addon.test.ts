// The addon on the host, without the module.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_NAMES, FLAG_NAMES } from '../../lib/abi.js';
import { GupDevice, anonHugeKb, isSystemError, mapAnonymous } from '../../lib/index.js';
import { addon } from '../../lib/native.js';

describe('ABI tables', () => {
  it('TypeScript names match the addon, which takes them from kmod/uapi/guplab.h', () => {
    expect(Object.keys(addon().abi.apis).sort()).toEqual([...API_NAMES].sort());
    expect(Object.keys(addon().abi.flags).sort()).toEqual([...FLAG_NAMES].sort());
    expect(addon().abi.version).toBeGreaterThanOrEqual(1);
  });
});

describe('mapAnonymous', () => {
  it('returns writable memory whose address is page aligned', () => {
    const m = mapAnonymous(3 * 4096 + 1, { populate: true });
    expect(m.length).toBe(4 * 4096);
    expect(m.address % 4096n).toBe(0n);
    const bytes = new Uint8Array(m.buffer);
    expect(bytes[0]).toBe(1); // populate writes every page
    bytes[m.length - 1] = 42;
    expect(bytes[m.length - 1]).toBe(42);
  });

  it('aligns THP requests to 2 MiB and reports what the kernel used', () => {
    const m = mapAnonymous(4 << 20, { thp: 'on', populate: true });
    expect(m.address % BigInt(2 << 20)).toBe(0n);
    const kb = anonHugeKb(m);
    expect(kb % 2048).toBe(0);
    expect(kb).toBeLessThanOrEqual(4096);
    const none = mapAnonymous(4 << 20, { thp: 'off', populate: true });
    expect(anonHugeKb(none)).toBe(0);
  });

  it('leaves the page after the buffer unmapped with holeAfter', () => {
    const m = mapAnonymous(8192, { holeAfter: true });
    const end = m.address + BigInt(m.length);
    const maps = readFileSync('/proc/self/maps', 'utf8');
    const covering = maps.split('\n').filter((l) => {
      const [a, b] = (l.split(' ')[0] ?? '').split('-');
      return a && b && BigInt(`0x${a}`) <= end && end < BigInt(`0x${b}`);
    });
    expect(covering).toEqual([]);
  });

  it('rejects bad lengths and THP modes before mmap', () => {
    expect(() => mapAnonymous(0)).toThrow(RangeError);
    expect(() => mapAnonymous(1.5)).toThrow(RangeError);
    expect(() => addon().mapAnonymous(4096, { thp: 'maybe' as 'on' })).toThrow(TypeError);
  });
});

describe('opening the device without the module', () => {
  it.skipIf(existsSync('/dev/guplab'))('fails with a Node-style ENOENT that says how to load the module', () => {
    let caught: unknown;
    try {
      GupDevice.open();
    } catch (err) {
      caught = err;
    }
    expect(isSystemError(caught)).toBe(true);
    const err = caught as NodeJS.ErrnoException & { hint: string };
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'open', path: '/dev/guplab' });
    expect(err.message).toContain('module is not loaded');
    expect(err.message).toContain('make load');
  });

  it('names the path it could not open', () => {
    expect(() => GupDevice.open('/nonexistent/guplab')).toThrow(/ENOENT: .*open '\/nonexistent\/guplab'/);
  });
});
