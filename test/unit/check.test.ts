// The check suite's pure parts: version ranges, expectation lookup, KTAP
// lines and the matrix.
import { describe, expect, it } from 'vitest';
import { EXPECTATIONS, expectationFor, kernelMatches, longtermGate } from '../../lib/check/expectations.js';
import { readFileSync } from 'node:fs';
import type { BenchResult } from '../../lib/bench/results.js';
import { benchMarkdown, buildBenchMatrix, buildLinesMatrix, buildMatrix, byKernel, CONSUMER_PREFIX, matrixMarkdown } from '../../lib/check/matrix.js';
import { PROBES } from '../../lib/check/probes.js';
import { fmt, parseCheckReport, renderAnswer, type CheckReport } from '../../lib/check/report.js';
import { judge, ktapCase, withProbeFrom } from '../../lib/check/run.js';

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

  it('closed ranges include their start and exclude their end', () => {
    expect(kernelMatches('[6.6,6.10)', '6.5.13')).toBe(false);
    expect(kernelMatches('[6.6,6.10)', '6.6.0')).toBe(true);
    expect(kernelMatches('[6.6,6.10)', '6.9.12')).toBe(true);
    expect(kernelMatches('[6.6,6.10)', '6.10.0')).toBe(false);
    expect(kernelMatches('[6.2, 6.3)', '6.2.16')).toBe(true);
    expect(kernelMatches('[6.1,6.6)', '5.10.0-35-amd64')).toBe(false);
    expect(() => kernelMatches('[6.10,6.6)', '6.7.0')).toThrow(/empty/);
  });
});

describe('expectations', () => {
  it('the first matching row wins, globs match whole names', () => {
    const rows = EXPECTATIONS['dax-longterm'] ?? [];
    const ret = (name: string, release: string): number | undefined => expectationFor(rows, name, release, 'x86_64')?.answer.ret;
    expect(ret('ext4/longterm/pin_user_pages_fast', '6.1.0-56-amd64')).toBe(-95);
    expect(ret('ext4/longterm/pin_user_pages_unlocked', '6.1.0-56-amd64')).toBe(-22);
    expect(ret('ext4/longterm/pin_user_pages_unlocked', '6.12.117+deb12-amd64')).toBe(-95);
    expect(ret('xfs/longterm/get_user_pages_fast_only', '6.1.0-56-amd64')).toBe(0);
    expect(ret('xfs/longterm/get_user_pages_fast_only', '6.12.117+deb12-amd64')).toBe(-22);
    expect(ret('xfs/plain/get_user_pages', '6.12.117+deb12-amd64')).toBe(16);
  });

  it('every row names the function that decides it, and every probe has rows', () => {
    for (const probe of PROBES) expect(EXPECTATIONS[probe.id]?.length, probe.id).toBeGreaterThan(0);
    for (const rows of Object.values(EXPECTATIONS)) for (const row of rows) expect(row.source).toMatch(/\w+\(\)/);
    expect(longtermGate('x/').every((r) => r.cases.startsWith('x/'))).toBe(true);
  });

  it('renders answers at the edge: return values, a second call, a note', () => {
    expect(fmt(16)).toBe('16');
    expect(fmt(0)).toBe('0');
    expect(fmt(-14)).toBe('-EFAULT');
    expect(fmt(-95)).toBe('-EOPNOTSUPP');
    expect(renderAnswer({ ret: 8, then: -14 })).toBe('8 then -EFAULT');
    expect(renderAnswer({ ret: 1, note: 'same page' })).toBe('1, same page');
    expect(renderAnswer({ note: 'balanced' })).toBe('balanced');
  });

  it('judges by value: ret, then and note must all match the row', () => {
    const v = '6.12.117+deb12-amd64';
    expect(judge('partial', { case: 'unmapped/get_user_pages', answer: { ret: 8, then: -14 } }, v, 'x86_64').status).toBe('ok');
    expect(judge('partial', { case: 'unmapped/get_user_pages', answer: { ret: 8, then: -12 } }, v, 'x86_64').status).toBe('fail');
    expect(judge('partial', { case: 'unmapped/get_user_pages', answer: { ret: 8 } }, v, 'x86_64').status).toBe('fail');
    expect(judge('force-cow', { case: 'force-anon/pin_user_pages', answer: { ret: 1, note: 'new page' } }, v, 'x86_64').status).toBe('fail');
    expect(judge('partial', { case: 'nowhere', answer: { ret: 1 } }, v, 'x86_64').status).toBe('unexpected');
    expect(judge('partial', { case: 'x', skip: 'absent' }, v, 'x86_64')).toEqual({ case: 'x', status: 'skip', skip: 'absent' });
    const remote = judge('longterm-variants', { case: 'pin_user_pages_remote', answer: { ret: -22 } }, '6.1.0-56-amd64', 'x86_64');
    expect(remote.status).toBe('ok');
    expect(remote.caller).toMatch(/locked pointer/);
  });
});

