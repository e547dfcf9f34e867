// The HTML report in a real browser: Debian's headless chromium loads it from
// disk (no network), the charts are there as SVG with their marks, and a
// screenshot is written (results/report-test.png).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BenchResult } from '../../lib/bench/results.js';
import { benchCsv, benchMarkdown, renderReport, samplesCsv } from '../../lib/bench/report.js';
import { fastRatio } from '../../lib/bench/results.js';
import { quantile } from 'simple-statistics';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!CHROMIUM && process.env.CI) throw new Error('chromium is missing although CI is set: scripts/deps.sh installs it');
if (!CHROMIUM) console.warn('SKIP report browser test: install chromium (scripts/deps.sh does)');

// A real result of `guplab bench --vm` (6.1, TCG), kept as a fixture.
const FIXTURE = path.resolve('test/fixtures/results-6.1-x86_64-tcg.json');

function chromium(args: string[]): string {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'guplab-chromium-'));
  return execFileSync(CHROMIUM as string, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
    maxBuffer: 64 << 20,
  });
}

/** The <path>/<text> elements of a vega mark group (class "mark-KIND role-mark ..."), summed over the chart's facets. */
function markElements(svg: string, kind: string, layer?: number): string[] {
  const re = new RegExp(`class="mark-${kind} role-mark[^"]*${layer === undefined ? '' : `child_layer_${layer}_marks`}[^"]*"[^>]*>([\\s\\S]*?)</g>`, 'g');
  return [...svg.matchAll(re)].flatMap(
    (m) => (m[1] ?? '').match(kind === 'text' ? /<text[^>]*>[^<]*<\/text>/g : kind === 'rule' ? /<line[^>]*>/g : /<path[^>]*>/g) ?? [],
  );
}

/** Tukey outliers (1.5 IQR), computed here independently of the report. */
function tukeyCount(xs: number[]): number {
  if (xs.length < 4) return 0;
  const q1 = quantile(xs, 0.25);
  const q3 = quantile(xs, 0.75);
  return xs.filter((v) => v < q1 - 1.5 * (q3 - q1) || v > q3 + 1.5 * (q3 - q1)).length;
}

/** The lower edge of a vega bar path "Mx,yh..v(height)h..Z". */
const barBottom = (p: string): number => {
  const m = /d="M[-\d.]+,([-\d.]+)h[-\d.]+v([-\d.]+)/.exec(p);
  return Number(m?.[1]) + Number(m?.[2]);
};

