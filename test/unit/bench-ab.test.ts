// MDE, --mde rounds, named baselines, and both ends of the A/B round
// protocol (lib/contract.ts ROUND_FILES), on the fake device and in temp
// folders: no kernel answers here.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { baselineDir, existingBaseline, listBaselines, saveBaseline } from '../../lib/bench/baseline.js';
import { compareResults } from '../../lib/bench/compare.js';
import { mdeDriver, runBench } from '../../lib/bench/engine.js';
import { BENCH_SCHEMA, type BenchCase, type BenchResult } from '../../lib/bench/results.js';
import { hostRoundDriver, roundSamples } from '../../lib/bench/rounds.js';
import { resolveSpec } from '../../lib/bench/spec.js';
import { bootstrapRatioCI, minimumDetectableEffect, pairable, seededRandom, selfMde } from '../../lib/bench/stats.js';
import { parseRoundGo, ROUND_FILES, type RoundDone } from '../../lib/contract.js';
import { abLabels, casesAboveMde } from '../../lib/jobs/bench-ab.js';
import { comparePairs } from '../../lib/jobs/compare.js';
import { writeFileAtomic } from '../../lib/util/atomic.js';
import { UsageError } from '../../lib/util/args.js';
import { fakeDevice } from '../fake/device.js';

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'guplab-ab-'));

describe('minimum detectable effect', () => {
  it('is the wider half of the ratio CI, relative to the ratio', () => {
    expect(minimumDetectableEffect(1, [0.8, 1.1])).toBeCloseTo(0.25, 10); // 1/0.8 - 1
    expect(minimumDetectableEffect(2, [1.9, 2.4])).toBeCloseTo(0.2, 10); // 2.4/2 - 1
    expect(minimumDetectableEffect(1, [0, 2])).toBe(Number.POSITIVE_INFINITY);
  });
  it('shrinks as rounds are added to a noisy sample', () => {
    const rnd = seededRandom(5);
    // Each round has its own offset (buffer placement, host load): between-round noise dominates.
    const sample = (rounds: number): { values: number[]; rounds: number[] } => {
      const values: number[] = [];
      const rs: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const offset = 1 + 0.3 * (rnd() - 0.5);
        for (let i = 0; i < 20; i++) {
          values.push(100 * offset * (1 + 0.05 * rnd()));
          rs.push(r);
        }
      }
      return { values, rounds: rs };
    };
    const few = selfMde(sample(3));
    const many = selfMde(sample(40));
    expect(few).toBeGreaterThan(0.05);
    expect(many).toBeLessThan(few / 2);
  });
});

function mkCase(api: BenchCase['api'], total: number[], rounds?: number[]): BenchCase {
  return {
    api,
    backing: '4K',
    sizeBytes: 65536,
    pagesPerCall: 16,
    flags: [],
    prefault: true,
    id: `4K 64K ppc=16 none prefault ${api}`,
    pages: 16,
    status: 'ok',
    warmupIterations: 0,
    getNs: total.map((t) => t * 16),
    putNs: total.map(() => 0),
    round: rounds ?? total.map((_, i) => i % 5),
    wallMs: 0,
  };
}

function mkResult(cases: BenchCase[]): BenchResult {
  return {
    schema: BENCH_SCHEMA,
    createdAt: 'now',
    environment: {
      release: '6.1.0-fake',
      arch: 'x86_64',
      accelerator: 'TCG',
      cpuModel: 'QEMU',
      node: 'v20',
      pageSize: 4096,
      moduleAbi: 4,
    } as BenchResult['environment'],
    spec: resolveSpec({}),
    cases,
  };
}