describe('KTAP', () => {
  it('ok, not ok with the expectation as diagnostics, and SKIP', () => {
    expect(ktapCase(1, { case: 'a/b', answer: { ret: 16 }, status: 'ok' })).toEqual(['ok 1 a/b # 16']);
    expect(ktapCase(2, { case: 'a b', answer: { ret: -14 }, status: 'fail', expected: { ret: 16 }, source: 'f()' })).toEqual([
      '# expected: 16',
      '# decided by: f()',
      'not ok 2 a_b # -EFAULT',
    ]);
    expect(ktapCase(3, { case: 'c', status: 'skip', skip: 'absent' })).toEqual(['ok 3 c # SKIP absent']);
    expect(ktapCase(4, { case: 'd', answer: { ret: 1 }, status: 'unexpected' })[1]).toBe('not ok 4 d # 1');
  });
  it('keeps free text to one line that cannot be read as a directive', () => {
    expect(ktapCase(5, { case: 'e', answer: { note: 'skipped 2 pages\nthen 14' }, status: 'ok' })).toEqual(['ok 5 e # observed: skipped 2 pages | then 14']);
    expect(ktapCase(6, { case: 'f', status: 'skip', skip: 'no DAX\nmount' })).toEqual(['ok 6 f # SKIP no DAX | mount']);
  });
});

