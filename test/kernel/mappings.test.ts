// Issue 4: every memory kind, pinned through the fast and the slow path,
// with the page facts the module reads while it holds the pages.
// The VM runner boots with huge pages, pmem and DAX filesystems (the full
// guest, lib/vm/guest.ts fullGuest); on bare metal the kinds the host lacks skip.
import { kernelVersion } from '../../lib/check/expectations.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GupDevice,
  hugetlbPools,
  mapAnonymous,
  mapFile,
  mapHugetlb,
  mapMemfd,
  mapSecret,
  pinCounters,
  UnsupportedError,
  type ApiName,
  type Mapping,
  type PageKind,
} from '../../lib/index.js';
import { guestEnv, guestMounts, type GuestMount } from '../../lib/contract.js';
import { addon } from '../../lib/native.js';
import { hasDevice } from './device.js';

const PAGE = 4096;
const HUGE = 2 << 20;
const APIS: ApiName[] = ['pin_user_pages_fast', 'get_user_pages_unlocked'];
const mounts: GuestMount[] = guestMounts();
const mountOf = (fs: string, dax: boolean): string | undefined => mounts.find((m) => m.fs === fs && m.dax === dax)?.path;
const free2M = (): number => {
  const pool = hugetlbPools().get(HUGE);
  return pool ? pool.free - pool.reserved : 0;
};
/** In the VM every kind must be there; on bare metal a missing one skips. */
const inVm = process.env.GUPLAB_IN_VM === '1';

interface Kind {
  name: string;
  /** Why it cannot run here, or undefined. */
  missing: () => string | undefined;
  map: () => Mapping;
  kind: PageKind;
  /** Folio order every pinned page must have (undefined: not checked). */
  order?: number;
  /** Expected zone name prefix. */
  zoneDevice?: boolean;
}

let seq = 0;
const fileIn = (dir: string | undefined): string => `${dir}/pin-${process.pid}-${seq++}`;

const KINDS: Kind[] = [
  { name: 'anonymous 4K', missing: () => undefined, map: () => mapAnonymous(16 * PAGE, { thp: 'off', populate: true }), kind: 'anon', order: 0 },
  { name: 'anonymous THP', missing: () => undefined, map: () => mapAnonymous(HUGE, { thp: 'on', populate: true }), kind: 'anon', order: 9 },
  { name: 'anonymous shared', missing: () => undefined, map: () => mapAnonymous(16 * PAGE, { shared: true, populate: true }), kind: 'shmem' },
  { name: 'memfd', missing: () => undefined, map: () => mapMemfd(16 * PAGE, { populate: true }), kind: 'shmem' },
  {
    name: 'hugetlb 2M',
    missing: () => (free2M() >= 1 ? undefined : 'no free 2M huge pages (boot with hugepages=N)'),
    map: () => mapHugetlb(HUGE, { populate: true }),
    kind: 'hugetlb',
    order: 9,
  },
  {
    name: 'memfd hugetlb 2M',
    missing: () => (free2M() >= 1 ? undefined : 'no free 2M huge pages'),
    map: () => mapMemfd(HUGE, { hugetlb: '2M', populate: true }),
    kind: 'hugetlb',
    order: 9,
  },
  { name: 'file on tmpfs', missing: () => undefined, map: () => mapFile(fileIn('/dev/shm'), 16 * PAGE, { create: true, populate: true }), kind: 'shmem' },
  ...(['ext4', 'xfs'] as const).flatMap((fs): Kind[] => [
    {
      name: `file on ${fs}`,
      missing: () => (mountOf(fs, false) ? undefined : `no ${fs} mount (guplab vm run --fs ${fs})`),
      map: () => mapFile(fileIn(mountOf(fs, false)), 16 * PAGE, { create: true, populate: true }),
      kind: 'file',
    },
    {
      name: `DAX file on ${fs}`,
      missing: () => (mountOf(fs, true) ? undefined : `no DAX ${fs} mount (guplab vm run --pmem 128M --dax ${fs})`),
      map: () => mapFile(fileIn(mountOf(fs, true)), 16 * PAGE, { create: true, populate: true }),
      kind: 'file',
      zoneDevice: true,
    },
  ]),
];

