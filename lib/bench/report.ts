// A self-contained HTML report of one bench result: no script, no network.
// The two summary charts are vega-lite compiled to vega and rendered to SVG
// here (vega's headless renderer); the per-case distributions are strip plots
// drawn as plain SVG. Markdown and CSV exports of the same figures beside it.
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { quantile } from 'simple-statistics';
import { baselineOf, fastRatio, type BenchCase, type BenchResult } from './results.js';
import { formatSize } from './spec.js';
import { bootstrapRatioCI, SUMMARY_RESAMPLES } from './stats.js';
import { fmt, verifyCell } from './table.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * Okabe-Ito colours (colour-blind safe), one per API, without Okabe-Ito's
 * yellow (too pale on white). get_* in blues and green, pin_* in warm
 * colours; the fast variant of each family darkest.
 */
export const API_COLOURS: Record<string, string> = {
  get_user_pages_fast: '#0072B2',
  get_user_pages_unlocked: '#56B4E9',
  get_user_pages: '#009E73',
  pin_user_pages_fast: '#D55E00',
  pin_user_pages_unlocked: '#E69F00',
  pin_user_pages: '#CC79A7',
  hmm_range_fault: '#000000',
};
const SPARE_COLOURS = ['#000000', '#777777', '#0072B2', '#D55E00', '#009E73', '#CC79A7', '#56B4E9', '#E69F00'];
const OUTLIER_COLOUR = '#D55E00';
const SAMPLE_COLOUR = '#0072B2';

function apiColours(apis: readonly string[]): { domain: string[]; range: string[] } {
  let spare = 0;
  return { domain: [...apis], range: apis.map((a) => API_COLOURS[a] ?? SPARE_COLOURS[spare++ % SPARE_COLOURS.length] ?? '#000') };
}

/** Tukey's fences: below Q1 - 1.5 IQR or above Q3 + 1.5 IQR is an outlier. */
export function tukey(values: readonly number[]): { lo: number; hi: number; outliers: number[] } {
  if (values.length < 4) return { lo: -Infinity, hi: Infinity, outliers: [] };
  const xs = [...values];
  const q1 = quantile(xs, 0.25);
  const q3 = quantile(xs, 0.75);
  const lo = q1 - 1.5 * (q3 - q1);
  const hi = q3 + 1.5 * (q3 - q1);
  return { lo, hi, outliers: values.flatMap((v, i) => (v < lo || v > hi ? [i] : [])) };
}

const perPage = (c: BenchCase, xs: readonly number[]): number[] => xs.map((ns) => ns / c.pages);

/** Outliers of a case's get and put ns/page (Tukey), and how many of the get ones are a round's first sample. */
export function caseOutliers(c: BenchCase): { get: number; put: number; getFirstOfRound: number } {
  const get = tukey(perPage(c, c.getNs)).outliers;
  const firstOfRound = new Set(c.round.flatMap((r, i) => (i === 0 || c.round[i - 1] !== r ? [i] : [])));
  return { get: get.length, put: tukey(perPage(c, c.putNs)).outliers.length, getFirstOfRound: get.filter((i) => firstOfRound.has(i)).length };
}

/** What tells the cases apart besides API, backing and size (pages per call, flags, mode), if anything. */
interface Dims {
  ppc: boolean;
  flags: boolean;
  mode: boolean;
  note: boolean;
}

const ppcText = (c: BenchCase): string => (c.pagesPerCall === c.pages ? 'all' : String(c.pagesPerCall));
const flagsText = (c: BenchCase): string => c.flags.join('|') || 'none';
const modeText = (c: BenchCase): string => (c.prefault ? 'prefaulted' : 'fault-in');

function varying(result: BenchResult): Dims {
  const differ = (f: (c: BenchCase) => string): boolean => new Set(result.cases.map(f)).size > 1;
  return { ppc: differ(ppcText), flags: differ(flagsText), mode: differ(modeText), note: differ((c) => c.note ?? '') };
}

const variantOf = (c: BenchCase, d: Dims): string =>
  [d.ppc ? `ppc ${ppcText(c)}` : '', d.flags ? flagsText(c) : '', d.mode ? modeText(c) : ''].filter(Boolean).join(', ');

interface Point {
  api: string;
  panel: string;
  measure: string;
  size: number;
  nsPerPage: number;
  lo: number;
  hi: number;
}

interface RatioRow {
  api: string;
  panel: string;
  sizeLabel: string;
  size: number;
  ratio: number;
  lo: number;
  hi: number;
  label: string;
}

