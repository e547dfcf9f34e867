// The ODP-style mirror (ABI 6): hmm_range_fault() fills, an
// mmu_interval_notifier invalidates, no page reference is held. The events
// each operation sends are read in the kernel's source (5.10, 6.1, 6.12 and
// 7.3 agree on each):
//   munmap         unmap_vmas() (mm/memory.c): MMU_NOTIFY_UNMAP
//   MADV_DONTNEED  zap_page_range() / zap_page_range_single(): MMU_NOTIFY_CLEAR
//   mprotect       change_pmd_range() (mm/mprotect.c): MMU_NOTIFY_PROTECTION_VMA
//   fork           copy_page_range() of a COW mapping: MMU_NOTIFY_PROTECTION_PAGE,
//                  then the parent's write, wp_page_copy(): MMU_NOTIFY_CLEAR
import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelVersion } from '../../lib/check/expectations.js';
import { GupDevice, mapAnonymous, mapMemfd, mapSecret, UnsupportedError } from '../../lib/index.js';
import { addon } from '../../lib/native.js';
import type { GuestMount } from '../../lib/vm/guest.js';
import { runChild } from './child.js';
import { hasDevice } from './device.js';

const PAGE = 4096;

/** The module's own answer (errno name), below GupDevice's argument checks. */
function rawMirror(device: InstanceType<ReturnType<typeof addon>['Device']>, addr: bigint, nrPages: number, flags = 0): string {
  try {
    const m = device.mirror({ addr, nrPages, flags });
    return `handle ${m.handle > 0 ? 'ok' : m.handle}`;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** refcount of the folio behind one page, read through a short FOLL_GET. */
function refcount(dev: GupDevice, address: bigint): number {
  const r = dev.pin('get_user_pages_fast', address, 1, { facts: true });
  return r.facts?.[0]?.refcount ?? -1;
}

describe.runIf(hasDevice)('mirror (hmm_range_fault + mmu_interval_notifier)', () => {
  let dev: GupDevice;
  beforeAll(() => {
    dev = GupDevice.open();
  });
  afterAll(() => dev?.close());

  it('mirrors every page, with the pfns the CPU maps, and holds no page reference', () => {
    const m = mapAnonymous(32 * PAGE, { populate: true });
    const before = refcount(dev, m.address);
    const mirror = dev.mirror(m.address, 32, { write: true });
    expect(mirror.validPages).toBe(32);
    expect(mirror.faultNs).toBeGreaterThan(0);
    const state = dev.mirrorState(mirror.handle, { pfns: true });
    expect(state.nrPages).toBe(32);
    expect(state.faults).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 32; i++) {
      expect(state.pfns?.[i]).toEqual({ valid: true, writable: true, pfn: m.pfn(i * PAGE) });
    }
    expect(refcount(dev, m.address)).toBe(before);
    expect(dev.release(mirror.handle).nrPages).toBe(32);
    m.close();
  });

  it('a snapshot records the present pages only and faults nothing in', () => {
    const m = mapAnonymous(16 * PAGE);
    m.touch('write', 0, 4 * PAGE);
    const mirror = dev.mirror(m.address, 16, { snapshot: true });
    expect(mirror.validPages).toBe(4);
    expect(m.backing().rssKb).toBe(16);
    dev.release(mirror.handle);
    m.close();
  });

  it('reads and writes through the mirror as a device would, coherent with the process', () => {
    const m = mapAnonymous(4 * PAGE, { populate: true });
    const mirror = dev.mirror(m.address, 4, { write: true });
    m.write(PAGE + 5, 0x5a);
    expect(dev.readPinned(mirror.handle, 1, 5)[0]).toBe(0x5a);
    dev.writePinned(mirror.handle, 2, 7, Uint8Array.of(0xa5));
    expect(m.read(2 * PAGE + 7)[0]).toBe(0xa5);
    dev.release(mirror.handle);
    m.close();
  });

  it('MADV_DONTNEED invalidates (clear); the next access faults the zero-filled page back in', () => {
    const m = mapAnonymous(8 * PAGE, { populate: true });
    m.write(3 * PAGE, 0x11);
    const mirror = dev.mirror(m.address, 8);
    m.advise('dontneed', 2 * PAGE, 4 * PAGE);
    let state = dev.mirrorState(mirror.handle);
    expect(state.events.clear).toBeGreaterThanOrEqual(1);
    expect(state.validPages).toBe(4);
    expect(state.log.at(-1)).toEqual({ event: 'clear', start: m.address + 2n * 4096n, end: m.address + 6n * 4096n });
    expect(dev.readPinned(mirror.handle, 3)[0]).toBe(0);
    state = dev.mirrorState(mirror.handle);
    expect(state.validPages).toBe(5);
    expect(state.faults).toBe(2);
    dev.release(mirror.handle);
    m.close();
  });

  it('munmap invalidates (unmap) and an access then fails with EFAULT; mprotect sends protectionVma, and a write after it EPERM', () => {
    const m = mapAnonymous(8 * PAGE, { populate: true });
    const mirror = dev.mirror(m.address, 8, { write: true });
    m.protect('r', 0, 2 * PAGE);
    expect(dev.mirrorState(mirror.handle).events.protectionVma).toBeGreaterThanOrEqual(1);
    // A read faults for reading: a mirror for writing still reads a read-only page.
    expect(dev.readPinned(mirror.handle, 0)[0]).toBe(0);
    expect(() => dev.writePinned(mirror.handle, 1, 0, Uint8Array.of(1))).toThrow(expect.objectContaining({ code: 'EPERM' }));
    m.close();
    const state = dev.mirrorState(mirror.handle);
    expect(state.events.unmap).toBeGreaterThanOrEqual(1);
    expect(state.validPages).toBe(0);
    expect(() => dev.readPinned(mirror.handle, 4)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    dev.release(mirror.handle);
  });

  it('fork write-protects the range (protectionPage): the mirror drops it and follows the parent to whatever page it writes', () => {
    const m = mapAnonymous(2 * PAGE, { populate: true });
    m.write(0, 0x21);
    const mirror = dev.mirror(m.address, 2);
    m.forkRun([{ op: 'read', offset: 0 }]);
    let state = dev.mirrorState(mirror.handle, { pfns: true });
    expect(state.events.protectionPage).toBeGreaterThanOrEqual(1);
    expect(state.validPages).toBe(0);
    // The child has exited, so do_wp_page() may reuse the page rather than
    // copy it (then no further invalidation): compare data and pfns only.
    m.write(0, 0x22);
    expect(dev.readPinned(mirror.handle, 0)[0]).toBe(0x22);
    state = dev.mirrorState(mirror.handle, { pfns: true });
    expect(state.pfns?.[0]?.pfn).toBe(m.pfn(0));
    dev.release(mirror.handle);
    m.close();
  });

  it('refuses bad requests with the errno that names the problem, before anything is held', () => {
    const device = new (addon().Device)();
    try {
      const m = mapAnonymous(8 * PAGE, { populate: true, holeAfter: true });
      expect(rawMirror(device, m.address + 1n, 1)).toBe('EINVAL'); // not page aligned
      expect(rawMirror(device, m.address, 0)).toBe('EINVAL');
      expect(rawMirror(device, m.address, 1, 1 << 7)).toBe('EINVAL'); // unknown flag
      expect(rawMirror(device, m.address, dev.info().maxPages + 1)).toBe('E2BIG');
      expect(rawMirror(device, 0x7fff_ffff_fff0_0000n, 16)).toBe('EINVAL'); // past TASK_SIZE (even 57-bit la57 guests')
      expect(rawMirror(device, m.address + 4n * 4096n, 8)).toBe('EFAULT'); // runs into the hole
      expect(rawMirror(device, m.address, 4)).toBe('handle ok');
      expect(rawMirror(device, m.address + 3n * 4096n, 2)).toBe('EEXIST'); // overlaps
      expect(rawMirror(device, m.address + 4n * 4096n, 4)).toBe('handle ok'); // adjacent is fine
      for (const [call, code] of [
        [() => device.mirrorState(999, false), 'ENOENT'],
        [() => device.release(1, true), 'EINVAL'], // a mirror has no pages to dirty
      ] as const) {
        expect(() => call()).toThrow(expect.objectContaining({ code }));
      }
      // A held set has no mirror state.
      const held = dev.pin('pin_user_pages_fast', m.address, 1, { hold: true, flags: ['longterm'] });
      expect(() => dev.mirrorState(held.handle ?? 0)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      dev.release(held.handle ?? 0);
      expect(device.release(1, false).nrPages).toBe(4);
      m.close();
    } finally {
      device.close();
    }
  });

  it('allows 64 mirrors per open file, then ENOSPC', async () => {
    const device = GupDevice.open();
    const m = mapAnonymous(65 * PAGE, { populate: true });
    try {
      for (let i = 0; i < 64; i++) device.mirror(m.address + BigInt(i * PAGE), 1);
      await expect(device.mirrorAsync(m.address + 64n * 4096n, 1)).rejects.toMatchObject({ code: 'ENOSPC' });
    } finally {
      device.close(); // ends all 64
      m.close();
    }
  });

  it('a process that exits with mirrors open leaves nothing behind (release event, then the file closes)', async () => {
    const script = `
      import { GupDevice, mapAnonymous } from ${JSON.stringify(new URL('../../dist/lib/index.js', import.meta.url).href)};
      const dev = GupDevice.open();
      const m = mapAnonymous(64 * 4096, { populate: true });
      for (let i = 0; i < 8; i++) dev.mirror(m.address + BigInt(i * 8 * 4096), 8, { write: true });
      console.log('mirrored');
      process.exit(0);
    `;
    const r = await runChild(process.execPath, ['--input-type=module', '-e', script]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('mirrored');
    expect(r.status).toBe(0);
  });

  it('refuses to mirror memfd_secret memory with EFAULT, as GUP does (its pages are off the direct map)', () => {
    let m;
    try {
      m = mapSecret(4 * PAGE, { populate: true });
    } catch (err) {
      // memfd_secret came in 5.14; the VM enables it (secretmem.enable=1) wherever it exists.
      expect(err).toBeInstanceOf(UnsupportedError);
      const [major, minor] = kernelVersion(os.release());
      expect(major * 1000 + minor).toBeLessThan(5014);
      return;
    }
    const device = new (addon().Device)();
    try {
      // Without the check, the mirror was made and an ACCESS through it oopsed
      // (memcpy_from_page() on a page with no kernel mapping).
      expect(rawMirror(device, m.address, 4)).toBe('EFAULT');
      expect(rawMirror(device, m.address, 4, 1)).toBe('EFAULT'); // write
      expect(rawMirror(device, m.address, 4, 2)).toBe('EFAULT'); // snapshot: present pages only, still refused
    } finally {
      device.close();
      m.close();
    }
  });

  it('dirties the page a write ACCESS wrote: a shmem page read-faulted writable and clean keeps the bytes through MADV_PAGEOUT', () => {
    // shmem maps a read fault writable at once (no writenotify: no page_mkwrite, no
    // dirty accounting), on a clean folio. The mirror's write fill then faults nothing,
    // and reclaim drops a clean shmem folio without writing it anywhere.
    const m = mapMemfd(4 * PAGE);
    try {
      expect(m.read(100)[0]).toBe(0);
      const mirror = dev.mirror(m.address, 4, { write: true, snapshot: true });
      expect(dev.mirrorState(mirror.handle, { pfns: true }).pfns?.[0]).toMatchObject({ valid: true, writable: true });
      const pfn = m.pfn(0);
      expect(pageDirty(pfn)).toBe(false);
      dev.writePinned(mirror.handle, 0, 100, Uint8Array.of(0xa5));
      expect(pageDirty(pfn)).toBe(true);
      m.advise('pageout');
      // Dirty, it is written to swap or, without swap, kept (shmem_writepage() redirties it).
      expect(m.read(100)[0]).toBe(0xa5);
      dev.release(mirror.handle);
    } finally {
      m.close();
    }
  });

  it('invalidates whole pages: a range that starts or ends inside a page clears that page', () => {
    const m = mapAnonymous(4 * PAGE, { populate: true });
    const mirror = dev.mirror(m.address, 4);
    // mprotect works in pages; MADV_DONTNEED too. A notifier range is page aligned by
    // the kernel's callers, so this checks that rounding changes nothing for them.
    m.advise('dontneed', PAGE, PAGE);
    const state = dev.mirrorState(mirror.handle, { pfns: true });
    expect(state.pfns?.map((e) => e.valid)).toEqual([true, false, true, true]);
    dev.release(mirror.handle);
    m.close();
  });

  it('benches hmm_range_fault like a GUP entry point: every batch filled, nothing to release', async () => {
    const m = mapAnonymous(256 * PAGE, { populate: true });
    const r = await dev.bench('hmm_range_fault', m.address, 256, { pagesPerCall: 64, iterations: 5, flags: ['write'] });
    expect(r).toMatchObject({ done: 5, status: 0 });
    expect(r.getNs.every((ns) => ns > 0)).toBe(true);
    expect(r.putNs.every((ns) => ns === 0)).toBe(true);
    await expect(dev.bench('hmm_range_fault', m.address, 256, { pagesPerCall: 64, iterations: 1, flags: ['longterm'] })).rejects.toThrow(/only "write"/);
    m.close();
  });
});

const ext4 = (JSON.parse(process.env.GUPLAB_MOUNTS ?? '[]') as GuestMount[]).find((m) => m.fs === 'ext4' && !m.dax)?.path;

async function sh(cmd: string): Promise<string> {
  const r = await runChild('sh', ['-c', cmd]);
  return `${r.stdout}${r.stderr}${r.status === 0 ? '' : `exit ${r.status}`}`;
}

/** /proc/kpageflags KPF_DIRTY (bit 4) of the page at pfn: PG_dirty of its folio (root only). */
function pageDirty(pfn: bigint): boolean {
  const fd = openSync('/proc/kpageflags', 'r');
  try {
    const entry = Buffer.alloc(8);
    readSync(fd, entry, 0, 8, Number(pfn) * 8);
    return ((entry.readBigUInt64LE() >> 4n) & 1n) === 1n;
  } finally {
    closeSync(fd);
  }
}

/** /proc/self/pagemap bit 62: the page is swapped out (its pte holds a swap entry). */
function swapped(address: bigint): boolean {
  const fd = openSync('/proc/self/pagemap', 'r');
  try {
    const entry = Buffer.alloc(8);
    readSync(fd, entry, 0, 8, Number(address / 4096n) * 8);
    return ((entry.readBigUInt64LE() >> 62n) & 1n) === 1n;
  } finally {
    closeSync(fd);
  }
}

// Swap needs a real block device: a swap file on tmpfs cannot be activated,
// so the swap file lives on the full guest's ext4 scratch disk.
describe.runIf(hasDevice && ext4 !== undefined)('mirror writes under reclaim (swap file on the ext4 scratch disk)', () => {
  const swapfile = path.join(ext4 ?? '', `guplab-swap-${process.pid}`);
  let dev: GupDevice;
  beforeAll(async () => {
    dev = GupDevice.open();
    // dd, not fallocate: swapon refuses a file with unwritten extents on older kernels.
    expect(
      await sh(`dd if=/dev/zero of=${swapfile} bs=1M count=32 2>/dev/null && chmod 600 ${swapfile} && mkswap ${swapfile} >/dev/null && swapon ${swapfile}`),
    ).toBe('');
  });
  afterAll(async () => {
    dev?.close();
    await sh(`swapoff ${swapfile}`);
    rmSync(swapfile, { force: true });
  });

  it('dirties the page a write ACCESS wrote: MADV_PAGEOUT, read-touch, MIRROR write, ACCESS write, MADV_PAGEOUT loses nothing', async () => {
    const m = mapAnonymous(4 * PAGE, { populate: true });
    try {
      m.write(0, 0x11, 4 * PAGE);
      m.advise('pageout');
      expect(swapped(m.address)).toBe(true);
      // Let the swap writeback finish: a folio still under writeback is skipped by reclaim.
      await sh('sleep 1');
      // A read swap-in of an exclusive anonymous page may map it writable but clean
      // (do_swap_page(), where the kernel does so; Debian's 6.12 maps it read-only and
      // the write fill's fault dirties it): either way the bytes must come back.
      expect(m.read(100)[0]).toBe(0x11);
      const mirror = dev.mirror(m.address, 4, { write: true });
      expect(dev.mirrorState(mirror.handle, { pfns: true }).pfns?.[0]).toMatchObject({ valid: true, writable: true });
      dev.writePinned(mirror.handle, 0, 100, Uint8Array.of(0xa5));
      expect(pageDirty(m.pfn(0))).toBe(true);
      m.advise('pageout');
      expect(swapped(m.address)).toBe(true);
      expect(dev.mirrorState(mirror.handle, { pfns: true }).pfns?.[0]?.valid).toBe(false);
      expect(m.read(100)[0]).toBe(0xa5);
      expect(dev.readPinned(mirror.handle, 0, 100)[0]).toBe(0xa5);
      dev.release(mirror.handle);
    } finally {
      m.close();
    }
  });
});