describe('matrix', () => {
  const report = (release: string, moves: number): CheckReport => ({
    schemaVersion: 2,
    release,
    version: release.replace(/-.*/, ''),
    arch: 'x86_64',
    accelerator: 'TCG',
    totals: { ok: 2, fail: 0, skip: 0, unexpected: 0 },
    probes: [
      {
        id: 'p',
        title: 't',
        cases: [
          { case: 'same', answer: { ret: 16 }, status: 'ok' },
          { case: 'moves', answer: { ret: moves }, status: 'ok', ...(moves < 0 ? { caller: 'a locked pointer' } : {}) },
        ],
      },
    ],
  });

  it('marks rows whose answers differ between kernels, in bold in markdown', () => {
    const m = buildMatrix([report('6.1.0-56-amd64', -22), report('6.12.117+deb12-amd64', 16)]);
    expect(m.columns).toEqual(['6.1.0-56 x86_64', '6.12.117+deb12 x86_64']);
    expect(m.rows.map((r) => [r.case, r.changed])).toEqual([
      ['same', false],
      ['moves', true],
    ]);
    const md = matrixMarkdown(m);
    expect(md).toContain('| p | Δ moves ‡ | -EINVAL | **16** |');
    expect(md).toContain('| p | same | 16 | 16 |');
  });

  it('joins consumer reports with the module reports of the same release, module rows "no headers" on an image-only line', () => {
    const consumers = (release: string, ret: number, imageOnly?: string): CheckReport => ({
      ...report(release, 0),
      suite: 'consumers',
      ...(imageOnly ? { imageOnly } : {}),
      probes: [{ id: 'io_uring-register', title: 't', cases: [{ case: 'file-ext4', answer: { ret }, status: 'ok' }] }],
    });
    const m = buildLinesMatrix([
      consumers('7.0.13+deb13-amd64', -14, 'no linux-headers-7.0.13+deb13-amd64 in the archive'),
      report('6.12.117+deb12-amd64', 16),
      consumers('6.12.117+deb12-amd64', -14),
      consumers('6.1.0-56-amd64', -95),
      report('6.1.0-56-amd64', -22),
    ]);
    expect(m.columns).toEqual(['6.1.0-56 x86_64', '6.12.117+deb12 x86_64', '7.0.13+deb13 x86_64']);
    expect(m.rows.map((r) => [r.probe, r.case, r.cells, r.changed])).toEqual([
      ['p', 'same', ['16', '16', 'no headers'], false],
      ['p', 'moves', ['-EINVAL', '16', 'no headers'], true],
      [`${CONSUMER_PREFIX}io_uring-register`, 'file-ext4', ['-EOPNOTSUPP', '-EFAULT', '-EFAULT'], true],
    ]);
    // A line without a module report that is not image only: no answer, not "no headers".
    expect(buildLinesMatrix([consumers('7.2.12+deb13-amd64', -14)]).rows).toHaveLength(1);
    expect(buildLinesMatrix([report('7.3.4', 16), consumers('7.2.12', -14)]).rows[0]?.cells).toEqual(['', '16']);
    expect(() => buildLinesMatrix([report('7.3.4', 16), report('7.3.4', 16)])).toThrow(/two check reports of 7\.3\.4 x86_64/);
  });

  it('takes one probe from a second boot of the same kernel into a report, the totals counted again', () => {
    const main: CheckReport = {
      ...report('6.12.117+deb12-arm64', 16),
      arch: 'arm64',
      probes: [
        { id: 'p', title: 't', cases: [{ case: 'same', answer: { ret: 16 }, status: 'ok' }] },
        { id: 'cma-longterm', title: 't', cases: [{ case: '*', status: 'skip', skip: 'no CMA memory' }] },
      ],
      totals: { ok: 1, fail: 0, skip: 1, unexpected: 0 },
    };
    const cma: CheckReport = {
      ...main,
      probes: [
        {
          id: 'cma-longterm',
          title: 't',
          cases: [
            { case: 'thp/pin_user_pages', answer: { ret: 16 }, status: 'ok' },
            { case: 'hugetlb/pin_user_pages', answer: { ret: 1 }, status: 'fail' },
          ],
        },
      ],
      totals: { ok: 1, fail: 1, skip: 0, unexpected: 0 },
    };
    const merged = withProbeFrom(main, cma, 'cma-longterm', 'a second boot: cma=1800M');
    expect(merged.probes.map((p) => [p.id, p.cases.length, p.boot])).toEqual([
      ['p', 1, undefined],
      ['cma-longterm', 2, 'a second boot: cma=1800M'],
    ]);
    expect(merged.totals).toEqual({ ok: 2, fail: 1, skip: 0, unexpected: 0 });
    expect(() => withProbeFrom(main, { ...cma, release: '7.3.4+deb13-arm64' }, 'cma-longterm', 'x')).toThrow(/cannot join a report of 6\.12/);
    expect(() => withProbeFrom(main, cma, 'pfnmap', 'x')).toThrow(/has no pfnmap probe/);
  });

  it('reads only check reports of its own schema, naming the file otherwise', () => {
    const good = report('6.1.0-56-amd64', 16);
    expect(parseCheckReport(JSON.stringify(good), 'a.json')).toEqual(good);
    const v1 = { ...good, schemaVersion: 1, probes: [{ id: 'p', title: 't', cases: [{ case: 'c', observed: '16', status: 'ok' }] }] };
    expect(() => parseCheckReport(JSON.stringify(v1), 'old.json')).toThrow(/^old\.json: not a guplab check report of schema version 2 \(schemaVersion 1\)/);
    const strings = { ...good, probes: [{ id: 'p', title: 't', cases: [{ case: 'c', answer: '16', status: 'ok' }] }] };
    expect(() => parseCheckReport(JSON.stringify(strings), 'b.json')).toThrow(/^b\.json: .*answer is not/);
    expect(() => parseCheckReport('{"schema":"guplab-bench/1"}', 'bench.json')).toThrow(/^bench\.json: not a guplab check report/);
    expect(() => parseCheckReport('nope', 'c.json')).toThrow(/^c\.json: not JSON/);
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