function points(result: BenchResult, d: Dims): Point[] {
  return result.cases.flatMap((c) => {
    const panel = [c.backing, variantOf(c, d)].filter(Boolean).join(' · ');
    const out: Point[] = [];
    for (const [measure, s] of [
      ['get', c.getNsPerPage],
      ['put', c.putNsPerPage],
    ] as const) {
      if (s) out.push({ api: c.api, panel, measure: `${measure} ns/page`, size: c.sizeBytes, nsPerPage: s.median, lo: s.ci95[0], hi: s.ci95[1] });
    }
    return out;
  });
}

const grouped = (c: BenchCase): { values: number[]; rounds: number[] } => ({
  values: c.getNs.map((g, i) => (g + (c.putNs[i] ?? 0)) / c.pages),
  rounds: c.round,
});

/** Slow path over GUP-fast of the family (get+put ns/page, as the table's × fast), with a bootstrap CI of the ratio. */
export function ratioRows(result: BenchResult, d: Dims = varying(result)): RatioRow[] {
  return result.cases.flatMap((c) => {
    const ratio = fastRatio(result, c);
    const base = baselineOf(result, c);
    if (ratio === undefined || !base || base === c || c.api.endsWith('_fast')) return [];
    const ci = bootstrapRatioCI(grouped(base), grouped(c), { resamples: SUMMARY_RESAMPLES }).ci95;
    const panel = [c.backing, variantOf(c, d)].filter(Boolean).join(' · ');
    return [
      {
        api: c.api,
        panel,
        sizeLabel: formatSize(c.sizeBytes),
        size: c.sizeBytes,
        ratio,
        lo: ci[0],
        hi: ci[1],
        label: ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(1),
      },
    ];
  });
}

async function svg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const SIZE_LABEL =
  "datum.value >= 1073741824 ? datum.value / 1073741824 + 'G' : datum.value >= 1048576 ? datum.value / 1048576 + 'M' : datum.value / 1024 + 'K'";

/** A log domain that holds every value with a margin, no decade of empty space. */
function logDomain(values: readonly number[], below = 1.25, above = 1.25): [number, number] {
  const pos = values.filter((v) => v > 0 && Number.isFinite(v));
  if (pos.length === 0) return [1, 10];
  return [Math.min(...pos) / below, Math.max(...pos) * above];
}

/** Median ns/page (95% CI) versus buffer size per API, one column per backing: one measure (get or put; the report draws both). */
export function nsPerPageChart(data: Point[]): vl.TopLevelSpec {
  const measure = data[0]?.measure ?? 'ns/page';
  const apis = apiColours([...new Set(data.map((r) => r.api))]);
  const x = {
    field: 'size',
    type: 'quantitative',
    scale: {
      type: 'log',
      base: 2,
      nice: false,
      domain: logDomain(
        data.map((r) => r.size),
        1.3,
        1.3,
      ),
    },
    title: 'buffer size (log)',
    axis: { values: [...new Set(data.map((r) => r.size))].sort((a, b) => a - b), labelExpr: SIZE_LABEL, labelAngle: 0, grid: true },
  };
  const y = {
    type: 'quantitative',
    scale: { type: 'log', nice: false, domain: logDomain(data.flatMap((r) => [r.lo, r.hi])) },
    axis: { grid: true, tickCount: 6 },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: data },
    facet: { field: 'panel', title: null, sort: [...new Set(data.map((r) => r.panel))], header: { labelFontSize: 13, labelFontWeight: 'bold' } },
    columns: 3,
    spec: {
      width: 330,
      height: 220,
      layer: [
        {
          mark: { type: 'rule', strokeWidth: 6, opacity: 0.35 },
          encoding: {
            x,
            y: { ...y, field: 'lo', title: `median ${measure}, 95% CI (log)` },
            y2: { field: 'hi' },
            color: { field: 'api', type: 'nominal', title: 'API', scale: apis },
          },
        },
        {
          mark: { type: 'line', point: { filled: true, size: 45 }, strokeWidth: 2 },
          encoding: {
            x,
            y: { ...y, field: 'nsPerPage', title: `median ${measure}, 95% CI (log)` },
            color: { field: 'api', type: 'nominal', title: 'API', scale: apis, legend: { labelLimit: 300, orient: 'right' } },
            strokeDash: { condition: { test: "indexof(datum.api, 'pin_') === 0", value: [6, 3] }, value: [1, 0] },
            shape: {
              field: 'api',
              type: 'nominal',
              title: 'API',
              scale: {
                domain: apis.domain,
                range: apis.domain.map((_, i) => ['circle', 'square', 'triangle-up', 'diamond', 'cross', 'triangle-down', 'circle'][i % 7] as string),
              },
            },
          },
        },
      ],
    },
    resolve: { axis: { x: 'independent' } }, // every panel its own size axis when panels wrap
    config: { legend: { symbolOpacity: 1, symbolStrokeWidth: 2 } },
  } as vl.TopLevelSpec;
}

