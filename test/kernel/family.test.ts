// Issue 3: the whole GUP family, flags, held pins, BENCH, page facts.
import { kernelVersion } from '../../lib/check/expectations.js';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_NAMES, GupDevice, expectKernelWarning, isPinApi, isRemoteApi, mapAnonymous, pinCounters, type ApiName, type FlagName } from '../../lib/index.js';
import { projectRoot } from '../../lib/util/root.js';
import { runChild } from './child.js';
import { hasDevice } from './device.js';
import { expectedAnswer, FLAG_SETS } from './expectations.js';

function heldPins(): number {
  const { acquired, released } = pinCounters();
  return acquired - released;
}

describe.runIf(hasDevice)('the GUP family on this kernel', () => {
  let dev: GupDevice;
  beforeAll(() => {
    dev = GupDevice.open();
  });
  afterAll(() => dev?.close());

  it('INFO lists exactly the entry points this kernel exports (per /proc/kallsyms)', () => {
    const kallsyms = readFileSync('/proc/kallsyms', 'utf8');
    // Without CONFIG_KALLSYMS_ALL (Debian arm64) kallsyms lists no
    // __ksymtab_ entries: the kernel build's Module.symvers tells instead.
    const symvers = path.join(process.env.GUPLAB_KERNEL_BUILD ?? `/lib/modules/${dev.info().release}/build`, 'Module.symvers');
    const exportList = /\s__ksymtab_/.test(kallsyms)
      ? (api: string) => new RegExp(`\\s__ksymtab_${api}$`, 'm').test(kallsyms)
      : (api: string) => new RegExp(`^\\S+\\t${api}\\tvmlinux\\t`, 'm').test(readFileSync(symvers, 'utf8'));
    const exported = API_NAMES.filter(exportList);
    expect(exported.length).toBeGreaterThanOrEqual(9);
    expect(dev.info().apis).toEqual(exported);
  });

  const observed: Record<string, number> = {};
  afterAll(() => {
    console.log(`observed answers on ${dev.info().release}: ${JSON.stringify(observed)}`);
  });

  describe.each(API_NAMES)('%s on prefaulted anonymous memory', (api: ApiName) => {
    it.each(FLAG_SETS.map((f) => [f.join('|') || 'none', f] as const))('flags %s', (_label, flags: readonly FlagName[]) => {
      const info = dev.info();
      if (!info.apis.includes(api)) return;
      const m = mapAnonymous(16 * 4096, { populate: true });
      if (dev.warns(api, flags)) expectKernelWarning('at mm/gup.c', `${api} with ${flags.join('|')}`);
      const pid = isRemoteApi(api) ? { pid: process.pid } : {};
      // Where the pages landed (the VM has ZONE_MOVABLE) decides a fast-only LONGTERM pin.
      const zones = (dev.pin('get_user_pages_fast', m.address, 16, { facts: true }).facts ?? []).map((f) => f.zone);
      // Before 5.13 ("mm/gup: migrate pinned pages out of movable zone") GUP-fast
      // refused only CMA pages for FOLL_LONGTERM (5.10 mm/gup.c:126,
      // try_grab_compound_head(): `if (unlikely(flags & FOLL_LONGTERM) &&
      // is_migrate_cma_page(page))`): ZONE_MOVABLE pages are pinned in place.
      const [major, minor] = kernelVersion(info.release);
      const prefix = major * 1000 + minor < 5013 ? -1 : zones.indexOf('Movable');
      const r = dev.pin(api, m.address, 16, { flags, ...pid });
      observed[`${api}:${flags.join('|')}`] = r.ret;
      expect(r.ret).toBe(expectedAnswer(info.release, api, flags, 16, prefix < 0 ? 16 : prefix));
    });
  });

  it('reports the facts of anonymous pages, pinned and got', () => {
    const [major, minor] = kernelVersion(dev.info().release);
    const movableMigrates = major * 1000 + minor >= 5013;
    const m = mapAnonymous(8 * 4096, { populate: true, thp: 'off' });
    const pinned = dev.pin('pin_user_pages_fast', m.address, 8, { facts: true, flags: ['write'] });
    expect(pinned.facts).toHaveLength(8);
    for (const f of pinned.facts ?? []) {
      expect(f.kinds).toEqual(['anon']);
      expect(f.folioOrder).toBe(0);
      expect(f.pincount).toBe(-1);
      expect(f.maybeDmaPinned).toBe(true);
      expect(f.refcount).toBeGreaterThanOrEqual(1 + 1024); // mapping + GUP_PIN_COUNTING_BIAS
      // Not pinnable long-term only in ZONE_MOVABLE here (no CMA on x86_64; the VM boots with movablecore=),
      // and only from 5.13: before it, FOLL_LONGTERM moved CMA pages alone (see kmod/compat.h).
      expect(f.zoneMovable).toBe(f.zone === 'Movable');
      expect(f.longtermPinnable).toBe(movableMigrates ? !f.zoneMovable : true);
      expect(f.pfn).toBe(f.pfnBefore);
      expect(f.pfnChanged).toBe(false);
      expect(f.zone).toMatch(/^(DMA|DMA32|Normal|Movable)$/);
    }
    const got = dev.pin('get_user_pages_fast', m.address, 8, { facts: true });
    for (const f of got.facts ?? []) {
      expect(f.maybeDmaPinned).toBe(false);
      expect(f.refcount).toBeLessThan(1024);
      expect(f.refcount).toBeGreaterThanOrEqual(2);
    }
  });

  it('counts pins of a large folio exactly in its pincount', () => {
    const m = mapAnonymous(2 << 20, { thp: 'on', populate: true });
    const r = dev.pin('pin_user_pages_fast', m.address, 512, { facts: true, hold: true });
    expect(r.ret).toBe(512);
    const facts = r.facts ?? [];
    if (facts[0]?.folioOrder === 9) {
      expect(facts[0].pincount).toBe(512); // one pin per page, counted on the folio
      expect(facts[0].maybeDmaPinned).toBe(true);
    } else {
      console.log(`THP not used for this buffer (folio order ${facts[0]?.folioOrder}): large-folio pincount not checked`);
    }
    dev.release(r.handle ?? 0);
  });

  it('holds pins across calls and releases them by handle, dirty or not', () => {
    const base = heldPins();
    const m = mapAnonymous(64 * 4096, { populate: true });
    const a = dev.pin('pin_user_pages_fast', m.address, 32, { hold: true, flags: ['write'] });
    const b = dev.pin('pin_user_pages', m.address + 32n * 4096n, 32, { hold: true, flags: ['write', 'longterm'] });
    expect(a.handle).toBeGreaterThan(0);
    expect(b.handle).toBeGreaterThan(0);
    expect(a.putNs).toBe(0);
    expect(heldPins() - base).toBe(64);
    // Held pages show up as pinned in a later call's facts.
    const again = dev.pin('get_user_pages_fast', m.address, 1, { facts: true });
    expect(again.facts?.[0]?.maybeDmaPinned).toBe(true);
    expect(dev.release(a.handle ?? 0, { dirty: true }).nrPages).toBe(32);
    expect(heldPins() - base).toBe(32);
    expect(dev.release(b.handle ?? 0).nrPages).toBe(32);
    expect(heldPins() - base).toBe(0);
    expect(() => dev.release(a.handle ?? 0)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('releases every held set when the device is closed', () => {
    const base = heldPins();
    const d = GupDevice.open();
    const m = mapAnonymous(128 * 4096, { populate: true });
    for (let i = 0; i < 4; i++) d.pin('pin_user_pages_unlocked', m.address + BigInt(i * 32 * 4096), 32, { hold: true });
    expect(heldPins() - base).toBe(128);
    d.close();
    expect(heldPins() - base).toBe(0);
  });

  it('releases the pins of a holder killed with SIGKILL', async () => {
    const base = heldPins();
    const child = spawn(process.execPath, [path.join(projectRoot, 'test', 'kernel', 'holder.mjs'), '4096'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const held = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(d.toString()));
      child.once('exit', (code) => reject(new Error(`holder exited early with ${code}`)));
    });
    expect(held).toMatch(/^held 4096/);
    expect(heldPins() - base).toBe(4096);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(heldPins() - base).toBe(0);
  });

  it('charges held pins to RLIMIT_MEMLOCK without CAP_IPC_LOCK, with a clear error', async () => {
    // 64 KiB of memlock, no CAP_IPC_LOCK: holding 64 pages (256 KiB) must fail.
    const r = await runChild('setpriv', [
      '--inh-caps=-ipc_lock',
      '--bounding-set=-ipc_lock',
      'prlimit',
      '--memlock=65536',
      '--',
      process.execPath,
      path.join(projectRoot, 'test', 'kernel', 'holder.mjs'),
      '64',
      'once',
    ]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/ENOMEM.*RLIMIT_MEMLOCK/s);
    expect(r.status).toBe(3);
    // Within the limit it works.
    const ok = await runChild('setpriv', [
      '--inh-caps=-ipc_lock',
      '--bounding-set=-ipc_lock',
      'prlimit',
      '--memlock=1048576',
      '--',
      process.execPath,
      path.join(projectRoot, 'test', 'kernel', 'holder.mjs'),
      '64',
      'once',
    ]);
    expect(ok.stdout).toMatch(/^held 64/);
    expect(ok.status).toBe(0);
  });

  it('refuses a HOLD beyond the per-file cap with E2BIG', () => {
    const cap = dev.info().maxHeldPages;
    expect(cap).toBeGreaterThan(0);
    const m = mapAnonymous(4096, { populate: true });
    // Ask for more than the cap in one call: refused before any GUP.
    if (cap < dev.info().maxPages) {
      expect(() => dev.pin('pin_user_pages_fast', m.address, cap + 1, { hold: true })).toThrow(/E2BIG/);
    } else {
      expect(cap).toBeGreaterThanOrEqual(dev.info().maxPages);
    }
  });

  it('BENCH returns one sample per iteration from the in-kernel loop', async () => {
    const m = mapAnonymous(256 * 4096, { populate: true });
    for (const api of ['get_user_pages_fast', 'pin_user_pages', 'pin_user_pages_remote'] as const) {
      const r = await dev.bench(api, m.address, 256, {
        pagesPerCall: 64,
        iterations: 20,
        ...(isRemoteApi(api) ? { pid: process.pid } : {}),
      });
      expect(r).toMatchObject({ done: 20, status: 0, ret: 0 });
      expect(r.getNs).toHaveLength(20);
      expect(r.putNs).toHaveLength(20);
      expect(Math.min(...r.getNs)).toBeGreaterThan(0);
    }
    expect(heldPins()).toBe(0);
  });

  it('BENCH stops at a call that falls short and reports it', async () => {
    const m = mapAnonymous(8 * 4096, { populate: true, holeAfter: true });
    const r = await dev.bench('pin_user_pages_fast', m.address, 12, { pagesPerCall: 12, iterations: 5 });
    expect(r.done).toBe(0);
    expect(r.ret).toBe(8);
    expect(r.status).toBe(-14);
  });

  it('pins another process by pid with *_remote', () => {
    // A pid that does not exist: ESRCH from the module.
    const m = mapAnonymous(4096, { populate: true });
    expect(() => dev.pin('get_user_pages_remote', m.address, 1, { pid: 0x3fffffff })).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    for (const api of API_NAMES.filter(isRemoteApi)) {
      expect(dev.pin(api, m.address, 1, { pid: process.pid }).ret).toBe(1);
    }
    expect(isPinApi('pin_user_pages_remote')).toBe(true);
  });
});
