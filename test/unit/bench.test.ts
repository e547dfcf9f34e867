import { describe, expect, it } from 'vitest';
import { compareResults } from '../../lib/bench/compare.js';
import { BENCH_SCHEMA, selectRounds, type BenchCase, type BenchResult } from '../../lib/bench/results.js';
import { caseId, DEFAULT_SPEC, expandCases, parseSize, resolveSpec } from '../../lib/bench/spec.js';
import { bootstrapMedianCI, bootstrapRatioCI, seededRandom, summarize } from '../../lib/bench/stats.js';
import { benchTable } from '../../lib/bench/table.js';
import { judgeFacts, judgeFaultIn } from '../../lib/bench/verify.js';
import type { PageFacts } from '../../lib/device.js';

describe('summarize', () => {
  it('gives median, percentiles, MAD and a CI that contains the median', () => {
    const s = summarize([1, 2, 3, 4, 100]);
    expect(s).toMatchObject({ n: 5, median: 3, mad: 1 });
    expect(s.p5).toBeGreaterThanOrEqual(1);
    expect(s.p5).toBeLessThan(2);
    expect(s.p95).toBeGreaterThan(4);
    expect(s.ci95[0]).toBeLessThanOrEqual(3);
    expect(s.ci95[1]).toBeGreaterThanOrEqual(3);
  });
  it('refuses an empty sample', () => {
    expect(() => summarize([])).toThrow(RangeError);
  });
});

describe('bootstrap', () => {
  const rnd = seededRandom(7);
  const xs = Array.from({ length: 101 }, () => 100 + rnd() * 20);
  it('is reproducible (seeded)', () => {
    expect(bootstrapMedianCI(xs)).toEqual(bootstrapMedianCI(xs));
    // The seed matters (few resamples, so the percentiles fall on different resamples).
    expect(bootstrapMedianCI(xs, 1, 20)).not.toEqual(bootstrapMedianCI(xs, 2, 20));
  });
  it('the CI of the median of a uniform sample is narrow around its centre', () => {
    const [lo, hi] = bootstrapMedianCI(xs);
    expect(lo).toBeGreaterThan(105);
    expect(hi).toBeLessThan(115);
    expect(hi - lo).toBeLessThan(6);
  });
  it('the ratio CI of a sample to itself contains 1; of a doubled sample, 2', () => {
    const same = bootstrapRatioCI(xs, xs);
    expect(same.ratio).toBe(1);
    expect(same.ci95[0]).toBeLessThan(1);
    expect(same.ci95[1]).toBeGreaterThan(1);
    const doubled = bootstrapRatioCI(
      xs,
      xs.map((x) => 2 * x),
    );
    expect(doubled.ratio).toBeCloseTo(2, 10);
    expect(doubled.ci95[0]).toBeLessThan(2);
    expect(doubled.ci95[0]).toBeGreaterThan(1.8);
  });
});

describe('spec', () => {
  it('defaults reproduce the headline: fast, unlocked, locked for get and pin, 4K and THP', () => {
    const spec = resolveSpec({});
    expect(spec.apis).toHaveLength(6);
    expect(spec.backings).toEqual(['4K', 'THP']);
    expect(expandCases(spec, 4096)).toHaveLength(6 * 2 * DEFAULT_SPEC.sizes.length);
  });
  it('parses sizes and selects a slice', () => {
    expect(parseSize('64K')).toBe(65536);
    expect(parseSize('16MiB')).toBe(16 << 20);
    const spec = resolveSpec({
      apis: ['pin_user_pages_fast'],
      sizes: ['1M', 8192],
      pagesPerCall: ['all', 16],
      flags: [[], ['write', 'longterm']],
      prefault: [true, false],
    });
    const cases = expandCases(spec, 4096);
    // 8192 bytes are 2 pages: ppc 16 is clamped to 2, the same cell as "all".
    expect(cases).toHaveLength(2 * (2 + 1) * 2 * 2);
    expect(cases.map(caseId)).toContain('4K 1M ppc=16 longterm|write fault pin_user_pages_fast');
    expect(new Set(cases.map(caseId)).size).toBe(cases.length);
  });
  it('rejects bad specs naming the field', () => {
    expect(() => resolveSpec({ apis: ['gup_fast'] })).toThrow(/apis/);
    expect(() => resolveSpec({ sizes: ['lots'] })).toThrow(/sizes/);
    expect(() => resolveSpec({ backing: ['4K'] })).toThrow(/backing/);
    expect(() => resolveSpec({ minSamples: 50, maxSamples: 10 })).toThrow(/minSamples/);
  });
});

