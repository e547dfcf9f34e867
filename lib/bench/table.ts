import Table from 'cli-table3';
import { fastBaseline, type HeadlineResult } from './headline.js';

const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

/** The headline as a terminal table: ns/page (median, p5-p95) and the ratio to the fast variant. */
export function headlineTable(result: HeadlineResult): string {
  const env = result.environment;
  const table = new Table({
    head: ['backing', 'API', 'THP kB', 'get ns/page', 'get p5-p95', 'put ns/page', 'get+put × fast'],
    colAligns: ['left', 'left', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [], compact: true },
  });
  for (const c of result.cases) {
    if (!c.getNsPerPage || !c.putNsPerPage) {
      table.push([c.backing, c.api, String(c.anonHugeKb), { colSpan: 4, content: `kernel answered ${c.error}` }]);
      continue;
    }
    const base = result.cases.find((b) => b.backing === c.backing && b.api === fastBaseline(c.api));
    const total = c.getNsPerPage.median + c.putNsPerPage.median;
    const baseTotal = base?.getNsPerPage && base.putNsPerPage ? base.getNsPerPage.median + base.putNsPerPage.median : undefined;
    table.push([
      c.backing,
      c.api,
      String(c.anonHugeKb),
      fmt(c.getNsPerPage.median),
      `${fmt(c.getNsPerPage.p5)}-${fmt(c.getNsPerPage.p95)}`,
      fmt(c.putNsPerPage.median),
      baseTotal ? (total / baseTotal).toFixed(2) : '-',
    ]);
  }
  const mib = (result.options.sizeBytes / (1 << 20)).toFixed(0);
  const flags = result.options.flags.length ? result.options.flags.join('|') : 'none';
  return [
    `guplab headline: ${mib} MiB buffer, ${result.cases[0]?.pages ?? 0} pages per call, flags ${flags}, ${result.options.iterations} samples from the in-kernel loop (median)`,
    `${env.release} ${env.arch} on ${env.accelerator}${env.accelerator === 'TCG' ? ' (emulated CPU: timings are not hardware figures)' : ''}, ${env.cpuModel}`,
    table.toString(),
  ].join('\n');
}