describe.runIf(CHROMIUM)('report.html in headless chromium', () => {
  const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as BenchResult;
  // The fixture predates guest facts and provenance: this copy has them, and one case whose --verify failed.
  const result: BenchResult = {
    ...fixture,
    environment: {
      ...fixture.environment,
      cmdline: 'console=ttyS0 quiet panic=-1 transparent_hugepage=always',
      thp: { enabled: 'always', defrag: 'madvise' },
      mitigations: { meltdown: 'Not affected', spectre_v2: 'Mitigation: Retpolines' },
      memTotalKiB: 2012132,
    },
    provenance: {
      command: ['guplab', 'bench', '--vm', '--kernel', '6.1', '--verify'],
      guplabVersion: '9.8.7',
      gitCommit: 'abc123def456',
      host: { release: '6.18.0-host', arch: 'x86_64', cpuModel: 'Host CPU Model X', cpus: 2, node: 'v20.0.0' },
    },
    cases: fixture.cases.map((c, i) => ({
      ...c,
      verify: {
        ok: i !== 7,
        pages: c.pages,
        checks: ['count: ...'],
        failures: i === 7 ? ['pinned: page 3: refcount 2049: 2 pins counted, this call pinned 1'] : [],
      },
    })),
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'guplab-report-'));
  const file = path.join(dir, 'report.html');
  const ok = result.cases.filter((c) => c.status === 'ok' && c.getNs.length > 0);
  const slow = ok.filter((c) => !c.api.endsWith('_fast'));
  let dom = '';

  it('renders without script or network, and chromium loads it', async () => {
    const html = await renderReport(result);
    writeFileSync(file, html);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org|vega\.github\.io)/); // nothing to fetch, nothing to run
    dom = chromium(['--dump-dom', `file://${file}`]);
    expect(dom).toContain('<h1>guplab bench');
  });

  it('draws get and put per API and backing (lines, points), with CI bars', () => {
    const chart = /<figure class="chart" id="ns-per-page">[\s\S]*?<\/figure>/.exec(dom)?.[0] ?? '';
    expect(chart).toMatch(/<svg[^>]*class="marks"/);
    const apis = new Set(ok.map((c) => c.api)).size;
    const backings = new Set(ok.map((c) => c.backing)).size;
    // vega: one <path> per line series; one symbol <path> per point; one CI rule per point. Two rows: get and put.
    expect(markElements(chart, 'line')).toHaveLength(apis * backings * 2);
    expect(markElements(chart, 'symbol')).toHaveLength(ok.length * 2);
    expect(chart.match(/<line[^>]*stroke-width="6"/g) ?? []).toHaveLength(ok.length * 2);
    expect(chart).toContain('get ns/page');
    expect(chart).toContain('put ns/page');
  });

  it('labels every ratio bar with its value and keeps bars and labels inside the frame; the legend names only the APIs drawn', () => {
    const chart = /<figure class="chart" id="ratio">[\s\S]*?<\/figure>/.exec(dom)?.[0] ?? '';
    const bars = markElements(chart, 'rect');
    expect(bars).toHaveLength(slow.length);
    const labels = markElements(chart, 'text', 2);
    expect(labels).toHaveLength(slow.length);
    const ratios = slow.map((c) => fastRatio(result, c) as number);
    const shown = labels.map((t) => Number(/>([^<]*)</.exec(t)?.[1]));
    expect(shown.sort((a, b) => a - b)).toEqual(ratios.map((r) => Number(r >= 10 ? r.toFixed(0) : r.toFixed(1))).sort((a, b) => a - b));
    for (const b of bars) expect(Number(/d="M[-\d.]+,([-\d.]+)/.exec(b)?.[1])).toBeGreaterThanOrEqual(0); // top edge below the frame's top
    for (const b of bars) expect(barBottom(b)).toBeLessThanOrEqual(260); // and above its bottom (the plot is 260 px high)
    for (const t of labels) expect(Number(/translate\([-\d.]+,([-\d.]+)\)/.exec(t)?.[1])).toBeGreaterThanOrEqual(11); // an 11 px label fits above
    expect(markElements(chart, 'rule', 1)).toHaveLength(slow.length); // CI whiskers
    const legend = /aria-label="Symbol legend[^"]*"/.exec(chart)?.[0] ?? '';
    expect(legend).toContain('get_user_pages_unlocked');
    expect(legend).not.toContain('_fast');
  });

  it('draws one strip plot per case, every sample a dot, outliers ringed and counted by Tukey fences', () => {
    const strips = dom.match(/<svg[^>]*class="strip"[\s\S]*?<\/svg>/g) ?? [];
    expect(strips).toHaveLength(result.cases.length);
    let outliers = 0;
    for (const c of ok) {
      const strip = strips.find((s) => s.includes(`data-case="${c.id}"`)) ?? '';
      const values = c.getNs.map((g) => g / c.pages);
      const expected = tukeyCount(values);
      outliers += expected;
      expect((strip.match(/<circle class="sample/g) ?? []).length, c.id).toBe(values.length);
      expect((strip.match(/<circle class="sample outlier"/g) ?? []).length, c.id).toBe(expected);
      expect(strip, c.id).toContain(`n ${values.length} · ${expected} outlier${expected === 1 ? '' : 's'}`);
      expect((strip.match(/class="round-median"/g) ?? []).length, c.id).toBe(new Set(c.round).size);
    }
    expect(outliers).toBeGreaterThan(0);
    expect(dom).toContain("Tukey's fences");
    expect(dom).toContain(`${outliers} of ${ok.reduce((n, c) => n + c.getNs.length, 0)} samples`);
  });

  it('says the constant facts once, the command, version, commit, guest and host facts in the header', () => {
    const head = /<table class="cases"><thead>([\s\S]*?)<\/thead>/.exec(dom)?.[1] ?? '';
    for (const gone of ['pages/call', '>flags<', '>mode<']) expect(head).not.toContain(gone);
    expect(dom).toMatch(/data-fact="pages per call">all/);
    expect(dom).toMatch(/data-fact="flags">none/);
    expect(dom).toMatch(/data-fact="mode">prefaulted/);
    expect(dom).toContain('<code class="command">guplab bench --vm --kernel 6.1 --verify</code>');
    expect(dom).toContain('9.8.7, commit abc123def456');
    expect(dom).toMatch(/data-fact="THP">enabled always, defrag madvise/);
    expect(dom).toMatch(/data-fact="cmdline">console=ttyS0 quiet panic=-1 transparent_hugepage=always/);
    expect(dom).toMatch(/data-fact="mitigations">spectre_v2: Mitigation: Retpolines<br>not affected: meltdown/);
    expect(dom).toMatch(/data-fact="accelerator">TCG, QEMU 7\.2\.22/);
    expect(dom).toMatch(/data-fact="CPU">QEMU TCG CPU version 2\.5\+/);
    expect(dom).toContain('Host (ran QEMU)');
    expect(dom).toContain('Host CPU Model X');
    expect(dom).toContain('"rounds":5'); // the spec, JSON
    // The table lists every case, get and put apart, the outlier counts, and the failed verify.
    expect((/<table class="cases">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(dom)?.[1] ?? '').match(/<tr>/g)).toHaveLength(result.cases.length);
    for (const h of ['get ns/page', 'put ns/page', 'outliers get/put', 'verify']) expect(head).toContain(h);
    expect(dom.match(/<td class="n fail">FAILED<\/td>/g)).toHaveLength(1);
    expect(dom).toContain(`FAILED ${result.cases[7]?.id}: pinned: page 3`);
  });

  it('without provenance, names an equivalent command; md and csv list every case', async () => {
    const html = await renderReport(fixture);
    expect(html).toContain('not recorded; an equivalent: <code class="command">guplab bench --vm --kernel 6.1.0-56-amd64 --accel tcg');
    expect(html).not.toContain('verify');
    const md = benchMarkdown(result);
    expect(md.split('\n').filter((l) => l.startsWith('| ')).length).toBe(result.cases.length + 1);
    expect(md).toContain('Command: `guplab bench --vm --kernel 6.1 --verify`');
    expect(benchCsv(result).trim().split('\n')).toHaveLength(result.cases.length + 1);
    expect(samplesCsv(result).trim().split('\n')).toHaveLength(result.cases.reduce((n, c) => n + c.getNs.length, 0) + 1);
  });

  it('produces a screenshot', () => {
    mkdirSync('results', { recursive: true });
    const png = path.resolve('results/report-test.png');
    const r = spawnSync(
      CHROMIUM as string,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        `--user-data-dir=${mkdtempSync(path.join(os.tmpdir(), 'guplab-chromium-'))}`,
        `--screenshot=${png}`,
        '--window-size=1500,5200',
        `file://${file}`,
      ],
      { timeout: 60_000 },
    );
    expect(r.status).toBe(0);
    const head = readFileSync(png).subarray(0, 24);
    expect(head.subarray(1, 4).toString()).toBe('PNG');
    expect(head.readUInt32BE(16)).toBe(1500); // IHDR width
    expect(statSync(png).size).toBeGreaterThan(20_000); // not a blank page
  });
});

// A real `bench --vm --kernel 6.1 --verify --prefault both --flags none,write+longterm` run (TCG): flags and
// mode vary, get_* with longterm is refused (EINVAL), fault-in slow paths are no slower than GUP-fast.
describe.runIf(CHROMIUM)('report.html of a run whose flags and modes vary, in headless chromium', () => {
  const result = JSON.parse(readFileSync(path.resolve('test/fixtures/results-6.1-x86_64-tcg-verify.json'), 'utf8')) as BenchResult;
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'guplab-report-')), 'report.html');
  it('keeps varying flags and mode as columns, refused cases as words, bars below 1 inside the frame, and every verify', async () => {
    writeFileSync(file, await renderReport(result));
    const dom = chromium(['--dump-dom', `file://${file}`]);
    const head = /<table class="cases"><thead>([\s\S]*?)<\/thead>/.exec(dom)?.[1] ?? '';
    expect(head).toContain('>flags<');
    expect(head).toContain('>mode<');
    expect(head).not.toContain('pages/call');
    expect(dom).toMatch(/data-fact="pages per call">all/);
    expect(dom).not.toMatch(/data-fact="flags"/);
    const refused = result.cases.filter((c) => c.status === 'refused');
    expect(refused.length).toBeGreaterThan(0);
    expect((dom.match(/<text class="why"[^>]*>kernel answered EINVAL<\/text>/g) ?? []).length).toBe(refused.length);
    const chart = /<figure class="chart" id="ratio">[\s\S]*?<\/figure>/.exec(dom)?.[0] ?? '';
    const bars = markElements(chart, 'rect');
    const slow = result.cases.filter((c) => c.getNs.length && !c.api.endsWith('_fast') && fastRatio(result, c) !== undefined);
    expect(bars).toHaveLength(slow.length);
    expect(slow.some((c) => (fastRatio(result, c) as number) < 1)).toBe(true);
    for (const b of bars) expect(barBottom(b)).toBeLessThanOrEqual(260);
    for (const b of bars) expect(Number(/d="M[-\d.]+,([-\d.]+)/.exec(b)?.[1])).toBeGreaterThanOrEqual(0);
    const verified = result.cases.filter((c) => c.verify).length;
    expect(dom).toContain(`--verify: ${verified} of ${verified} cases ok`);
    expect((dom.match(/<td class="n">ok<\/td>/g) ?? []).length).toBe(verified);
    // Markdown: a flag combination's "|" escaped, so every row has the header's cell count.
    const rows = benchMarkdown(result)
      .split('\n')
      .filter((l) => l.startsWith('| '));
    const cells = (l: string): number => l.replace(/\\\|/g, '').split('|').length;
    expect(rows).toHaveLength(result.cases.length + 1);
    for (const r of rows) expect(cells(r), r).toBe(cells(rows[0] as string));
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
    expect(
      compareMarkdown([cmp])
        .split('\n')
        .filter((l) => l.startsWith('| ')).length,
    ).toBe(cmp.cases.length + 1);
    expect(compareCsv([cmp]).trim().split('\n')).toHaveLength(cmp.cases.length + 1);
  });

  it('produces a screenshot', () => {
    mkdirSync('results', { recursive: true });
    const png = path.resolve('results/compare-test.png');
    const r = spawnSync(
      CHROMIUM as string,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        `--user-data-dir=${mkdtempSync(path.join(os.tmpdir(), 'guplab-chromium-'))}`,
        `--screenshot=${png}`,
        '--window-size=1100,1400',
        `file://${file}`,
      ],
      { timeout: 60_000 },
    );
    expect(r.status).toBe(0);
    expect(statSync(png).size).toBeGreaterThan(20_000);
  });
});