describe('compare reports the MDE of every verdict', () => {
  const rnd = seededRandom(11);
  const noisy = (centre: number, spread: number): number[] => Array.from({ length: 50 }, () => centre * (1 - spread / 2 + spread * rnd()));
  it('a wide sample has a large MDE, a tight one a small MDE; the worst is reported', () => {
    const cmp = compareResults(
      mkResult([mkCase('get_user_pages_fast', noisy(100, 0.8)), mkCase('get_user_pages', noisy(500, 0.02))]),
      mkResult([mkCase('get_user_pages_fast', noisy(100, 0.8)), mkCase('get_user_pages', noisy(500, 0.02))]),
      0.1,
    );
    const [wide, tight] = cmp.cases;
    expect(wide?.mde).toBeGreaterThan(0.1);
    expect(tight?.mde).toBeLessThan(0.05);
    expect(cmp.worstMde).toBe(wide?.mde);
  });
});

describe('bench --mde on the fake device', () => {
  // Per round a different speed (as a shared host gives): between-round noise that only more rounds average out.
  const roundNoise = () => {
    const rnd = seededRandom(9);
    return fakeDevice({
      bench: (r) => {
        const scale = 1 + 0.4 * (rnd() - 0.5); // warmup 0: one call per case and round
        return { getNs: Array.from({ length: r.iterations }, () => 1000 * r.nrPages * scale * (1 + 0.01 * rnd())), putNs: new Array(r.iterations).fill(0) };
      },
    });
  };
  const spec = (over: object) =>
    resolveSpec({ apis: ['get_user_pages_fast', 'pin_user_pages'], backings: ['4K'], sizes: ['64K'], rounds: 3, iterations: 30, warmup: 0, ...over });

  it('without --mde: exactly spec.rounds rounds', async () => {
    const { dev } = roundNoise();
    const r = await runBench(spec({}), { dev });
    expect(r.run?.rounds).toBe(3);
    expect(r.cases.every((c) => c.mde !== undefined && c.mde > 0)).toBe(true);
  });
  it('with --mde: more rounds only while some case is above the target, then says why it stopped', async () => {
    const { dev, fake } = roundNoise();
    const r = await runBench(spec({ mde: 0.1, budgetSec: 60 }), { dev });
    expect(r.run?.rounds).toBeGreaterThan(3);
    expect(r.run?.stoppedBy).toMatch(/every case at MDE <= 10%/);
    // The MDE results.json reports is the one the driver stopped on.
    expect(r.cases.every((c) => (c.mde ?? 1) <= 0.1)).toBe(true);
    expect(fake.benches.length).toBeLessThanOrEqual((r.run?.rounds ?? 0) * 2);
  });
  it('stops at the budget, and says so', async () => {
    let t = 0;
    const driver = mdeDriver(spec({ mde: 0.0001, budgetSec: 5 }), () => (t += 2000));
    const { dev } = roundNoise();
    const r = await runBench(spec({ mde: 0.0001, budgetSec: 5 }), { dev, rounds: driver });
    expect(r.run?.stoppedBy).toMatch(/^budget spent with \d case\(s\) above MDE 0%/);
    expect(r.run?.rounds).toBeLessThan(10);
  });
  it('refuses budgetSec without mde', () => {
    expect(() => resolveSpec({ budgetSec: 10 })).toThrow(/give mde too/);
  });
});

