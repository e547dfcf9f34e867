// A self-contained HTML report: charts rendered to inline SVG here (vega-lite
// compiled to vega, vega's headless SVG renderer), so it needs no network and
// no script.
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { fastRatio, type BenchResult } from './results.js';
import { formatSize } from './spec.js';
import { describeRun, fmt } from './table.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

interface Row {
  api: string;
  backing: string;
  variant: string;
  size: number;
  sizeLabel: string;
  nsPerPage: number;
  lo: number;
  hi: number;
  ratio?: number;
}

function rows(result: BenchResult): Row[] {
  const out: Row[] = [];
  for (const c of result.cases) {
    if (!c.totalNsPerPage) continue;
    const variant = [`ppc ${c.pagesPerCall === c.pages ? 'all' : c.pagesPerCall}`, c.flags.join('|') || 'no flags', c.prefault ? 'prefaulted' : 'fault-in'].join(', ');
    const ratio = fastRatio(result, c);
    out.push({
      api: c.api,
      backing: c.backing,
      variant,
      size: c.sizeBytes,
      sizeLabel: formatSize(c.sizeBytes),
      nsPerPage: c.totalNsPerPage.median,
      lo: c.totalNsPerPage.ci95[0],
      hi: c.totalNsPerPage.ci95[1],
      ...(ratio !== undefined ? { ratio } : {}),
    });
  }
  return out;
}

async function svg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const SIZE_LABEL = "datum.value >= 1073741824 ? datum.value / 1073741824 + 'G' : datum.value >= 1048576 ? datum.value / 1048576 + 'M' : datum.value / 1024 + 'K'";

/** The same colour for an API in every chart. */
const apiDomain = (data: Row[]): string[] => [...new Set(data.map((r) => r.api))];

function sizeAxis(data: Row[]): Record<string, unknown> {
  return { values: [...new Set(data.map((r) => r.size))].sort((a, b) => a - b), labelExpr: SIZE_LABEL, grid: true };
}

/** ns/page versus size per API (log-log), one panel per backing (and variant when several). */
export function nsPerPageChart(data: Row[]): vl.TopLevelSpec {
  const variants = new Set(data.map((r) => r.variant)).size > 1;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: data },
    facet: { column: { field: 'backing', title: 'backing' }, ...(variants ? { row: { field: 'variant', title: null } } : {}) },
    spec: {
      width: 300,
      height: 220,
      layer: [
        {
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'size', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'buffer size (log)', axis: sizeAxis(data) },
            y: { field: 'nsPerPage', type: 'quantitative', scale: { type: 'log' }, title: 'get+put ns/page (median, 95% CI; log)' },
            color: { field: 'api', type: 'nominal', title: 'API', legend: { labelLimit: 300 }, scale: { domain: apiDomain(data) } },
          },
        },
        {
          mark: { type: 'rule' },
          encoding: {
            x: { field: 'size', type: 'quantitative', scale: { type: 'log', base: 2 } },
            y: { field: 'lo', type: 'quantitative', scale: { type: 'log' } },
            y2: { field: 'hi' },
            color: { field: 'api', type: 'nominal', scale: { domain: apiDomain(data) } },
          },
        },
      ],
    },
    resolve: { scale: { y: 'shared' } },
  } as vl.TopLevelSpec;
}

/** slow/fast ratio per API, size and backing. */
export function ratioChart(data: Row[]): vl.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: data.filter((r) => r.ratio !== undefined && !r.api.endsWith('_fast')) },
    facet: { column: { field: 'backing', title: 'backing' }, ...(new Set(data.map((r) => r.variant)).size > 1 ? { row: { field: 'variant', title: null } } : {}) },
    spec: {
      width: 300,
      height: 220,
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'sizeLabel', type: 'ordinal', sort: { field: 'size' }, title: 'buffer size' },
        xOffset: { field: 'api' },
        // Bars grow from 1 (as fast as GUP-fast) on a log scale.
        y: { field: 'ratio', type: 'quantitative', scale: { type: 'log', domainMin: 1 }, title: 'slow path / GUP-fast, get+put ns/page (log)' },
        y2: { datum: 1 },
        color: { field: 'api', type: 'nominal', title: 'API', legend: { labelLimit: 300 }, scale: { domain: apiDomain(data) } },
        tooltip: [{ field: 'api' }, { field: 'ratio', format: '.2f' }],
      },
    },
  } as vl.TopLevelSpec;
}

export async function renderReport(result: BenchResult): Promise<string> {
  const data = rows(result);
  const charts = data.length
    ? [
        ['ns/page versus buffer size per API', await svg(nsPerPageChart(data))],
        ['Slow paths relative to GUP-fast (same family, same buffer)', await svg(ratioChart(data))],
      ]
    : [];
  const env = result.environment;
  const trs = result.cases
    .map((c) => {
      const cells = [c.backing, formatSize(c.sizeBytes), String(c.pagesPerCall), c.flags.join('|') || 'none', c.prefault ? 'prefault' : 'fault-in', c.api];
      const ratio = fastRatio(result, c);
      const figures = c.getNsPerPage && c.putNsPerPage && c.totalNsPerPage
        ? [fmt(c.getNsPerPage.median), `${fmt(c.getNsPerPage.p5)}–${fmt(c.getNsPerPage.p95)}`, `${fmt(c.getNsPerPage.ci95[0])}–${fmt(c.getNsPerPage.ci95[1])}`, fmt(c.putNsPerPage.median), String(c.getNs.length), ratio === undefined ? '-' : ratio.toFixed(2)]
        : null;
      const answer = figures ? figures.map((x) => `<td class="n">${esc(x)}</td>`).join('') : `<td colspan="6">${esc(c.status === 'refused' ? `kernel answered ${c.error ?? ''}` : `not run: ${c.error ?? ''}`)}</td>`;
      return `<tr>${cells.map((x) => `<td>${esc(x)}</td>`).join('')}${answer}<td>${esc(c.note ?? '')}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>guplab bench: ${esc(env.release)} ${esc(env.arch)} ${esc(env.accelerator)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd}td.n{text-align:right;font-variant-numeric:tabular-nums}.warn{color:#a40}figure{margin:1em 0}pre{white-space:pre-wrap}</style>
</head><body>
<h1>guplab bench</h1>
<pre>${esc(describeRun(result))}</pre>
${env.accelerator === 'TCG' ? '<p class="warn">TCG: QEMU emulated the CPU. Read ratios within this run, not absolute figures.</p>' : ''}
<p>Created ${esc(result.createdAt)}; schema ${esc(result.schema)}; node ${esc(env.node)}; page size ${env.pageSize}.</p>
${charts.map(([title, s]) => `<figure class="chart"><figcaption>${esc(title ?? '')}</figcaption>${s ?? ''}</figure>`).join('\n')}
<h2>Cases</h2>
<table><thead><tr><th>backing</th><th>size</th><th>pages/call</th><th>flags</th><th>mode</th><th>API</th><th>get ns/page</th><th>p5–p95</th><th>CI95 median</th><th>put ns/page</th><th>samples</th><th>× fast</th><th>note</th></tr></thead>
<tbody>
${trs}
</tbody></table>
</body></html>
`;
}
