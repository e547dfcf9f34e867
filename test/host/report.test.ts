// The HTML report in a real browser: Debian's headless chromium loads it from
// disk (no network), the charts are there as SVG with their marks, and a
// screenshot is written (results/report-test.png).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BenchResult } from '../../lib/bench/results.js';
import { renderReport } from '../../lib/bench/report.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!CHROMIUM && process.env.CI) throw new Error('chromium is missing although CI is set: scripts/deps.sh installs it');
if (!CHROMIUM) console.warn('SKIP report browser test: install chromium (scripts/deps.sh does)');

// A real result of `guplab bench --vm` (6.1, TCG), kept as a fixture.
const FIXTURE = path.resolve('test/fixtures/results-6.1-x86_64-tcg.json');

function chromium(args: string[]): string {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'guplab-chromium-'));
  return execFileSync(
    CHROMIUM as string,
    ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`, ...args],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, maxBuffer: 64 << 20 },
  );
}

describe.runIf(CHROMIUM)('report.html in headless chromium', () => {
  const result = JSON.parse(readFileSync(FIXTURE, 'utf8')) as BenchResult;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'guplab-report-'));
  const file = path.join(dir, 'report.html');
  const ok = result.cases.filter((c) => c.status === 'ok');

  it('renders the charts as inline SVG with one line per API and backing and one point per case', async () => {
    const html = await renderReport(result);
    writeFileSync(file, html);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org|vega\.github\.io)/); // nothing to fetch, nothing to run
    const dom = chromium(['--dump-dom', `file://${file}`]);
    const charts = dom.match(/<figure class="chart">[\s\S]*?<\/figure>/g) ?? [];
    expect(charts).toHaveLength(2);
    for (const chart of charts) expect(chart).toMatch(/<svg[^>]*class="marks"/);
    const [lines, bars] = charts as [string, string];
    const apis = new Set(ok.map((c) => c.api)).size;
    const backings = new Set(ok.map((c) => c.backing)).size;
    // vega: one <path> per line series; one symbol <path> per point; one <path> per bar.
    const lineGroup = /class="mark-line role-mark[^"]*"[^>]*>([\s\S]*?)<\/g>/g;
    const seriesPaths = [...lines.matchAll(lineGroup)].reduce((n, m) => n + ((m[1] ?? '').match(/<path/g) ?? []).length, 0);
    expect(seriesPaths).toBe(apis * backings);
    const symbolGroup = /class="mark-symbol role-mark[^"]*"[^>]*>([\s\S]*?)<\/g>/g;
    const points = [...lines.matchAll(symbolGroup)].reduce((n, m) => n + ((m[1] ?? '').match(/<path/g) ?? []).length, 0);
    expect(points).toBe(ok.length);
    const barGroup = /class="mark-rect role-mark[^"]*"[^>]*>([\s\S]*?)<\/g>/g;
    const barCount = [...bars.matchAll(barGroup)].reduce((n, m) => n + ((m[1] ?? '').match(/<path/g) ?? []).length, 0);
    expect(barCount).toBe(ok.filter((c) => !c.api.endsWith('_fast')).length);
    // The table lists every case.
    expect((dom.match(/<tr>/g) ?? []).length).toBe(result.cases.length + 1);
  });

  it('produces a screenshot', () => {
    mkdirSync('results', { recursive: true });
    const png = path.resolve('results/report-test.png');
    const r = spawnSync(CHROMIUM as string, ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${mkdtempSync(path.join(os.tmpdir(), 'guplab-chromium-'))}`, `--screenshot=${png}`, '--window-size=1400,1800', `file://${file}`], { timeout: 60_000 });
    expect(r.status).toBe(0);
    const head = readFileSync(png).subarray(0, 24);
    expect(head.subarray(1, 4).toString()).toBe('PNG');
    expect(head.readUInt32BE(16)).toBe(1400); // IHDR width
    expect(statSync(png).size).toBeGreaterThan(20_000); // not a blank page
  });
});

describe.runIf(CHROMIUM)('compare.html in headless chromium', () => {
  const base = JSON.parse(readFileSync(FIXTURE, 'utf8')) as BenchResult;
  // The same run with a third of the cases made 3x slower (samples scaled; 1.5x is within some cases' MDE on this TCG fixture), so every verdict kind shows.
  const next: BenchResult = {
    ...base,
    cases: base.cases.map((c, i) => (i % 3 === 0 ? { ...c, getNs: c.getNs.map((g) => g * 3), putNs: c.putNs.map((p) => p * 3) } : c)),
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'guplab-compare-'));
  const file = path.join(dir, 'compare.html');

  it('draws one CI and point per compared case, a value label per case, the threshold band, and the facts once', async () => {
    const { compareResults } = await import('../../lib/bench/compare.js');
    const { compareHtml, compareMarkdown, compareCsv } = await import('../../lib/bench/compare-report.js');
    const cmp = { base: 'A', next: 'B', ...compareResults(base, next, 0.1) };
    const html = compareHtml([cmp], { command: 'guplab compare a.json b.json', facts: ['A: 6.1 TCG', 'B: 6.1 TCG'] });
    writeFileSync(file, html);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    const dom = chromium(['--dump-dom', `file://${file}`]);
    const compared = cmp.cases.filter((c) => c.ratio !== undefined);
    expect(compared.length).toBeGreaterThan(10);
    expect((dom.match(/<circle class="point"/g) ?? []).length).toBe(compared.length);
    expect((dom.match(/<line class="ci"/g) ?? []).length).toBe(compared.length);
    expect((dom.match(/<text class="value"/g) ?? []).length).toBe(cmp.cases.length);
    expect((dom.match(/<line class="threshold"/g) ?? []).length).toBe(2);
    expect(dom).toContain('guplab compare a.json b.json');
    // The slowed third reads slower, the rest no significant change; each row names its MDE.
    expect(cmp.slower).toBe(compared.filter((_, i) => i % 3 === 0).length);
    expect(dom).toMatch(/· MDE \d+\.\d% · slower/);
    expect(dom).toMatch(/· MDE \d+\.\d% · no significant change/);
    expect(compareMarkdown([cmp]).split('\n').filter((l) => l.startsWith('| ')).length).toBe(cmp.cases.length + 1);
    expect(compareCsv([cmp]).trim().split('\n')).toHaveLength(cmp.cases.length + 1);
  });

  it('produces a screenshot', () => {
    mkdirSync('results', { recursive: true });
    const png = path.resolve('results/compare-test.png');
    const r = spawnSync(CHROMIUM as string, ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${mkdtempSync(path.join(os.tmpdir(), 'guplab-chromium-'))}`, `--screenshot=${png}`, '--window-size=1100,1400', `file://${file}`], { timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(statSync(png).size).toBeGreaterThan(20_000);
  });
});