function mkCase(api: BenchCase['api'], getNs: number[], putNs: number[] = getNs.map(() => 0)): BenchCase {
  const key = { api, backing: '4K' as const, sizeBytes: 40960, pagesPerCall: 10, flags: [], prefault: true };
  const pages = 10;
  return {
    ...key,
    id: caseId(key),
    pages,
    status: 'ok',
    warmupIterations: 1,
    getNs,
    putNs,
    round: getNs.map((_, i) => i % 2),
    getNsPerPage: summarize(getNs.map((x) => x / pages)),
    putNsPerPage: summarize(putNs.map((x) => x / pages)),
    totalNsPerPage: summarize(getNs.map((x, i) => (x + (putNs[i] ?? 0)) / pages)),
    pagesPerSec: 1,
    wallMs: 1,
  };
}

function mkResult(cases: BenchCase[]): BenchResult {
  return {
    schema: BENCH_SCHEMA,
    createdAt: '2026-01-01T00:00:00Z',
    environment: { release: '6.1.0-56-amd64', arch: 'x86_64', accelerator: 'TCG', cpuModel: 'cpu', cpus: 2, node: 'v20', pageSize: 4096, moduleAbi: 2 },
    spec: resolveSpec({ iterations: 3 }),
    cases,
  };
}

describe('table', () => {
  const result = mkResult([
    mkCase('get_user_pages_fast', [100, 100, 100]),
    mkCase('get_user_pages_unlocked', [500, 500, 500], [100, 100, 100]),
    {
      ...mkCase('pin_user_pages_unlocked', [1]),
      status: 'refused',
      error: 'EINVAL',
      getNsPerPage: undefined,
      putNsPerPage: undefined,
      totalNsPerPage: undefined,
      pagesPerSec: undefined,
    },
  ]);
  const text = benchTable(result);
  it('shows the ratio to the fast API of the same family', () => {
    expect(text).toMatch(/get_user_pages_unlocked .*│ +6\.00 │/);
    expect(text).toMatch(/get_user_pages_fast .*│ +1\.00 │/);
  });
  it('reports a kernel refusal with its errno, and labels TCG figures as emulated', () => {
    expect(text).toContain('kernel answered EINVAL');
    expect(text).toContain('on TCG (emulated CPU');
  });
});

describe('compare verdicts', () => {
  const rnd = seededRandom(3);
  const noisy = (centre: number): number[] => Array.from({ length: 40 }, () => centre * (0.9 + 0.2 * rnd()));
  const base = mkResult([mkCase('get_user_pages_fast', noisy(1000)), mkCase('get_user_pages', noisy(5000))]);
  it('a sample against a same-distribution sample: no significant change', () => {
    const next = mkResult([mkCase('get_user_pages_fast', noisy(1000)), mkCase('get_user_pages', noisy(5000))]);
    const cmp = compareResults(base, next, 0.1);
    expect(cmp.cases.map((c) => c.verdict)).toEqual(['no significant change', 'no significant change']);
  });
  it('flags a 50% slowdown and a 2x speed-up beyond a 10% threshold, and unmatched cases', () => {
    const next = mkResult([mkCase('get_user_pages_fast', noisy(1500)), mkCase('get_user_pages', noisy(2500)), mkCase('pin_user_pages', noisy(10))]);
    const cmp = compareResults(base, next, 0.1);
    expect(cmp.cases.map((c) => c.verdict)).toEqual(['slower', 'faster', 'not comparable']);
    expect(cmp.slower).toBe(1);
    expect(cmp.cases[0]?.ratio).toBeGreaterThan(1.3);
    expect(cmp.compared).toBe(2);
    expect(cmp.warnings).toEqual([]);
  });
  it('counts nothing comparable when no case ran in both, and warns about a different accelerator', () => {
    const other = mkResult([mkCase('pin_user_pages', noisy(10))]);
    other.environment = { ...other.environment, accelerator: 'KVM' };
    const cmp = compareResults(base, other, 0.1);
    expect(cmp.compared).toBe(0);
    expect(cmp.cases.map((c) => c.verdict)).toEqual(['not comparable', 'not comparable', 'not comparable']);
    expect(cmp.warnings).toEqual([expect.stringMatching(/^accelerator differs \(base TCG, new KVM\)/)]);
  });
});

describe('selectRounds', () => {
  it('keeps the samples of the chosen rounds and recomputes the summaries', () => {
    const c = mkCase('get_user_pages_fast', [10, 1000, 10, 1000, 10, 1000]);
    const result = mkResult([c]);
    const even = selectRounds(result, (r) => r % 2 === 0);
    expect(even.cases[0]?.getNs).toEqual([10, 10, 10]);
    expect(even.cases[0]?.round).toEqual([0, 0, 0]);
    expect(even.cases[0]?.getNsPerPage?.median).toBe(1);
    expect(result.cases[0]?.getNs).toHaveLength(6);
  });
});

