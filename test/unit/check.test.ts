// The check suite's pure parts: version ranges, expectation lookup, KTAP
// lines and the matrix.
import { describe, expect, it } from 'vitest';
import { EXPECTATIONS, expectationFor, kernelMatches, longtermGate } from '../../lib/check/expectations.js';
import { readFileSync } from 'node:fs';
import type { BenchResult } from '../../lib/bench/results.js';
import { benchMarkdown, buildBenchMatrix, buildMatrix, byKernel, matrixMarkdown, replaceSection } from '../../lib/check/matrix.js';
import { PROBES, fmt } from '../../lib/check/probes.js';
import { ktapCase, type CheckReport } from '../../lib/check/run.js';

describe('kernel ranges', () => {
  it('compares major.minor, not strings', () => {
    expect(kernelMatches('<6.3', '6.1.0-56-amd64')).toBe(true);
    expect(kernelMatches('<6.3', '6.12.117+deb12-amd64')).toBe(false);
    expect(kernelMatches('>=6.5', '6.12.117+deb12-amd64')).toBe(true);
    expect(kernelMatches('>=6.5', '6.4.0')).toBe(false);
    expect(kernelMatches('6.1', '6.1.0-56-arm64')).toBe(true);
    expect(kernelMatches('*', 'anything')).toBe(true);
    expect(() => kernelMatches('~6', '6.1.0')).toThrow(/bad kernel range/);
  });
});

describe('expectations', () => {
  it('the first matching row wins, globs match whole names', () => {
    const rows = EXPECTATIONS['dax-longterm'] ?? [];
    expect(expectationFor(rows, 'ext4/longterm/pin_user_pages_fast', '6.1.0-56-amd64', 'x86_64')?.answer).toBe('-EOPNOTSUPP');
    expect(expectationFor(rows, 'ext4/longterm/pin_user_pages_unlocked', '6.1.0-56-amd64', 'x86_64')?.answer).toBe('-EINVAL');
    expect(expectationFor(rows, 'ext4/longterm/pin_user_pages_unlocked', '6.12.117+deb12-amd64', 'x86_64')?.answer).toBe('-EOPNOTSUPP');
    expect(expectationFor(rows, 'xfs/longterm/get_user_pages_fast_only', '6.1.0-56-amd64', 'x86_64')?.answer).toBe('0');
    expect(expectationFor(rows, 'xfs/longterm/get_user_pages_fast_only', '6.12.117+deb12-amd64', 'x86_64')?.answer).toBe('-EINVAL');
    expect(expectationFor(rows, 'xfs/plain/get_user_pages', '6.12.117+deb12-amd64', 'x86_64')?.answer).toBe('16');
  });

  it('every row names the function that decides it, and every probe has rows', () => {
    for (const probe of PROBES) expect(EXPECTATIONS[probe.id]?.length, probe.id).toBeGreaterThan(0);
    for (const rows of Object.values(EXPECTATIONS)) for (const row of rows) expect(row.source).toMatch(/\w+\(\)/);
    expect(longtermGate('x/').every((r) => r.cases.startsWith('x/'))).toBe(true);
  });

  it('formats GUP answers the way the rows write them', () => {
    expect(fmt(16)).toBe('16');
    expect(fmt(0)).toBe('0');
    expect(fmt(-14)).toBe('-EFAULT');
    expect(fmt(-95)).toBe('-EOPNOTSUPP');
  });
});

describe('KTAP', () => {
  it('ok, not ok with the expectation as diagnostics, and SKIP', () => {
    expect(ktapCase(1, { case: 'a/b', observed: '16', status: 'ok' })).toEqual(['ok 1 a/b # 16']);
    expect(ktapCase(2, { case: 'a b', observed: '-EFAULT', status: 'fail', expected: '16', source: 'f()' })).toEqual([
      '# expected: 16',
      '# decided by: f()',
      'not ok 2 a_b # -EFAULT',
    ]);
    expect(ktapCase(3, { case: 'c', observed: 'n/a', status: 'skip', skip: 'absent' })).toEqual(['ok 3 c # SKIP absent']);
    expect(ktapCase(4, { case: 'd', observed: '1', status: 'unexpected' })[1]).toBe('not ok 4 d # 1');
  });
  it('keeps free text to one line that cannot be read as a directive', () => {
    expect(ktapCase(5, { case: 'e', observed: 'skipped 2 pages\nthen 14', status: 'ok' })).toEqual(['ok 5 e # observed: skipped 2 pages | then 14']);
    expect(ktapCase(6, { case: 'f', observed: 'x', status: 'skip', skip: 'no DAX\nmount' })).toEqual(['ok 6 f # SKIP no DAX | mount']);
  });
});

