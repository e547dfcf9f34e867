// The benchmark engine and compare on a real kernel: refusals are results
// with their errno; two runs of the same kernel and module (A/A) show no
// significant change for >= 95% of cases; a slowdown injected through the
// module's debug-only bench_delay_ns parameter is flagged, also by the CLI's
// exit status.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limit, SLOW } from '../limits.js';
import { BACKING_NAMES } from '../../lib/bench/backings.js';
import type { Comparison } from '../../lib/bench/compare.js';
import { runBench } from '../../lib/bench/engine.js';
import { guestMounts } from '../../lib/contract.js';
import { selectRounds, type BenchResult } from '../../lib/bench/results.js';
import { resolveSpec } from '../../lib/bench/spec.js';
import { GupDevice } from '../../lib/index.js';
import { hugetlbPools } from '../../lib/mapping.js';
import { runChild } from './child.js';
import { hasDevice } from './device.js';

const DELAY_PARAM = '/sys/module/guplab/parameters/bench_delay_ns';
const dir = mkdtempSync(path.join(os.tmpdir(), 'guplab-bench-test-'));

function save(name: string, result: BenchResult): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(result));
  return file;
}

async function compareCli(base: string, next: string): Promise<{ status: number | null; stdout: string }> {
  const r = await runChild(process.execPath, ['bin/guplab.js', 'compare', '--threshold', '10', base, next]);
  return { status: r.status, stdout: r.stdout + r.stderr };
}

/**
 * compareResults in a child process: its bootstrap takes seconds of CPU on a
 * host and over a minute under TCG, and in the test worker that would block
 * the event loop past vitest's 60 s worker RPC timeout.
 */
async function compareJson(base: string, next: string): Promise<Comparison> {
  const r = await runChild(process.execPath, ['bin/guplab.js', 'compare', '--json', '--threshold', '10', base, next]);
  expect([0, 1], r.stderr).toContain(r.status); // 1: a significant slowdown
  return JSON.parse(r.stdout) as Comparison;
}