describe('named baselines', () => {
  it('saves, lists and finds a baseline; names a missing one with the command that makes it', () => {
    const dir = tmp();
    expect(() => existingBaseline(dir, 'v1')).toThrow(/no baseline "v1" .*none saved.*guplab bench --save-baseline v1/);
    const file = saveBaseline(dir, 'v1', mkResult([mkCase('get_user_pages_fast', [1, 2, 3])]));
    expect(file).toBe(path.join(dir, 'baselines', 'v1', 'results.json'));
    expect(JSON.parse(readFileSync(file, 'utf8')).environment.release).toBe('6.1.0-fake');
    expect(listBaselines(dir)).toEqual(['v1']);
    expect(existingBaseline(dir, 'v1')).toBe(file);
    expect(() => existingBaseline(dir, 'v2')).toThrow(/saved: v1/);
  });
  it('refuses a name that is not a plain file name', () => {
    for (const bad of ['../x', 'a/b', '', '.hidden']) expect(() => baselineDir('results', bad)).toThrow(UsageError);
  });
  it('compare: one file with --baseline, two files, or one ab.json; anything else names the forms', () => {
    const dir = tmp();
    saveBaseline(dir, 'main', mkResult([]));
    expect(comparePairs(['new.json'], { baseline: 'main', resultsDir: dir })).toEqual({
      kind: 'files',
      base: path.join(dir, 'baselines', 'main', 'results.json'),
      next: 'new.json',
    });
    expect(comparePairs(['a.json', 'b.json'], { resultsDir: dir })).toEqual({ kind: 'files', base: 'a.json', next: 'b.json' });
    expect(() => comparePairs(['a.json', 'b.json'], { baseline: 'main', resultsDir: dir })).toThrow(/give exactly one file/);
    expect(() => comparePairs(['nosuch.json'], { resultsDir: dir })).toThrow(/not an A\/B run's ab.json/);
  });
});

describe('A/B round protocol', () => {
  it('parses go files and names a bad one', () => {
    expect(parseRoundGo('{"round":2,"cases":["a"]}', 'go-2.json')).toEqual({ round: 2, cases: ['a'] });
    expect(parseRoundGo('{"round":3,"stop":true}', 'go-3.json')).toEqual({ round: 3, stop: true });
    expect(() => parseRoundGo('{"round":"x"}', 'go-0.json')).toThrow(/go-0.json is not \{round, cases\?\}/);
    expect(() => parseRoundGo('{', 'go-0.json')).toThrow(/not JSON/);
  });

  it("the guest side waits for each go, runs the cases it names, hands back that round's samples, and stops", async () => {
    const dir = tmp();
    const { dev } = fakeDevice();
    const spec = resolveSpec({ apis: ['get_user_pages_fast', 'pin_user_pages'], backings: ['4K'], sizes: ['64K'], rounds: 1, iterations: 4, warmup: 0 });
    const running = runBench(spec, { dev, rounds: hostRoundDriver(dir, 1) });
    const waitFor = async (name: string): Promise<string> => {
      while (!existsSync(path.join(dir, name))) await new Promise((r) => setTimeout(r, 2));
      return readFileSync(path.join(dir, name), 'utf8');
    };
    expect((await waitFor(ROUND_FILES.ready)).trim()).toBe('2');
    writeFileAtomic(path.join(dir, ROUND_FILES.go(0)), JSON.stringify({ round: 0 }));
    const d0 = JSON.parse(await waitFor(ROUND_FILES.done(0))) as RoundDone;
    expect(d0.cases.map((c) => [c.id.split(' ').pop(), c.getNs.length])).toEqual([
      ['get_user_pages_fast', 4],
      ['pin_user_pages', 4],
    ]);
    const pinId = d0.cases[1]?.id as string;
    writeFileAtomic(path.join(dir, ROUND_FILES.go(1)), JSON.stringify({ round: 1, cases: [pinId] }));
    const d1 = JSON.parse(await waitFor(ROUND_FILES.done(1))) as RoundDone;
    expect(d1.cases.map((c) => c.id)).toEqual([pinId]);
    writeFileAtomic(path.join(dir, ROUND_FILES.go(2)), JSON.stringify({ round: 2, stop: true }));
    const r = await running;
    expect(r.run?.rounds).toBe(2);
    expect(r.cases.map((c) => c.getNs.length)).toEqual([4, 8]);
    expect(roundSamples(r.cases, 1, new Set([pinId]))[0]?.getNs).toHaveLength(4);
  });

  it('the host side picks the cases whose A/B MDE is above the target', () => {
    const rnd = seededRandom(2);
    const s = (spread: number) => ({
      values: Array.from({ length: 60 }, () => 100 * (1 - spread / 2 + spread * rnd())),
      rounds: Array.from({ length: 60 }, (_, i) => i % 6),
    });
    const a = new Map([
      ['tight', s(0.01)],
      ['wide', s(1)],
    ]);
    const b = new Map([
      ['tight', s(0.01)],
      ['wide', s(1)],
    ]);
    const { above, worst } = casesAboveMde([a, b], 0.1);
    expect(above).toEqual(['wide']);
    expect(worst).toBeGreaterThan(0.1);
  });

  it('an interleaved pair resampled by rounds cancels the host load both guests shared', () => {
    const rnd = seededRandom(9);
    // Round r of A and of B ran back to back: one load factor each round (up to 2x), 3% noise within.
    const load = Array.from({ length: 12 }, () => 1 + rnd());
    const side = (centre: number) => {
      const values: number[] = [];
      const rounds: number[] = [];
      load.forEach((l, r) => {
        for (let i = 0; i < 10; i++) {
          values.push(centre * l * (1 + 0.03 * (rnd() - 0.5)));
          rounds.push(r);
        }
      });
      return { values, rounds };
    };
    const a = side(100);
    const b = side(100);
    const apart = bootstrapRatioCI(a, b);
    const paired = bootstrapRatioCI(a, b, { paired: true });
    expect(apart.paired).toBe(false);
    expect(paired.paired).toBe(true);
    const mdeApart = minimumDetectableEffect(apart.ratio, apart.ci95);
    const mdePaired = minimumDetectableEffect(paired.ratio, paired.ci95);
    expect(mdeApart).toBeGreaterThan(0.1);
    expect(mdePaired).toBeLessThan(0.05);
    // A real 20% slowdown of B stays visible, paired: the CI sits above 1.1.
    const slower = bootstrapRatioCI(a, { ...b, values: b.values.map((v) => v * 1.2) }, { paired: true });
    expect(slower.ci95[0]).toBeGreaterThan(1.1);
    // Rounds that do not match are not paired: each side is resampled apart.
    expect(pairable(a, { ...b, rounds: b.rounds.map((r) => r + 1) })).toBe(false);
    expect(bootstrapRatioCI(a, { ...b, rounds: b.rounds.map((r) => r + 1) }, { paired: true }).paired).toBe(false);
  });

  it('labels the guests by letter, a kernel given twice included', () => {
    expect(abLabels(['6.1', '6.1'])).toEqual([
      { label: 'A 6.1', folder: 'A-6.1' },
      { label: 'B 6.1', folder: 'B-6.1' },
    ]);
  });
});

describe('prepared calls (GupDevice.prepare) on the fake device', () => {
  const PAGE = 4096n;
  it('validates once, then each run() is one PIN with the same request; times readable after', () => {
    const { dev, fake } = fakeDevice({ pin: (r) => ({ ret: r.nrPages, getNs: 70, putNs: 30, handle: 0 }) });
    const p = dev.prepare('pin_user_pages_fast', 16n * PAGE, 2, { flags: ['write'] });
    expect(fake.pins).toHaveLength(0);
    expect(p.run()).toBe(2);
    expect(p.run()).toBe(2);
    expect([p.getNs, p.putNs]).toEqual([70, 30]);
    expect(fake.pins).toHaveLength(2);
    expect(fake.pins[0]).toMatchObject({ addr: 16n * PAGE, nrPages: 2, hold: false });
    expect(fake.pins[0]).toEqual(fake.pins[1]);
  });
  it('refuses what pin() refuses, and hold or facts', () => {
    const { dev } = fakeDevice();
    expect(() => dev.prepare('pin_user_pages_fast', PAGE + 1n, 1)).toThrow(/not page aligned/);
    expect(() => dev.prepare('pin_user_pages_remote', PAGE, 1)).toThrow(/needs the target's pid/);
    expect(() => dev.prepare('pin_user_pages_fast', PAGE, 1, { hold: true } as never)).toThrow(/no hold or facts/);
  });
  it('a prepared call on a closed device throws ClosedError; pin() still validates a bad flag after a good call', () => {
    const { dev } = fakeDevice();
    const p = dev.prepare('get_user_pages_fast', PAGE, 1);
    dev.pin('get_user_pages_fast', PAGE, 1);
    expect(() => dev.pin('get_user_pages_fast', PAGE, 1, { flags: ['bogus' as never] })).toThrow(/bogus/);
    dev.close();
    expect(() => p.run()).toThrow(/device is closed/);
    expect(() => dev.pin('get_user_pages_fast', PAGE, 1)).toThrow(/device is closed/);
  });
});