describe('matrix', () => {
  const report = (release: string, observed: string): CheckReport => ({
    schemaVersion: 1,
    release,
    arch: 'x86_64',
    accelerator: 'TCG',
    totals: { ok: 2, fail: 0, skip: 0, unexpected: 0 },
    probes: [
      {
        id: 'p',
        title: 't',
        cases: [
          { case: 'same', observed: '16', status: 'ok' },
          { case: 'moves', observed, status: 'ok' },
        ],
      },
    ],
  });

  it('marks rows whose answers differ between kernels, in bold in markdown', () => {
    const m = buildMatrix([report('6.1.0-56-amd64', '-EINVAL'), report('6.12.117+deb12-amd64', '16')]);
    expect(m.columns).toEqual(['6.1.0-56 x86_64', '6.12.117+deb12 x86_64']);
    expect(m.rows.map((r) => [r.case, r.changed])).toEqual([
      ['same', false],
      ['moves', true],
    ]);
    const md = matrixMarkdown(m);
    expect(md).toContain('| p | Δ moves | -EINVAL | **16** |');
    expect(md).toContain('| p | same | 16 | 16 |');
  });

  it('replaces only the marked README section', () => {
    const text = 'a\n<!-- matrix:start -->\nold\n<!-- matrix:end -->\nb\n';
    expect(replaceSection(text, 'matrix', 'new\n')).toBe('a\n<!-- matrix:start -->\nnew\n<!-- matrix:end -->\nb\n');
    expect(() => replaceSection('x', 'matrix', '')).toThrow(/markers/);
  });

  it('orders columns by arch, then kernel version numerically', () => {
    const runs = [
      { release: '6.12.117+deb12-arm64', arch: 'arm64' },
      { release: '6.12.117+deb12-amd64', arch: 'x86_64' },
      { release: '6.1.0-56-arm64', arch: 'arm64' },
      { release: '6.1.0-56-amd64', arch: 'x86_64' },
    ].sort(byKernel);
    expect(runs.map((r) => r.release)).toEqual(['6.1.0-56-amd64', '6.12.117+deb12-amd64', '6.1.0-56-arm64', '6.12.117+deb12-arm64']);
  });

  it('adds the short benchmark: ns/page per API and the unlocked/fast ratio per column', () => {
    const full = JSON.parse(readFileSync(new URL('../fixtures/results-6.1-x86_64-tcg.json', import.meta.url), 'utf8')) as BenchResult;
    const r: BenchResult = { ...full, cases: full.cases.filter((c) => c.sizeBytes === 2 << 20) };
    const fast = r.cases.find((c) => c.backing === 'THP' && c.api === 'get_user_pages_fast')!.totalNsPerPage!.median;
    const slow = r.cases.find((c) => c.backing === 'THP' && c.api === 'get_user_pages_unlocked')!.totalNsPerPage!.median;
    const bench = buildBenchMatrix([r, undefined])!;
    expect(bench.rows.find((x) => x.backing === 'THP' && x.api === 'get_user_pages_fast')?.cells).toEqual([fast.toFixed(fast < 10 ? 1 : 0), '']);
    expect(bench.ratios.find((x) => x.backing === 'THP')?.get).toEqual([`${(slow / fast).toFixed(1)}×`, '']);
    const md = benchMarkdown({ columns: ['6.1.0-56 x86_64', '6.12 x86_64'], rows: [], bench });
    expect(md).toContain('| THP | **get: unlocked / fast** |');
    expect(md.split('\n')[0]).toContain('6.1.0-56 x86_64 (TCG)');
    expect(buildBenchMatrix([undefined])).toBeUndefined();
  });
});