/** Slow path over GUP-fast (get+put ns/page), bars from 1 on a log scale, each labelled, CI whiskers. */
export function ratioChart(data: RatioRow[]): vl.TopLevelSpec {
  const apis = apiColours([...new Set(data.map((r) => r.api))]);
  const [, top] = logDomain(
    data.flatMap((r) => [r.ratio, r.hi]),
    1,
    1.6,
  ); // room above the tallest bar for its label
  // Bars grow from 1; a slow path no slower than GUP-fast (fault-in cases) grows down, its whisker inside the frame.
  const bottom = Math.min(1, ...data.flatMap((r) => [r.ratio, r.lo]).filter((v) => v > 0)) / (data.some((r) => r.lo < 1) ? 1.15 : 1);
  const y = { type: 'quantitative', scale: { type: 'log', domain: [bottom, Math.max(2, top)], nice: false }, title: 'slow path / GUP-fast, get+put (log)' };
  const x = { field: 'sizeLabel', type: 'ordinal', sort: { field: 'size' }, title: 'buffer size', axis: { labelAngle: 0 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: data },
    facet: { field: 'panel', title: null, sort: [...new Set(data.map((r) => r.panel))], header: { labelFontSize: 13, labelFontWeight: 'bold' } },
    columns: 3,
    spec: {
      width: Math.max(200, Math.min(420, (36 * data.length) / new Set(data.map((r) => r.panel)).size)),
      height: 260,
      encoding: { x, xOffset: { field: 'api', sort: apis.domain } },
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            y: { ...y, field: 'ratio' },
            y2: { datum: 1 },
            color: { field: 'api', type: 'nominal', title: 'API', scale: apis, legend: { labelLimit: 300 } },
          },
        },
        { mark: { type: 'rule', color: '#222', strokeWidth: 1.5 }, encoding: { y: { ...y, field: 'lo' }, y2: { field: 'hi' } } },
        { mark: { type: 'text', dy: -5, fontSize: 11, baseline: 'bottom' }, encoding: { y: { ...y, field: 'hi' }, text: { field: 'label' } } },
      ],
    },
    resolve: { axis: { x: 'independent' } },
  } as vl.TopLevelSpec;
}

/** A deterministic jitter in [-0.5, 0.5) per sample index. */
const jitter = (i: number): number => (((i * 2654435761) >>> 0) % 1000) / 1000 - 0.5;

/**
 * One case's samples by round as a strip plot (log y): get ns/page, one
 * column per round, the round's median as a black tick, Tukey outliers as
 * vermillion rings, the fences as dotted lines.
 */