describe.runIf(hasDevice)('each memory kind through the fast and the slow path', () => {
  let dev: GupDevice;
  beforeAll(() => {
    dev = GupDevice.open();
  });
  afterAll(() => dev?.close());

  for (const k of KINDS) {
    for (const api of APIS) {
      it(`${api} on ${k.name}: every page taken, facts as the kind implies`, (ctx) => {
        const reason = k.missing();
        if (reason) {
          // In the VM every kind must be there, DAX too, unless the runner said the kernel cannot do DAX ($GUPLAB_NO_DAX).
          const noDax = k.zoneDevice ? guestEnv().noDax : undefined;
          if (inVm && !noDax) throw new Error(`${k.name} must be available in the VM: ${reason}`);
          ctx.skip(noDax ?? reason);
        }
        const m = k.map();
        try {
          const pages = m.pages;
          const before = pinCounters();
          const r = dev.pin(api, m.address, pages, { flags: ['write'], facts: true });
          expect(r.ret).toBe(pages);
          const facts = r.facts ?? [];
          expect(facts).toHaveLength(pages);
          for (const [i, f] of facts.entries()) {
            expect(f.kinds, `page ${i} kinds`).toContain(k.kind);
            if (k.order !== undefined) expect(f.folioOrder, `page ${i} folio order`).toBe(k.order);
            expect(f.kinds.includes('zoneDevice'), `page ${i} zone device`).toBe(k.zoneDevice ?? false);
            expect(f.pfn).toBe(m.pfn(i * PAGE));
            if (k.zoneDevice) expect(f.zone).toBe('Device');
          }
          // FOLL_PIN marks the folio maybe-DMA-pinned while held; FOLL_GET does not.
          expect(facts.every((f) => f.maybeDmaPinned)).toBe(api.startsWith('pin_'));
          const after = pinCounters();
          const pinned = api.startsWith('pin_') ? pages : 0;
          expect(after.acquired - before.acquired).toBe(pinned);
          expect(after.released - before.released).toBe(pinned);
        } finally {
          m.close();
        }
      });
    }
  }

  it('memfd_secret memory is refused by every path (no direct map)', () => {
    let m: Mapping;
    try {
      m = mapSecret(4 * PAGE, { populate: true });
    } catch (err) {
      expect(err).toBeInstanceOf(UnsupportedError);
      // memfd_secret(2) came in 5.14 (mm/secretmem.c, "mm: introduce
      // memfd_secret system call to create secret memory areas"): 5.10 answers
      // ENOSYS. The VM enables it (secretmem.enable=1) wherever it exists.
      const [major, minor] = kernelVersion(dev.info().release);
      if (inVm && major * 1000 + minor >= 5014) throw err;
      return;
    }
    try {
      for (const api of APIS) expect(dev.pin(api, m.address, 4).ret, api).toBeLessThan(0);
    } finally {
      m.close();
    }
  });

  it('hugetlb memory is protected and advised in whole huge pages', () => {
    const m = mapHugetlb(2 * HUGE, { populate: true });
    try {
      expect(() => m.protect('r', 0, PAGE)).toThrow(/multiples of the huge page size 2097152/);
      m.protect('r', HUGE, HUGE);
      expect(m.protection(HUGE)).toBe('r');
      expect(m.protection(0)).toBe('rw');
    } finally {
      m.close();
    }
  });

  it('unmapping while pins are held is safe: the pins keep the pages', () => {
    const m = mapAnonymous(32 * PAGE, { populate: true });
    m.write(0, 0x3c, 32 * PAGE);
    const held = dev.pin('pin_user_pages_fast', m.address, 32, { hold: true, facts: true });
    expect(held.ret).toBe(32);
    m.close();
    m.close();
    const { acquired, released } = pinCounters();
    expect(acquired - released).toBeGreaterThanOrEqual(32);
    expect(() => dev.release(held.handle ?? 0, { dirty: true })).toThrow(/EPERM|flags \["write"\]/);
    expect(dev.release(held.handle ?? 0).nrPages).toBe(32);
  });
});

describe.runIf(hasDevice)('async work', () => {
  let dev: GupDevice;
  beforeAll(() => {
    dev = GupDevice.open();
  });
  afterAll(() => dev?.close());

  it('the event loop keeps turning during a long BENCH', async () => {
    const m = mapAnonymous(256 * PAGE, { populate: true });
    // Counted in loop turns, not in timer ticks: a 5 ms interval measured
    // guest time, which a loaded TCG host can all but stop (one tick in a
    // 650 ms test, once). Were bench() to block the thread, its promise
    // would settle in the microtask queue before any setImmediate ran, and
    // turns would be 0; while it runs off the thread, each turn queues the next.
    let turns = 0;
    let running = true;
    const turn = (): void => {
      turns++;
      if (running) setImmediate(turn);
    };
    setImmediate(turn);
    const samples = await dev.bench('get_user_pages_unlocked', m.address, 256, { pagesPerCall: 256, iterations: 2000 });
    running = false;
    expect(samples.done).toBe(2000);
    expect(turns).toBeGreaterThanOrEqual(2);
    m.close();
  });

  it('an AbortSignal stops a BENCH early with the samples so far (status -EINTR)', async () => {
    const m = mapAnonymous(256 * PAGE, { populate: true });
    const controller = new AbortController();
    const iterations = addon().abi.benchMaxIterations;
    setTimeout(() => controller.abort(), 200);
    const samples = await dev.bench('get_user_pages_unlocked', m.address, 256, { pagesPerCall: 256, iterations, signal: controller.signal });
    expect(samples.status).toBe(-4);
    expect(samples.done).toBeGreaterThan(0);
    expect(samples.done).toBeLessThan(iterations);
    expect(samples.getNs).toHaveLength(samples.done);
    m.close();
  });

  it('pinAsync holds a large set off the JS thread', async () => {
    const pages = 8192;
    const m = mapAnonymous(pages * PAGE, { populate: true });
    const held = await dev.pinAsync('pin_user_pages_fast', m.address, pages, { hold: true });
    expect(held.ret).toBe(pages);
    expect(dev.release(held.handle ?? 0).nrPages).toBe(pages);
    m.close();
  });
});
