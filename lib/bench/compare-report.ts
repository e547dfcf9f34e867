// The comparison as a static HTML page (one forest plot: per case the ratio
// new/base with its 95% CI against the threshold band, the verdict and the
// MDE, in inline SVG: no script, no network), and as Markdown and CSV.
import type { CaseComparison, Comparison, Verdict } from './compare.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : `${(x * 100).toFixed(1)}%`);
const r3 = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(3));

/** Okabe-Ito colours (colour-blind safe), one per verdict. */
export const VERDICT_COLOURS: Record<Verdict, string> = {
  slower: '#D55E00',
  faster: '#0072B2',
  'no significant change': '#444444',
  'not comparable': '#999999',
};

export interface CompareMeta {
  /** How to make it again. */
  command: string;
  /** One line per environment fact worth a header (release, arch, accelerator, CPU...). */
  facts: string[];
}

/** Case ids less the words every case shares (said once, above the plot). */
export function shortLabels(ids: readonly string[]): { labels: string[]; common: string[] } {
  const split = ids.map((id) => id.split(' '));
  const n = split[0]?.length ?? 0;
  const constant = new Set<number>();
  if (ids.length > 1) for (let i = 0; i < n; i++) if (split.every((w) => w.length === n && w[i] === split[0]?.[i])) constant.add(i);
  return {
    labels: split.map((w) => w.filter((_, i) => !constant.has(i)).join(' ')),
    common: [...constant].map((i) => split[0]?.[i] ?? ''),
  };
}