export function stripSvg(c: BenchCase, title: string): string {
  const W = 206;
  const H = 150;
  const left = 42;
  const right = 6;
  const top = 30;
  const bottom = 18;
  const head = `<svg xmlns="http://www.w3.org/2000/svg" class="strip" data-case="${esc(c.id)}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="10">`;
  const titleText = `<text class="title" x="4" y="11" font-weight="bold" font-size="11">${esc(title)}</text>`;
  if (c.status !== 'ok' || c.getNs.length === 0) {
    const why = c.status === 'refused' ? `kernel answered ${c.error ?? ''}` : `not run: ${c.error ?? ''}`;
    return `${head}${titleText}<text class="why" x="${left}" y="${top + 20}" fill="#555">${esc(why.slice(0, 40))}</text>${why.length > 40 ? `<text x="${left}" y="${top + 34}" fill="#555">${esc(why.slice(40, 80))}</text>` : ''}</svg>`;
  }
  const values = perPage(c, c.getNs);
  const fences = tukey(values);
  const outlierSet = new Set(fences.outliers);
  const rounds = [...new Set(c.round)].sort((a, b) => a - b);
  // The body (samples within the fences) fills the plot; outliers above or
  // below go to a band of their own (log-scaled, their extreme labelled), so
  // that a 50x spike does not squash the rest into a line.
  const body = values.filter((_, i) => !outlierSet.has(i));
  const [lo, hi] = logDomain(body.length ? body : values, 1.06, 1.06);
  const above = values.filter((v) => v > hi);
  const below = values.filter((v) => v < lo);
  const bandH = 16;
  const plotTop = top + (above.length ? bandH + 4 : 0);
  const plotBottom = H - bottom - (below.length ? bandH + 4 : 0);
  const logY = (v: number, a: number, b: number, y0: number, y1: number): number =>
    b <= a ? (y0 + y1) / 2 : y1 - ((Math.log(v) - Math.log(a)) / (Math.log(b) - Math.log(a))) * (y1 - y0);
  const maxV = Math.max(...values);
  const minV = Math.min(...values);
  const y = (v: number): number =>
    v > hi
      ? logY(v, hi, maxV * 1.02, top + 2, top + bandH - 2)
      : v < lo
        ? logY(v, minV / 1.02, lo, H - bottom - bandH + 2, H - bottom - 2)
        : logY(v, lo, hi, plotTop, plotBottom);
  const band = (W - left - right) / rounds.length;
  const xr = (r: number): number => left + (rounds.indexOf(r) + 0.5) * band;
  const out: string[] = [head, titleText];
  const o = caseOutliers(c);
  out.push(
    `<text class="outliers" x="4" y="23" fill="${o.get ? OUTLIER_COLOUR : '#555'}">n ${values.length} · ${o.get} outlier${o.get === 1 ? '' : 's'}${o.get ? ` (${o.getFirstOfRound} first)` : ''}</text>`,
  );
  out.push(`<rect x="${left}" y="${plotTop}" width="${W - left - right}" height="${plotBottom - plotTop}" fill="none" stroke="#bbb"/>`);
  if (above.length) out.push(`<rect class="outlier-band" x="${left}" y="${top}" width="${W - left - right}" height="${bandH}" fill="#fbeee6" stroke="none"/>`);
  if (below.length)
    out.push(`<rect class="outlier-band" x="${left}" y="${H - bottom - bandH}" width="${W - left - right}" height="${bandH}" fill="#fbeee6" stroke="none"/>`);
  // y ticks: the body's extremes and the median; each band its extreme.
  const med = c.getNsPerPage?.median ?? values[0] ?? 1;
  const ticks: number[] = [];
  const bodyMin = Math.min(...(body.length ? body : values));
  const bodyMax = Math.max(...(body.length ? body : values));
  for (const v of [...(above.length ? [maxV] : []), ...(below.length ? [minV] : []), bodyMin, bodyMax, med])
    if (ticks.every((t) => Math.abs(y(t) - y(v)) >= 10)) ticks.push(v);
  for (const v of ticks) {
    out.push(`<line x1="${left - 3}" x2="${left}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#333"/>`);
    out.push(`<text class="tick" x="${left - 5}" y="${(y(v) + 3).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`);
  }
  for (const f of [fences.lo, fences.hi]) {
    if (f > lo && f < hi)
      out.push(
        `<line class="fence" x1="${left}" x2="${W - right}" y1="${y(f).toFixed(1)}" y2="${y(f).toFixed(1)}" stroke="${OUTLIER_COLOUR}" stroke-dasharray="2 2" stroke-width="0.8"/>`,
      );
  }
  values.forEach((v, i) => {
    const cx = xr(c.round[i] ?? 0) + jitter(i) * band * 0.6;
    if (outlierSet.has(i))
      out.push(
        `<circle class="sample outlier" cx="${cx.toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.6" fill="none" stroke="${OUTLIER_COLOUR}" stroke-width="1.2"/>`,
      );
    else out.push(`<circle class="sample" cx="${cx.toFixed(1)}" cy="${y(v).toFixed(1)}" r="1.7" fill="${SAMPLE_COLOUR}" fill-opacity="0.45"/>`);
  });
  for (const r of rounds) {
    const inRound = values.filter((_, i) => c.round[i] === r).sort((a, b) => a - b);
    const m =
      inRound.length % 2
        ? (inRound[(inRound.length - 1) / 2] as number)
        : ((inRound[inRound.length / 2 - 1] as number) + (inRound[inRound.length / 2] as number)) / 2;
    out.push(
      `<line class="round-median" x1="${(xr(r) - band * 0.38).toFixed(1)}" x2="${(xr(r) + band * 0.38).toFixed(1)}" y1="${y(m).toFixed(1)}" y2="${y(m).toFixed(1)}" stroke="#000" stroke-width="2"/>`,
    );
    if (rounds.length <= 12 || rounds.indexOf(r) % Math.ceil(rounds.length / 12) === 0)
      out.push(`<text x="${xr(r).toFixed(1)}" y="${H - 5}" text-anchor="middle" fill="#555">${r + 1}</text>`);
  }
  out.push('</svg>');
  return out.join('');
}

const shellQuote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);

