import os from 'node:os';
import { kernelVersion } from '../../lib/check/expectations.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_NAMES, GupDevice, isPinApi, mapAnonymous, pinCounters, type ApiName, type FlagName } from '../../lib/index.js';
import { addon } from '../../lib/native.js';
import { hasDevice } from './device.js';

const EFAULT = -14;

/** The entry points that fault pages in on the caller's own mm. */
const FAULTING_APIS = API_NAMES.filter((api) => !api.endsWith('_fast_only') && !api.endsWith('_remote'));

describe.runIf(hasDevice)('GUP on a real kernel', () => {
  let dev: GupDevice;
  beforeAll(() => {
    dev = GupDevice.open();
  });
  afterAll(() => dev?.close());

  it('INFO reports this kernel, its page size, APIs and flags', () => {
    const info = dev.info();
    expect(info.release).toBe(os.release());
    expect(info.pageSize).toBe(4096);
    for (const api of FAULTING_APIS) expect(info.apis).toContain(api);
    expect(info.flags).toEqual(expect.arrayContaining(['write', 'longterm', 'force', 'nowait']));
    // FOLL_NOFAULT came in 5.16 ("gup: Introduce FOLL_NOFAULT flag to disable
    // page faults"; absent from 5.10's include/linux/mm.h FOLL_* list).
    const [major, minor] = kernelVersion(info.release);
    if (major * 1000 + minor >= 5016) expect(info.flags).toContain('nofault');
    else expect(info.flags).not.toContain('nofault');
  });

  describe.each(FAULTING_APIS)('%s', (api: ApiName) => {
    it('takes every page of a prefaulted buffer, read and write', () => {
      const m = mapAnonymous(64 * 4096, { populate: true });
      for (const flags of [[], ['write']] as const) {
        const r = dev.pin(api, m.address, 64, { flags });
        expect(r.ret).toBe(64);
        expect(r.getNs).toBeGreaterThan(0);
        expect(r.putNs).toBeGreaterThan(0);
      }
    });

    it('faults in an untouched buffer', () => {
      const m = mapAnonymous(16 * 4096);
      expect(dev.pin(api, m.address, 16, { flags: ['write'] }).ret).toBe(16);
    });

    it('returns the mapped prefix of a range that runs into an unmapped page, then -EFAULT', () => {
      const m = mapAnonymous(8 * 4096, { populate: true, holeAfter: true });
      expect(dev.pin(api, m.address + 4n * 4096n, 8).ret).toBe(4);
      expect(dev.pin(api, m.address + 8n * 4096n, 4).ret).toBe(EFAULT);
    });

    it('keeps FOLL_PIN counters balanced', () => {
      const before = pinCounters();
      const m = mapAnonymous(32 * 4096, { populate: true });
      expect(dev.pin(api, m.address, 32).ret).toBe(32);
      const after = pinCounters();
      const acquired = after.acquired - before.acquired;
      expect(acquired).toBe(isPinApi(api) ? 32 : 0);
      expect(after.released - before.released).toBe(acquired);
    });
  });

  it('pins anonymous memory FOLL_LONGTERM with pin_user_pages_fast', () => {
    const m = mapAnonymous(16 * 4096, { populate: true });
    expect(dev.pin('pin_user_pages_fast', m.address, 16, { flags: ['write', 'longterm'] }).ret).toBe(16);
  });

  it('rejects bad arguments in TypeScript and in the module', () => {
    const m = mapAnonymous(4096, { populate: true });
    expect(() => dev.pin('get_user_pages_fast', m.address, 0)).toThrow(RangeError);
    expect(() => dev.pin('get_user_pages_fast', m.address, 1.5)).toThrow(RangeError);
    expect(() => dev.pin('no_such_api' as ApiName, m.address, 1)).toThrow(TypeError);
    expect(() => dev.pin('get_user_pages_fast', m.address, 1, { flags: ['no_such_flag' as FlagName] })).toThrow(/unknown GUP flag "no_such_flag"/);
    expect(() => dev.pin('get_user_pages_fast', m.address + 8n, 1)).toThrow(RangeError);
    expect(() => dev.pin('get_user_pages_fast', m.address + 8n, 1)).toThrow(/not page aligned/);
    expect(() => dev.pin('get_user_pages_fast', m.address, dev.info().maxPages + 1)).toThrow(/per-call limit/);
    // Past TypeScript, straight to the ioctl: the module refuses with EINVAL.
    const { Device, abi } = addon();
    const raw = new Device();
    const call = (req: object) => (): unknown => raw.pin({ api: 0, flags: 0, addr: m.address, nrPages: 1, ...req });
    expect(call({ api: 99 })).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'ioctl' }));
    expect(call({ flags: 1 << 30 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(call({ nrPages: 0 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(call({ addr: 0xffff_ffff_ffff_f000n, nrPages: 2 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(abi.apis.get_user_pages_fast).toBe(0);
    raw.close();
  });

  it('leaves every pin released: nr_foll_pin_acquired == nr_foll_pin_released', () => {
    const { acquired, released } = pinCounters();
    expect(acquired).toBeGreaterThan(0);
    expect(released).toBe(acquired);
  });

  it('a prepared pin (the hot-loop path) takes and releases the page on every run, and answers -EFAULT past the mapping', () => {
    const d = GupDevice.open();
    const m = mapAnonymous(4 * 4096, { populate: true, holeAfter: true });
    const before = pinCounters();
    const p = d.prepare('pin_user_pages_fast', m.address, 4, { flags: ['write'] });
    for (let i = 0; i < 100; i++) expect(p.run()).toBe(4);
    expect(p.getNs).toBeGreaterThan(0);
    expect(p.putNs).toBeGreaterThan(0);
    const after = pinCounters();
    expect(after.acquired - before.acquired).toBeGreaterThanOrEqual(400);
    expect(after.released - after.acquired).toBe(before.released - before.acquired);
    expect(d.prepare('get_user_pages_fast', m.address + 4n * 4096n, 1).run()).toBe(EFAULT);
    d.close();
    expect(() => p.run()).toThrow(expect.objectContaining({ name: 'ClosedError', code: 'ERR_GUPLAB_CLOSED' }));
  });

  it('refuses to talk through a closed device', () => {
    const d = GupDevice.open();
    d.close();
    d.close();
    expect(() => d.info()).toThrow(/closed/);
    expect(() => d.pin('get_user_pages_fast', 0x10000n, 1)).toThrow(expect.objectContaining({ name: 'ClosedError', code: 'ERR_GUPLAB_CLOSED' }));
  });
});
