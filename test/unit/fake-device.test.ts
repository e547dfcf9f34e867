// The layers above the addon, on a scripted fake device (test/fake/device.ts):
// argument validation, and the bench engine's rounds, adaptive sampling and
// early stop. The kernel's own answers are tested in test/kernel, never here.
import { describe, expect, it } from 'vitest';
import { runBench } from '../../lib/bench/engine.js';
import { fastRatio } from '../../lib/bench/results.js';
import { resolveSpec } from '../../lib/bench/spec.js';
import { UnsupportedError } from '../../lib/errors.js';
import { addon } from '../../lib/native.js';
import { fakeDevice } from '../fake/device.js';

const PAGE = 4096n;

describe('GupDevice argument checks (before any ioctl)', () => {
  const bad: [string, (d: ReturnType<typeof fakeDevice>['dev']) => unknown, RegExp, ErrorConstructor][] = [
    ['unknown API', (d) => d.pin('pin_user_pages_slow' as never, PAGE, 1), /unknown GUP API "pin_user_pages_slow"/, TypeError],
    ['number address', (d) => d.pin('get_user_pages_fast', 4096 as never, 1), /non-negative bigint/, TypeError],
    ['unaligned address', (d) => d.pin('get_user_pages_fast', PAGE + 1n, 1), /not page aligned/, RangeError],
    ['zero pages', (d) => d.pin('get_user_pages_fast', PAGE, 0), /positive integer, got 0/, RangeError],
    ['unknown flag', (d) => d.pin('get_user_pages_fast', PAGE, 1, { flags: ['constructor' as never] }), /constructor/, TypeError],
    ['remote without pid', (d) => d.pin('pin_user_pages_remote', PAGE, 1), /needs the target's pid/, TypeError],
    ['pid on a local API', (d) => d.pin('pin_user_pages_fast', PAGE, 1, { pid: 1 }), /only for \*_remote/, TypeError],
    ['above max_pages_per_call', (d) => d.pin('pin_user_pages_fast', PAGE, 1 << 21), /per-call limit/, RangeError],
  ];
  for (const [name, call, message, type] of bad) {
    it(`refuses ${name} with ${type.name}, and no request reaches the device`, () => {
      const { dev, fake } = fakeDevice();
      expect(() => call(dev)).toThrow(type);
      expect(() => call(dev)).toThrow(message);
      expect(fake.pins).toHaveLength(0);
    });
  }

  it('refuses an API the kernel does not export, naming what it offers', () => {
    const { abi } = addon();
    const { dev, fake } = fakeDevice({ info: { apiMask: 1n << BigInt(abi.apis.get_user_pages_fast ?? 0) } });
    expect(() => dev.pin('pin_user_pages_fast', PAGE, 1)).toThrow(UnsupportedError);
    expect(() => dev.pin('pin_user_pages_fast', PAGE, 1)).toThrow(/not exported by kernel 6.12.0-fake/);
    expect(fake.pins).toHaveLength(0);
  });

  it('passes a valid call through with the ABI bits of its flags', () => {
    const { abi } = addon();
    const { dev, fake } = fakeDevice();
    const r = dev.pin('pin_user_pages_fast', 16n * PAGE, 8, { flags: ['write', 'longterm'] });
    expect(r.ret).toBe(8);
    expect(fake.pins).toEqual([
      expect.objectContaining({
        api: abi.apis.pin_user_pages_fast,
        addr: 16n * PAGE,
        nrPages: 8,
        flags: (abi.flags.write ?? 0) | (abi.flags.longterm ?? 0),
        hold: false,
      }),
    ]);
  });

  it('reuses one slot request: every field of a call is written, none left from the one before', () => {
    const { abi } = addon();
    const { dev, fake } = fakeDevice({ pin: (r) => ({ ret: r.nrPages, getNs: 1, putNs: 2, handle: r.hold ? 7 : 0 }) });
    expect(dev.pin('pin_user_pages_remote', 4n * PAGE, 3, { pid: 42, hold: true, flags: ['write'] })).toEqual({ ret: 3, getNs: 1, putNs: 2, handle: 7 });
    expect(dev.pin('get_user_pages_fast', 2n * PAGE, 1)).toEqual({ ret: 1, getNs: 1, putNs: 2 });
    expect(fake.pins).toEqual([
      { api: abi.apis.pin_user_pages_remote, flags: abi.flags.write, addr: 4n * PAGE, nrPages: 3, pid: 42, hold: true, facts: false },
      { api: abi.apis.get_user_pages_fast, flags: 0, addr: 2n * PAGE, nrPages: 1, hold: false, facts: false },
    ]);
  });

  it('takes the object request only for facts; an address keeps all 64 bits; refuses calls after close()', () => {
    const { dev, fake } = fakeDevice();
    dev.pin('pin_user_pages_fast', PAGE, 1, { facts: true });
    const high = (1n << 56n) - PAGE; // the top of 5-level user space: not exact in a double
    dev.pin('pin_user_pages_fast', high, 1);
    dev.prepare('pin_user_pages_fast', high, 1).run();
    expect(fake.pins.map((r) => [r.addr, r.facts])).toEqual([
      [PAGE, true],
      [high, false],
      [high, false],
    ]);
    const prepared = dev.prepare('pin_user_pages_fast', PAGE, 1);
    dev.close();
    expect(() => dev.pin('pin_user_pages_fast', PAGE, 1)).toThrow(/device is closed/);
    expect(() => prepared.run()).toThrow(/device is closed/);
    expect(fake.pins).toHaveLength(3);
  });
});

describe('bench engine on the fake device', () => {
  const spec = (over: object) => resolveSpec({ apis: ['get_user_pages_fast'], backings: ['4K'], sizes: ['64K'], ...over });

  it("benches hmm_range_fault beside GUP with BENCH's hmm api id, and marks flag sets it has no counterpart of unavailable", async () => {
    const { dev, fake } = fakeDevice();
    const r = await runBench(
      spec({ apis: ['get_user_pages_fast', 'hmm_range_fault'], flags: [['write'], ['write', 'longterm']], rounds: 1, iterations: 5, warmup: 0 }),
      { dev },
    );
    const byId = (api: string, flags: string) => r.cases.find((c) => c.api === api && c.flags.join('|') === flags);
    expect(byId('hmm_range_fault', 'write')?.status).toBe('ok');
    expect(byId('hmm_range_fault', 'longterm|write')).toMatchObject({ status: 'unavailable', error: 'hmm_range_fault has no counterpart of longterm' });
    expect(byId('get_user_pages_fast', 'longterm|write')?.status).toBe('ok');
    expect(fake.benches.filter((b) => b.api === addon().abi.benchHmmRangeFault)).toHaveLength(1);
  });

  it("hmm_refault: per sample MADV_DONTNEED then a new mirror's fill; get is the fill, put the invalidation; held against hmm_range_fault", async () => {
    const { dev, fake } = fakeDevice();
    const r = await runBench(
      spec({ apis: ['hmm_range_fault', 'hmm_refault'], flags: [['write']], prefault: [true, false], rounds: 2, iterations: 6, warmup: 1 }),
      { dev },
    );
    const refault = r.cases.find((c) => c.api === 'hmm_refault' && c.prefault);
    expect(refault).toMatchObject({ status: 'ok', warmupIterations: 2 });
    expect(refault?.getNs).toEqual(new Array(6).fill(16000)); // the fake's fault_ns: 1000 per page, 16 pages
    expect(refault?.putNs.every((ns) => ns > 0)).toBe(true);
    expect(refault?.round).toEqual([0, 0, 0, 1, 1, 1]);
    // Per round: the first mirror, then one per cycle (warm-up included); every one for writing, over the whole buffer.
    expect(fake.mirrors).toHaveLength(2 * (1 + 1 + 3));
    expect(fake.mirrors.every((m) => m.nrPages === 16 && m.flags === addon().abi.mirrorFlags.write)).toBe(true);
    expect(fake.benches.every((b) => b.api === addon().abi.benchHmmRangeFault)).toBe(true);
    expect(r.cases.find((c) => c.api === 'hmm_refault' && !c.prefault)).toMatchObject({
      status: 'unavailable',
      error: 'hmm_refault cycles a mirrored, present range: prefault only',
    });
    expect(fastRatio(r, refault!)).toBeGreaterThan(0);
    await expect(dev.bench('hmm_refault', 0x10000n, 4, { pagesPerCall: 4, iterations: 1 })).rejects.toThrow(/cycle of the bench engine/);
  });

  it('hmm_refault_mprotect: the same cycle with an mprotect pair; the buffer ends read-write', async () => {
    const { dev, fake } = fakeDevice();
    const r = await runBench(spec({ apis: ['hmm_refault_mprotect'], flags: [[]], rounds: 1, iterations: 3, warmup: 0 }), { dev });
    expect(r.cases[0]).toMatchObject({ status: 'ok', getNs: [16000, 16000, 16000] });
    expect(fake.mirrors).toHaveLength(4);
    expect(fake.mirrors.every((m) => m.flags === 0)).toBe(true);
  });

  it('adaptive: sizes the sample count from the warm-up time and spreads it over the rounds', async () => {
    const { dev, fake } = fakeDevice();
    // 16 pages at 1100 ns/page = 17.6 us per iteration; 1 ms target -> 57 samples -> 12 per round.
    const r = await runBench(spec({ rounds: 5, targetMs: 1, warmup: 3 }), { dev });
    const c = r.cases[0]!;
    expect(c.status).toBe('ok');
    expect(fake.benches.map((b) => b.iterations)).toEqual([3, 12, 3, 12, 3, 12, 3, 12, 3, 12]);
    expect(c.getNs).toHaveLength(60);
    expect(c.warmupIterations).toBe(15);
    for (let round = 0; round < 5; round++) expect(c.round.filter((x) => x === round)).toHaveLength(12);
    expect(c.getNsPerPage?.median).toBe(1000);
    expect(c.totalNsPerPage?.median).toBe(1100);
  });

  it('adaptive: clamps to minSamples and maxSamples', async () => {
    const slow = fakeDevice({ bench: (b) => ({ getNs: new Array(b.iterations).fill(1e9), putNs: new Array(b.iterations).fill(0) }) });
    await runBench(spec({ rounds: 5, targetMs: 1, minSamples: 20 }), { dev: slow.dev });
    expect(slow.fake.benches.filter((_, i) => i % 2 === 1).map((b) => b.iterations)).toEqual([4, 4, 4, 4, 4]);
    const fast = fakeDevice({ bench: (b) => ({ getNs: new Array(b.iterations).fill(1), putNs: new Array(b.iterations).fill(0) }) });
    await runBench(spec({ rounds: 5, targetMs: 1000, maxSamples: 50 }), { dev: fast.dev });
    expect(fast.fake.benches.filter((_, i) => i % 2 === 1).map((b) => b.iterations)).toEqual([10, 10, 10, 10, 10]);
  });

  it('fixed iterations: split over the rounds, warm-up as given', async () => {
    const { dev, fake } = fakeDevice();
    const r = await runBench(spec({ rounds: 2, iterations: 10, warmup: 0 }), { dev });
    expect(fake.benches.map((b) => b.iterations)).toEqual([5, 5]);
    expect(r.cases[0]!.warmupIterations).toBe(0);
  });

  it("times 'pass' by default (gup_test's method), 'batch' on request, and takes each case's floor once with the empty loop", async () => {
    const { benchModes } = addon().abi;
    const { dev, fake } = fakeDevice();
    const r = await runBench(spec({ rounds: 2, iterations: 10, warmup: 0 }), { dev });
    expect(fake.benches.every((b) => b.mode === benchModes.pass)).toBe(true);
    expect(fake.floors).toHaveLength(1);
    expect(fake.floors[0]!.mode).toBe(benchModes.pass | benchModes.empty);
    expect(r.cases[0]).toMatchObject({ timing: 'pass', floorNsPerPage: 10 });
    const batch = fakeDevice();
    const b = await runBench(spec({ rounds: 1, iterations: 5, warmup: 0, timing: 'batch' }), { dev: batch.dev });
    expect(batch.fake.benches.every((x) => x.mode === benchModes.batch)).toBe(true);
    expect(b.cases[0]!.timing).toBe('batch');
  });

  it("stops a case at the kernel's refusal: a result with its errno, no more calls in later rounds", async () => {
    const { abi } = addon();
    const { dev, fake } = fakeDevice({ bench: (b) => (b.api === abi.apis.pin_user_pages ? { done: 0, status: -14, ret: -14, getNs: [], putNs: [] } : {}) });
    const r = await runBench(spec({ apis: ['get_user_pages_fast', 'pin_user_pages'], rounds: 3, iterations: 6 }), { dev });
    const refused = r.cases.find((c) => c.api === 'pin_user_pages')!;
    expect(refused).toMatchObject({ status: 'refused', error: 'EFAULT', ret: -14, getNs: [] });
    expect(fake.benches.filter((b) => b.api === abi.apis.pin_user_pages)).toHaveLength(1);
    expect(r.cases.find((c) => c.api === 'get_user_pages_fast')!.getNs).toHaveLength(6);
  });

  it('reports an API the kernel lacks as unavailable without calling it', async () => {
    const { abi } = addon();
    const { dev, fake } = fakeDevice({ info: { apiMask: 1n << BigInt(abi.apis.get_user_pages_fast ?? 0) } });
    const r = await runBench(spec({ apis: ['get_user_pages_fast', 'pin_user_pages_fast_only'], rounds: 1, iterations: 2 }), { dev });
    expect(r.cases.find((c) => c.api === 'pin_user_pages_fast_only')).toMatchObject({ status: 'unavailable', error: 'not exported by 6.12.0-fake' });
    expect(fake.benches.every((b) => b.api === abi.apis.get_user_pages_fast)).toBe(true);
  });
});

describe('GupDevice.mirrorState decoding (ABI 6)', () => {
  it("names the events by the addon's ids, keeps only those seen, and splits GUPLAB_MPFN_* entries", () => {
    const { events } = addon().abi;
    const counts = new Array<number>(16).fill(0);
    counts[events.unmap!] = 2;
    counts[events.protectionPage!] = 1;
    const { dev } = fakeDevice({
      mirrorState: () => ({
        nrPages: 2,
        validPages: 1,
        invalidations: 3,
        faults: 4,
        retries: 1,
        events: counts,
        log: [{ event: events.protectionPage!, start: 0x1000n, end: 0x3000n }],
        pfns: BigUint64Array.of((1n << 63n) | (1n << 62n) | 0x1234n, 0n),
      }),
    });
    const s = dev.mirrorState(1, { pfns: true });
    expect(s.events).toEqual({ unmap: 2, protectionPage: 1 });
    expect(s.log).toEqual([{ event: 'protectionPage', start: 0x1000n, end: 0x3000n }]);
    expect(s.pfns).toEqual([
      { valid: true, writable: true, pfn: 0x1234n },
      { valid: false, writable: false, pfn: 0n },
    ]);
  });

  it("passes write/snapshot as the ABI's bits and refuses an unaligned address before the module", async () => {
    const { dev, fake } = fakeDevice();
    const { mirrorFlags } = addon().abi;
    dev.mirror(0x10000n, 4, { write: true, snapshot: true });
    await dev.mirrorAsync(0x20000n, 1);
    expect(fake.mirrors).toEqual([
      { addr: 0x10000n, nrPages: 4, flags: mirrorFlags.write | mirrorFlags.snapshot },
      { addr: 0x20000n, nrPages: 1, flags: 0 },
    ]);
    expect(() => dev.mirror(0x10001n, 4)).toThrow(/not page aligned/);
    await expect(dev.mirrorAsync(0x10001n, 4)).rejects.toThrow(/not page aligned/);
    await expect(dev.bench('hmm_range_fault', 0x10000n, 4, { pagesPerCall: 4, iterations: 1, flags: ['longterm'] })).rejects.toThrow(/only "write"/);
    await dev.bench('hmm_range_fault', 0x10000n, 4, { pagesPerCall: 4, iterations: 1 });
    expect(fake.benches.at(-1)?.api).toBe(addon().abi.benchHmmRangeFault);
  });
});