/** A command that runs the same matrix (from the spec), for results that did not record theirs. */
export function equivalentCommand(result: BenchResult): string {
  const s = result.spec;
  const env = result.environment;
  const args = ['guplab', 'bench'];
  if (env.accelerator !== 'bare metal') args.push('--vm', '--kernel', env.release, ...(env.accelerator === 'TCG' ? ['--accel', 'tcg'] : []));
  args.push('--api', s.apis.join(','), '--backing', s.backings.join(','), '--size', s.sizes.map(formatSize).join(','), '--ppc', s.pagesPerCall.join(','));
  args.push('--flags', s.flags.map((f) => (f.length ? f.join('+') : 'none')).join(','));
  args.push('--prefault', s.prefault.length > 1 ? 'both' : s.prefault[0] ? 'yes' : 'no');
  if (s.iterations) args.push('--iterations', String(s.iterations));
  args.push('--warmup', String(s.warmup), '--target-ms', String(s.targetMs));
  if (s.mde) args.push('--mde', `${Math.round(s.mde * 100)}%`, ...(s.budgetSec ? ['--budget', String(s.budgetSec)] : []));
  if (s.verify) args.push('--verify');
  return args.map(shellQuote).join(' ');
}

/** Header facts as [label, value] rows: the run, the machine it ran on (guest), the host. */
export function facts(result: BenchResult): { section: string; rows: [string, string][] }[] {
  const env = result.environment;
  const p = result.provenance;
  const notRecorded = 'not recorded (result written before guplab recorded it)';
  const mit = env.mitigations;
  // "Not affected" ones on one line, each mitigation or vulnerability on its own.
  const unaffected = mit
    ? Object.entries(mit)
        .filter(([, v]) => v === 'Not affected')
        .map(([k]) => k)
    : [];
  const mitText = mit
    ? [
        ...Object.entries(mit)
          .filter(([, v]) => v !== 'Not affected')
          .map(([k, v]) => `${k}: ${v}`),
        ...(unaffected.length ? [`not affected: ${unaffected.join(', ')}`] : []),
      ].join('\n')
    : notRecorded;
  const run: [string, string][] = [
    ['guplab', p ? `${p.guplabVersion}${p.gitCommit ? `, commit ${p.gitCommit}` : ', commit unknown (not a git checkout)'}` : notRecorded],
    ['created', `${result.createdAt} (schema ${result.schema}, module ABI ${env.moduleAbi})`],
    [
      'rounds',
      result.run
        ? `${result.run.rounds} in ${(result.run.wallMs / 1000).toFixed(0)} s${result.run.stoppedBy ? `; stopped: ${result.run.stoppedBy}` : ''}`
        : `${result.spec.rounds}`,
    ],
  ];
  const guest: [string, string][] = [
    ['kernel', `${env.release} ${env.arch}, page size ${env.pageSize}`],
    [
      'accelerator',
      `${env.accelerator}${env.qemuVersion ? `, QEMU ${env.qemuVersion}` : ''}${env.accelerator === 'TCG' ? ' (emulated CPU: timings are not hardware figures)' : ''}`,
    ],
    ['CPU', `${env.cpuModel}, ${env.cpus} CPUs${env.memTotalKiB ? `, ${(env.memTotalKiB / 1024).toFixed(0)} MiB` : ''}`],
    ['THP', env.thp ? `enabled ${env.thp.enabled}, defrag ${env.thp.defrag}` : notRecorded],
    ['cmdline', env.cmdline ?? notRecorded],
    ['mitigations', mitText],
    ['node', env.node],
  ];
  const sections = [
    { section: 'Run', rows: run },
    { section: env.accelerator === 'bare metal' ? 'Machine (where the samples were taken)' : 'Guest (where the samples were taken)', rows: guest },
  ];
  if (p && env.accelerator !== 'bare metal') {
    sections.push({
      section: 'Host (ran QEMU)',
      rows: [
        ['kernel', `${p.host.release} ${p.host.arch}`],
        ['CPU', `${p.host.cpuModel}, ${p.host.cpus} CPUs${p.host.memTotalKiB ? `, ${(p.host.memTotalKiB / 1024).toFixed(0)} MiB` : ''}`],
        ['node', p.host.node],
      ],
    });
  }
  return sections;
}