describe('verify (bench --verify)', () => {
  const page = (pfn: number, o: Partial<PageFacts> = {}): PageFacts => ({
    pfn: BigInt(pfn),
    pfnBefore: BigInt(pfn),
    kinds: ['anon'],
    folioOrder: 0,
    refcount: 2,
    pincount: -1,
    zone: 'Normal',
    longtermPinnable: true,
    maybeDmaPinned: false,
    zoneMovable: false,
    pfnChanged: false,
    ...o,
  });
  const get = { api: 'get_user_pages_fast' as const, flags: [], prefault: true };
  const pin = { api: 'pin_user_pages' as const, flags: [], prefault: true };
  it("passes the buffer's own pages, pinned once each", () => {
    expect(judgeFacts(get, [page(10), page(11)])).toEqual([]);
    expect(judgeFacts(pin, [page(10, { refcount: 1026 }), page(11, { refcount: 1025 })])).toEqual([]);
    // A 2 MiB folio (order 9) of which the call took 3 pages: pincount 3.
    expect(
      judgeFacts(
        pin,
        [0, 1, 2].map((i) => page(512 + i, { folioOrder: 9, pincount: 3, refcount: 600 })),
      ),
    ).toEqual([]);
  });
  it('fails a page that is not the one mapped, a pfn twice, a pin left behind or missing, a get counted as a pin', () => {
    expect(judgeFacts(get, [page(10, { pfnBefore: 99n })])[0]).toMatch(/^same: page 0: took pfn 0xa, the buffer mapped 0x63/);
    expect(judgeFacts(get, [page(10), page(10)])[0]).toMatch(/^distinct: page 1/);
    expect(judgeFacts(pin, [page(10, { refcount: 2050 })])[0]).toMatch(/^pinned: page 0: refcount 2050: 2 pins counted, this call pinned 1/);
    expect(judgeFacts(pin, [page(10, { refcount: 3 })])[0]).toMatch(/^pinned: page 0: refcount 3: 0 pins/);
    expect(judgeFacts(pin, [page(512, { folioOrder: 9, pincount: 2 })])[0]).toMatch(/^pinned: page 0: folio pincount 2, this call pinned 1/);
    expect(judgeFacts(get, [page(10, { refcount: 1030 })])[0]).toMatch(/^notPinned: page 0: refcount 1030/);
    expect(judgeFacts(get, [page(512, { folioOrder: 9, pincount: 1 })])[0]).toMatch(/^notPinned: page 0: folio pincount 1/);
  });
  it('allows FOLL_LONGTERM to migrate, and the shared zero page of a read fault-in to count no pins', () => {
    expect(judgeFacts({ ...pin, flags: ['longterm'] }, [page(10, { pfnBefore: 99n, refcount: 1025 })])).toEqual([]);
    expect(judgeFacts({ ...pin, prefault: false }, [page(7, { refcount: 5 }), page(7, { refcount: 5 })])).toEqual([]);
  });
  it("fault-in: the second call must find the first call's pages mapped; the shared zero page (special PTE, lookup 0) is no failure", () => {
    const fault = { ...get, prefault: false };
    const first = [page(10, { pfnBefore: 0n }), page(11, { pfnBefore: 0n })];
    expect(judgeFaultIn(fault, first, [page(10), page(11)])).toEqual([]);
    expect(judgeFaultIn(fault, first, [page(10), page(12, { pfnBefore: 12n })])[0]).toMatch(/^faultIn: page 1: first call took pfn 0xb, now mapped 0xc/);
    expect(judgeFaultIn(fault, first, [page(10), page(11, { pfnBefore: 0n })])[0]).toMatch(/^faultIn: page 1: .* now mapped 0x0/);
    const zero = [page(0xd510, { pfnBefore: 0n }), page(0xd510, { pfnBefore: 0n })];
    expect(judgeFaultIn(fault, zero, zero)).toEqual([]);
  });
  it('shows in the table: a verify column and the failures below it', () => {
    const ok = mkCase('get_user_pages_fast', [100, 100, 100]);
    const bad = mkCase('pin_user_pages', [300, 300, 300]);
    const result = mkResult([
      { ...ok, verify: { ok: true, pages: 16, checks: [], failures: [] } },
      { ...bad, verify: { ok: false, pages: 16, checks: [], failures: ['pinned: page 3: refcount 2049: 2 pins counted, this call pinned 1'] } },
    ]);
    const text = benchTable(result);
    expect(text).toMatch(/│ verify │/);
    expect(text).toMatch(/pin_user_pages .*│ FAILED │/);
    expect(text).toContain('verify: 1 of 2 cases ok');
    expect(text).toContain(`verify FAILED ${bad.id}:\n  pinned: page 3`);
    expect(benchTable(mkResult([ok]))).not.toContain('verify');
  });
});