/** One forest plot of a comparison as SVG (log-scale ratio axis). */
export function forestSvg(cmp: Comparison): string {
  const rows = cmp.cases;
  const { labels, common } = shortLabels(rows.map((c) => c.id));
  const t = cmp.threshold;
  const rowH = 22;
  const top = 46;
  const labelW = 330;
  const plotW = 380;
  const rightW = 300;
  const width = labelW + plotW + rightW;
  const height = top + rows.length * rowH + 40;
  const values = rows.flatMap((c) => (c.ci95 ? [c.ci95[0], c.ci95[1]] : [])).concat([1 / (1 + t), 1 + t]);
  const lo = Math.min(...values) / 1.05;
  const hi = Math.max(...values) * 1.05;
  const x = (v: number): number => labelW + ((Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * plotW;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="forest" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  // Threshold band and the no-change line.
  out.push(
    `<rect class="band" x="${x(1 / (1 + t)).toFixed(1)}" y="${top - 8}" width="${(x(1 + t) - x(1 / (1 + t))).toFixed(1)}" height="${rows.length * rowH + 8}" fill="#eeeeee"/>`,
  );
  out.push(
    `<line class="unity" x1="${x(1).toFixed(1)}" x2="${x(1).toFixed(1)}" y1="${top - 8}" y2="${top + rows.length * rowH}" stroke="#000" stroke-width="1"/>`,
  );
  for (const b of [1 / (1 + t), 1 + t])
    out.push(
      `<line class="threshold" x1="${x(b).toFixed(1)}" x2="${x(b).toFixed(1)}" y1="${top - 8}" y2="${top + rows.length * rowH}" stroke="#000" stroke-dasharray="4 3"/>`,
    );
  out.push(`<text x="${labelW}" y="16">new/base of median get+put ns/page, 95% CI (log scale); grey band: within ±${(t * 100).toFixed(0)}%</text>`);
  out.push(`<text x="${labelW + plotW + 8}" y="${top - 14}" font-weight="bold">ratio · MDE · verdict</text>`);
  if (common.length)
    out.push(`<text class="common" x="${labelW - 8}" y="${top - 14}" text-anchor="end" font-weight="bold">every case: ${esc(common.join(' '))}</text>`);
  rows.forEach((c: CaseComparison, i) => {
    const y = top + i * rowH + rowH / 2;
    out.push(`<text class="case" x="${labelW - 8}" y="${y + 4}" text-anchor="end">${esc(labels[i] ?? c.id)}</text>`);
    const colour = VERDICT_COLOURS[c.verdict];
    if (c.ratio !== undefined && c.ci95) {
      const [a, b] = c.ci95;
      out.push(`<line class="ci" x1="${x(a).toFixed(1)}" x2="${x(b).toFixed(1)}" y1="${y}" y2="${y}" stroke="${colour}" stroke-width="2"/>`);
      for (const e of [a, b])
        out.push(`<line x1="${x(e).toFixed(1)}" x2="${x(e).toFixed(1)}" y1="${y - 5}" y2="${y + 5}" stroke="${colour}" stroke-width="2"/>`);
      out.push(`<circle class="point" cx="${x(c.ratio).toFixed(1)}" cy="${y}" r="4" fill="${colour}"/>`);
    }
    const text = c.ratio !== undefined ? `${c.ratio.toFixed(3)} · MDE ${pct(c.mde)} · ${c.verdict}` : `${c.verdict}: ${c.why ?? ''}`;
    out.push(`<text class="value" x="${labelW + plotW + 8}" y="${y + 4}" fill="${colour}">${esc(text)}</text>`);
  });
  // Axis: ticks at the threshold, 1, and round ratios in the domain.
  const axisY = top + rows.length * rowH + 6;
  // Ticks by priority (1, the threshold, round ratios), none closer than 32 px to one already drawn.
  const ticks: number[] = [];
  for (const v of [1, 1 / (1 + t), 1 + t, 0.5, 2, 0.1, 0.01, 0.25, 4, 10, 0.05, 0.02, 0.8, 1.25, 1.5, 3, 5, 20, 50, 100]) {
    if (v >= lo && v <= hi && ticks.every((w) => Math.abs(x(w) - x(v)) >= 32)) ticks.push(v);
  }
  for (const v of ticks) {
    out.push(`<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${axisY}" y2="${axisY + 5}" stroke="#000"/>`);
    out.push(`<text class="tick" x="${x(v).toFixed(1)}" y="${axisY + 18}" text-anchor="middle">${v >= 0.1 ? v.toFixed(2) : String(v)}</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}

/** How the CIs were drawn: by pairs of rounds for an interleaved A/B run, else each run apart. */
const pairing = (cmp: Comparison): string =>
  cmp.paired ? 'CIs drawn by pairs of rounds (the runs alternated round by round)' : 'CIs drawn from each run apart (separate runs)';

/** A self-contained page: header facts, the command, one forest plot and one table per comparison. */
export function compareHtml(cmps: readonly Comparison[], meta: CompareMeta): string {
  const sections = cmps.map((cmp) => {
    const rows = cmp.cases
      .map(
        (c) =>
          `<tr><td>${esc(c.id)}</td><td>${r3(c.ratio)}</td><td>${c.ci95 ? `${r3(c.ci95[0])}–${r3(c.ci95[1])}` : '-'}</td><td>${pct(c.mde)}</td><td style="color:${VERDICT_COLOURS[c.verdict]}">${esc(c.verdict)}${c.why ? `: ${esc(c.why)}` : ''}</td></tr>`,
      )
      .join('\n');
    return `<section class="comparison"><h2>${esc(cmp.next)} over ${esc(cmp.base)}</h2>
<p>${cmp.slower} slower, ${cmp.faster} faster, ${cmp.unchanged} no significant change, ${cmp.cases.length - cmp.compared} not comparable; threshold ${(cmp.threshold * 100).toFixed(0)}%; worst MDE ${pct(cmp.worstMde)}; ${pairing(cmp)}</p>
${cmp.warnings.map((w) => `<p class="warning">warning: ${esc(w)}</p>`).join('\n')}
<figure class="chart">${forestSvg(cmp)}</figure>
<table><tr><th>case</th><th>new/base</th><th>CI95</th><th>MDE</th><th>verdict</th></tr>
${rows}</table></section>`;
  });
  return `<!doctype html><html><head><meta charset="utf-8"><title>guplab compare</title>
<style>body{font-family:sans-serif;margin:1.5em;color:#111}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child{text-align:left}code{background:#f4f4f4;padding:2px 4px}.warning{color:#D55E00}</style></head><body>
<h1>guplab compare</h1>
<p>Reproduce: <code>${esc(meta.command)}</code></p>
<ul class="facts">${meta.facts.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>
<p>Ratio: median get+put ns/page, new over base; CI95: seeded bootstrap of the ratio of medians (rounds, then samples resampled); MDE: the smallest change this CI width can tell from none. slower: the whole CI above 1 + threshold; faster: below 1/(1 + threshold).</p>
${sections.join('\n')}
</body></html>
`;
}

export function compareMarkdown(cmps: readonly Comparison[]): string {
  return cmps
    .map((cmp) =>
      [
        `${cmp.next} over ${cmp.base} (threshold ${(cmp.threshold * 100).toFixed(0)}%)`,
        '',
        '| case | new/base | CI95 | MDE | verdict |',
        '|---|---:|---:|---:|---|',
        ...cmp.cases.map(
          (c) =>
            `| ${c.id} | ${r3(c.ratio)} | ${c.ci95 ? `${r3(c.ci95[0])}–${r3(c.ci95[1])}` : '-'} | ${pct(c.mde)} | ${c.verdict}${c.why ? `: ${c.why}` : ''} |`,
        ),
        '',
        `${cmp.slower} slower, ${cmp.faster} faster, ${cmp.unchanged} no significant change, ${cmp.cases.length - cmp.compared} not comparable; worst MDE ${pct(cmp.worstMde)}; ${pairing(cmp)}`,
      ].join('\n'),
    )
    .join('\n\n');
}

export function compareCsv(cmps: readonly Comparison[]): string {
  const q = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = ['base,new,case,base_ns_per_page,new_ns_per_page,ratio,ci_lo,ci_hi,mde,verdict'];
  for (const cmp of cmps)
    for (const c of cmp.cases)
      lines.push(
        [cmp.base, cmp.next, c.id, c.baseMedian ?? '', c.newMedian ?? '', c.ratio ?? '', c.ci95?.[0] ?? '', c.ci95?.[1] ?? '', c.mde ?? '', c.verdict]
          .map((v) => q(String(v)))
          .join(','),
      );
  return `${lines.join('\n')}\n`;
}