/** Facts every case shares (said once in the header), e.g. pages per call "all", flags none, prefaulted. */
export function sharedFacts(result: BenchResult): [string, string][] {
  const d = varying(result);
  const first = result.cases[0];
  if (!first) return [];
  const out: [string, string][] = [];
  if (!d.ppc) out.push(['pages per call', ppcText(first) === 'all' ? 'all (one call over the whole buffer)' : ppcText(first)]);
  if (!d.flags) out.push(['flags', flagsText(first)]);
  if (!d.mode) out.push(['mode', first.prefault ? 'prefaulted (pages present before the timed call)' : 'fault-in (fresh buffer per sample)']);
  if (!d.note && first.note) out.push(['note', first.note]);
  return out;
}

const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : `${(x * 100).toFixed(1)}%`);

interface TableRow {
  cells: string[];
  figures?: string[];
  why?: string;
}

function tableRows(result: BenchResult): { head: string[]; dims: number; rows: TableRow[]; note: boolean } {
  const d = varying(result);
  const verified = result.cases.some((c) => c.verify);
  const head = [
    'backing',
    'size',
    ...(d.ppc ? ['pages/call'] : []),
    ...(d.flags ? ['flags'] : []),
    ...(d.mode ? ['mode'] : []),
    'API',
    'get ns/page',
    'get p5–p95',
    'get CI95',
    'put ns/page',
    'put p5–p95',
    'samples',
    'outliers get/put',
    '× fast',
    'MDE',
    ...(verified ? ['verify'] : []),
    ...(d.note ? ['note'] : []),
  ];
  const dims = head.indexOf('API') + 1;
  const rows = result.cases.map((c): TableRow => {
    const cells = [
      c.backing,
      formatSize(c.sizeBytes),
      ...(d.ppc ? [ppcText(c)] : []),
      ...(d.flags ? [flagsText(c)] : []),
      ...(d.mode ? [modeText(c)] : []),
      c.api,
    ];
    const g = c.getNsPerPage;
    const p = c.putNsPerPage;
    if (!g || !p) return { cells, why: c.status === 'refused' ? `kernel answered ${c.error ?? ''}` : `not run: ${c.error ?? ''}` };
    const o = caseOutliers(c);
    const ratio = fastRatio(result, c);
    return {
      cells,
      figures: [
        fmt(g.median),
        `${fmt(g.p5)}–${fmt(g.p95)}`,
        `${fmt(g.ci95[0])}–${fmt(g.ci95[1])}`,
        fmt(p.median),
        `${fmt(p.p5)}–${fmt(p.p95)}`,
        String(g.n),
        `${o.get}/${o.put}`,
        ratio === undefined ? '-' : ratio.toFixed(2),
        pct(c.mde),
        ...(verified ? [verifyCell(c)] : []),
        ...(d.note ? [c.note ?? ''] : []),
      ],
    };
  });
  return { head, dims, rows, note: d.note };
}