describe.runIf(hasDevice)('bench engine', () => {
  let dev: GupDevice;
  beforeAll(() => {
    dev = GupDevice.open();
  });
  afterAll(() => dev?.close());

  it('runs a slice of the matrix; kernel refusals are results with their errno, not failures', async () => {
    const spec = resolveSpec({
      apis: ['get_user_pages_fast', 'pin_user_pages_fast', 'get_user_pages_fast_only', 'pin_user_pages'],
      backings: ['4K'],
      sizes: ['64K'],
      pagesPerCall: ['all', 4],
      flags: [[], ['longterm']],
      prefault: [true, false],
      iterations: 5,
      warmup: 1,
    });
    const r = await runBench(spec, { dev });
    expect(r.cases).toHaveLength(4 * 2 * 2 * 2);
    const find = (api: string, flags: string, prefault: boolean, ppc: number) =>
      r.cases.find((c) => c.api === api && c.flags.join('|') === flags && c.prefault === prefault && c.pagesPerCall === ppc);
    for (const c of r.cases.filter((x) => x.status === 'ok')) {
      expect(c.getNs).toHaveLength(5);
      expect(c.putNs).toHaveLength(5);
      expect(c.getNs.every((ns) => ns > 0)).toBe(true);
      expect(c.getNsPerPage?.median).toBeGreaterThan(0);
      expect(c.pagesPerSec).toBeGreaterThan(0);
    }
    // Every kernel refuses FOLL_LONGTERM for get_user_pages_fast (6.1 and 6.12).
    expect(find('get_user_pages_fast', 'longterm', true, 16)).toMatchObject({ status: 'refused', error: 'EINVAL', ret: -22 });
    // GUP-fast-only faults nothing in: 0 pages of an untouched buffer.
    expect(find('get_user_pages_fast_only', '', false, 16)).toMatchObject({ status: 'refused', error: 'short: 0 of 16 pages', ret: 0 });
    expect(find('pin_user_pages', 'longterm', false, 4)?.status).toBe('ok');
    expect(find('pin_user_pages_fast', '', true, 4)?.status).toBe('ok');
  });

  it(
    'runs every backing the guest provides; the others are reported as not run, with the reason',
    async () => {
      const spec = resolveSpec({
        apis: ['pin_user_pages_fast', 'get_user_pages'],
        backings: [...BACKING_NAMES],
        sizes: ['2M'],
        prefault: [true, false],
        iterations: 4,
        rounds: 2,
        warmup: 1,
      });
      const r = await runBench(spec, { dev });
      expect(r.cases).toHaveLength(2 * BACKING_NAMES.length * 2);
      const mounts = guestMounts();
      const free2M = hugetlbPools().get(2 << 20)?.free ?? 0;
      const expected: Record<string, boolean> = {
        '4K': true,
        THP: true,
        memfd: true,
        hugetlb: free2M >= 1,
        file: mounts.some((m) => !m.dax),
        dax: mounts.some((m) => m.dax),
      };
      for (const c of r.cases) {
        if (expected[c.backing]) {
          expect(c, c.id).toMatchObject({ status: 'ok' });
          expect(c.getNs).toHaveLength(4);
          expect(new Set(c.round)).toEqual(new Set([0, 1]));
        } else {
          expect(c.status, c.id).toBe('unavailable');
          expect(c.error).toMatch(/--dir|--hugepages|huge pages|hugepages/);
        }
      }
      // A folder that does not exist: the mapping's own error, as the case's answer.
      const missing = await runBench(
        resolveSpec({ apis: ['pin_user_pages_fast'], backings: ['file'], sizes: ['64K'], iterations: 2, rounds: 1, dir: '/nonexistent-guplab' }),
        { dev },
      );
      expect(missing.cases[0]).toMatchObject({ status: 'unavailable' });
      expect(missing.cases[0]?.error).toMatch(/ENOENT|no such file/i);
    },
    limit(300_000),
  );

  describe('compare', () => {
    // 24 cases: the headline APIs, 4K and THP, two sizes; adaptive sample counts.
    const spec = resolveSpec({ sizes: ['64K', '1M'], targetMs: 60, minSamples: 30, maxSamples: 100 });
    let a: BenchResult;

    it(
      'A/A: two interleaved runs of the same kernel and module show no significant change for >= 95% of cases',
      async () => {
        // One run of 10 rounds; its even and odd rounds are the two runs. Interleaved, because on a
        // shared host a change of load shifts a whole sequential run (2x seen on this 2-core machine).
        a = await runBench(resolveSpec({ ...spec, rounds: 10 }), { dev });
        const even = selectRounds(a, (r) => r % 2 === 0);
        const odd = selectRounds(a, (r) => r % 2 === 1);
        const [evenFile, oddFile] = [save('even.json', even), save('odd.json', odd)];
        const cmp = await compareJson(evenFile, oddFile);
        const comparable = cmp.cases.filter((c) => c.verdict !== 'not comparable');
        expect(comparable).toHaveLength(24);
        const flagged = comparable.filter((c) => c.verdict !== 'no significant change');
        if (flagged.length)
          console.log(`A/A flagged: ${flagged.map((c) => `${c.id} ${c.ratio?.toFixed(2)} [${c.ci95?.map((x) => x.toFixed(2)).join(', ')}]`).join('; ')}`);
        expect(cmp.unchanged / comparable.length).toBeGreaterThanOrEqual(0.95);
        const cli = await compareCli(evenFile, oddFile);
        expect(cli.stdout).toContain('no significant change');
        expect(cli.status).toBe(cmp.slower > 0 ? 1 : 0);
      },
      limit(600_000),
    );

    it(
      'bench_delay_ns (debug only) injects a slowdown per batch that compare flags, exiting 1',
      async () => {
        expect(existsSync(DELAY_PARAM)).toBe(true);
        const slowSpec = resolveSpec({ ...spec, apis: ['get_user_pages_fast', 'pin_user_pages'], sizes: ['64K'] });
        const base = a ?? (await runBench(spec, { dev }));
        // 50 us per batch (one batch per iteration here); ten times that on a debug
        // kernel, whose own per-page times and noise are about ten times larger.
        const delayNs = SLOW > 1 ? 500_000 : 50_000;
        writeFileSync(DELAY_PARAM, String(delayNs));
        let slow: BenchResult;
        try {
          expect(readFileSync(DELAY_PARAM, 'utf8').trim()).toBe(String(delayNs));
          slow = await runBench(slowSpec, { dev });
        } finally {
          writeFileSync(DELAY_PARAM, '0');
        }
        const [baseFile, slowFile] = [save('base.json', base), save('slow.json', slow)];
        const cmp = await compareJson(baseFile, slowFile);
        const judged = cmp.cases.filter((c) => c.verdict !== 'not comparable');
        expect(judged).toHaveLength(4); // 2 APIs x 2 backings at 64K
        for (const c of judged) {
          expect(c.verdict).toBe('slower');
          // 50 us over 16 pages adds 3125 ns/page to each case; the base's own noise blurs it under TCG.
          expect((c.newMedian ?? 0) - (c.baseMedian ?? 0)).toBeGreaterThan(delayNs / 16 / 2);
        }
        const cli = await compareCli(baseFile, slowFile);
        expect(cli.status).toBe(1);
        expect(cli.stdout).toMatch(/4 slower/);
      },
      limit(600_000),
    );
  });
});