/** The strip plots: one row per backing, size and variant, one column per API. */
function stripGrid(result: BenchResult): string {
  const d = varying(result);
  const apis = [...new Set(result.cases.map((c) => c.api))];
  const groups = new Map<string, BenchCase[]>();
  for (const c of result.cases) {
    const key = [`${c.backing} ${formatSize(c.sizeBytes)}`, variantOf(c, d)].filter(Boolean).join(' · ');
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const rows = [...groups.entries()].map(([key, cs]) => {
    const cells = apis.map((api) => {
      const c = cs.find((x) => x.api === api);
      return `<td>${c ? stripSvg(c, api) : ''}</td>`;
    });
    return `<tr><th class="group">${esc(key)}</th>${cells.join('')}</tr>`;
  });
  return `<table class="strips">${rows.join('\n')}</table>`;
}

/** The whole page. */
export async function renderReport(result: BenchResult): Promise<string> {
  const d = varying(result);
  const pts = points(result, d);
  const ratios = ratioRows(result, d);
  const charts: [string, string, string][] = [];
  if (pts.length) {
    const get = pts.filter((p) => p.measure === 'get ns/page');
    const put = pts.filter((p) => p.measure === 'put ns/page');
    charts.push([
      'ns-per-page',
      'Median ns/page versus buffer size per API, get (GUP call) and put (release) apart as in the table (95% CI as a wide pale bar; get_* solid, pin_* dashed)',
      `${await svg(nsPerPageChart(get))}<br>${await svg(nsPerPageChart(put))}`,
    ]);
  }
  if (ratios.length)
    charts.push([
      'ratio',
      'Slow paths relative to GUP-fast of their family (same buffer, same run): median get+put ns/page, bar label the ratio, whisker its 95% CI',
      await svg(ratioChart(ratios)),
    ]);
  const env = result.environment;
  const t = tableRows(result);
  const trs = t.rows
    .map(
      (r) =>
        `<tr>${r.cells.map((x) => `<td>${esc(x)}</td>`).join('')}${r.figures ? r.figures.map((x, i) => `<td class="${t.note && i === (r.figures?.length ?? 0) - 1 ? 'note' : `n${x === 'FAILED' ? ' fail' : ''}`}">${esc(x)}</td>`).join('') : `<td colspan="${t.head.length - t.dims}">${esc(r.why ?? '')}</td>`}</tr>`,
    )
    .join('\n');
  const command = result.provenance ? result.provenance.command.map(shellQuote).join(' ') : undefined;
  const failures = result.cases.filter((c) => c.verify && !c.verify.ok);
  const verified = result.cases.filter((c) => c.verify && !c.verify.skipped);
  const totals = result.cases.reduce(
    (a, c) => {
      if (c.status !== 'ok' || !c.getNs.length) return a;
      const o = caseOutliers(c);
      return { samples: a.samples + c.getNs.length, get: a.get + o.get, first: a.first + o.getFirstOfRound, cases: a.cases + (o.get ? 1 : 0) };
    },
    { samples: 0, get: 0, first: 0, cases: 0 },
  );
  const factRows = facts(result)
    .map(
      (s) =>
        `<tr><th colspan="2" class="section">${esc(s.section)}</th></tr>\n${s.rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td class="fact" data-fact="${esc(k)}">${esc(v).replace(/\n/g, '<br>')}</td></tr>`).join('\n')}`,
    )
    .join('\n');
  const shared = sharedFacts(result);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>guplab bench: ${esc(env.release)} ${esc(env.arch)} ${esc(env.accelerator)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em 2em;color:#222;max-width:1420px}
table{border-collapse:collapse}table.cases td{white-space:nowrap}table.cases td.note{white-space:normal}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}td.fail,.fail{color:#D55E00;font-weight:bold}
.warn{color:#a40;font-weight:bold}figure{margin:1em 0}figcaption{font-weight:bold;margin-bottom:.3em}
pre,code{background:#f4f4f4;padding:2px 4px;white-space:pre-wrap;word-break:break-all}
table.facts th{font-weight:normal;color:#555;width:9em}table.facts th.section{font-weight:bold;color:#222;padding-top:.6em}
table.strips td,table.strips th{border:none;padding:0 2px}table.strips th.group{font-weight:bold;vertical-align:middle;white-space:nowrap}
</style>
</head><body>
<h1>guplab bench: ${esc(env.release)} ${esc(env.arch)}, ${esc(env.accelerator)}</h1>
${env.accelerator === 'TCG' ? '<p class="warn">TCG: QEMU emulated the CPU. Read ratios within this run, not absolute figures.</p>' : ''}
<section class="reproduce"><h2>Reproduce</h2>
<p>Command: ${command ? `<code class="command">${esc(command)}</code>` : `not recorded; an equivalent: <code class="command">${esc(equivalentCommand(result))}</code>`}</p>
<p>Spec (a <code>--spec</code> file for the same matrix):</p>
<pre class="spec">${esc(JSON.stringify(result.spec))}</pre></section>
<section class="facts"><h2>Where and how</h2>
<table class="facts">
${factRows}
<tr><th colspan="2" class="section">Every case</th></tr>
${shared.map(([k, v]) => `<tr><th>${esc(k)}</th><td class="shared" data-fact="${esc(k)}">${esc(v)}</td></tr>`).join('\n')}
<tr><th>method</th><td>one sample = one iteration of the module's in-kernel BENCH loop (GUP over the buffer, each batch released at once), get and put timed separately; ${result.spec.rounds} rounds on fresh buffers, ${result.spec.warmup} warm-up per round; median, p5–p95, seeded bootstrap 95% CI of the median (rounds, then samples resampled)</td></tr>
</table></section>
${verified.length ? `<p class="verify ${failures.length ? 'fail' : ''}">--verify: ${verified.length - failures.length} of ${verified.length} cases ok (${verified.reduce((n, c) => n + (c.verify?.pages ?? 0), 0)} pages checked after the timed loops: pages taken are the buffer's, pinned as asked, no pin left behind)${failures.map((c) => `<br>FAILED ${esc(c.id)}: ${esc((c.verify?.failures ?? []).join('; '))}`).join('')}</p>` : ''}
${charts.map(([id, title, s]) => `<figure class="chart" id="${id}"><figcaption>${esc(title)}</figcaption>${s}</figure>`).join('\n')}
<h2>Distributions: samples by round</h2>
<p class="outlier-rule">Each dot one sample of get ns/page (log scale), one column per round (fresh buffer), the black tick the round's median. Outliers by Tukey's fences (below Q1 − 1.5·IQR or above Q3 + 1.5·IQR of the case's samples; dotted lines): rings; "(k first)": k of them were the first sample of a round. In all <span class="outlier-total">${totals.get} of ${totals.samples} samples in ${totals.cases} cases, ${totals.first} of them a round's first sample</span>. Outliers stay in every statistic (medians resist them).</p>
${stripGrid(result)}
<h2>Cases</h2>
<table class="cases"><thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>
${trs}
</tbody></table>
<p>× fast: median get+put ns/page over that of the fast API of the same family (get_* or pin_*), same buffer, same run. MDE: the smallest change of get+put ns/page a compare against a run as noisy as this one could tell from none. outliers: Tukey's fences, get/put.</p>
</body></html>
`;
}

/** Markdown table cells, a "|" inside one (flags such as longterm|write) escaped. */
const row = (cells: readonly (string | number | undefined)[]): string => cells.map((v) => (v === undefined ? '' : String(v).replace(/\|/g, '\\|'))).join(' | ');

/** The cases as a Markdown table (the header facts above it). */
export function benchMarkdown(result: BenchResult): string {
  const t = tableRows(result);
  const env = result.environment;
  const lines = [
    `# guplab bench: ${env.release} ${env.arch}, ${env.accelerator}${env.accelerator === 'TCG' ? ' (emulated CPU: not hardware figures)' : ''}`,
    '',
    `Command: \`${result.provenance ? result.provenance.command.map(shellQuote).join(' ') : equivalentCommand(result)}\`${result.provenance ? '' : ' (equivalent; not recorded)'}`,
    '',
    ...facts(result).flatMap((s) => s.rows.map(([k, v]) => `- ${s.section.split(' ')[0]} ${k}: ${v.replace(/\n/g, '; ')}`)),
    ...sharedFacts(result).map(([k, v]) => `- every case, ${k}: ${v}`),
    '',
    `| ${row(t.head)} |`,
    `|${t.head.map((_, i) => (i < t.dims ? '---' : '---:')).join('|')}|`,
    ...t.rows.map((r) => `| ${row([...r.cells, ...(r.figures ?? [r.why, ...Array(t.head.length - t.dims - 1).fill('')])])} |`),
    '',
  ];
  return lines.join('\n');
}

const csvCell = (v: string | number | boolean | undefined): string => {
  const s = v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** One row per case: its key, status and every summary figure. */
export function benchCsv(result: BenchResult): string {
  const head = [
    'id',
    'backing',
    'size_bytes',
    'pages',
    'pages_per_call',
    'flags',
    'prefault',
    'api',
    'status',
    'error',
    'samples',
    'rounds',
    'get_median',
    'get_p5',
    'get_p95',
    'get_ci_lo',
    'get_ci_hi',
    'put_median',
    'put_p5',
    'put_p95',
    'put_ci_lo',
    'put_ci_hi',
    'total_median',
    'pages_per_sec',
    'x_fast',
    'mde',
    'outliers_get',
    'outliers_put',
    'verify',
    'note',
  ];
  const lines = [head.join(',')];
  for (const c of result.cases) {
    const g = c.getNsPerPage;
    const p = c.putNsPerPage;
    const o = c.getNs.length ? caseOutliers(c) : undefined;
    lines.push(
      [
        c.id,
        c.backing,
        c.sizeBytes,
        c.pages,
        c.pagesPerCall,
        c.flags.join('|'),
        c.prefault,
        c.api,
        c.status,
        c.error,
        g?.n ?? 0,
        new Set(c.round).size,
        g?.median,
        g?.p5,
        g?.p95,
        g?.ci95[0],
        g?.ci95[1],
        p?.median,
        p?.p5,
        p?.p95,
        p?.ci95[0],
        p?.ci95[1],
        c.totalNsPerPage?.median,
        c.pagesPerSec,
        fastRatio(result, c),
        c.mde,
        o?.get,
        o?.put,
        c.verify ? verifyCell(c) : undefined,
        c.note,
      ]
        .map(csvCell)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Every sample: case, round, get and put ns of one iteration over the whole buffer, and per page. */
export function samplesCsv(result: BenchResult): string {
  const lines = ['id,round,get_ns,put_ns,get_ns_per_page,put_ns_per_page'];
  for (const c of result.cases)
    for (const [i, g] of c.getNs.entries()) lines.push([c.id, c.round[i], g, c.putNs[i], g / c.pages, (c.putNs[i] ?? 0) / c.pages].map(csvCell).join(','));
  return `${lines.join('\n')}\n`;
}
