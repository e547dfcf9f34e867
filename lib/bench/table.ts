import Table from 'cli-table3';
import { fastRatio, type BenchCase, type BenchResult } from './results.js';
import { formatSize } from './spec.js';

export const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const rate = (x: number): string => (x >= 1e9 ? `${(x / 1e9).toFixed(2)}G` : x >= 1e6 ? `${(x / 1e6).toFixed(1)}M` : `${(x / 1e3).toFixed(0)}K`);

/** A header line saying what was measured where (TCG figures labelled as emulated). */
export function describeRun(result: BenchResult): string {
  const env = result.environment;
  const where = `${env.release} ${env.arch} on ${env.accelerator}${env.accelerator === 'TCG' ? ' (emulated CPU: timings are not hardware figures)' : ''}, ${env.cpuModel}${env.qemuVersion ? `, QEMU ${env.qemuVersion}` : ''}`;
  const s = result.spec;
  const samples = s.iterations ? `${s.iterations} samples` : `${s.minSamples}-${s.maxSamples} samples (adaptive, ~${s.targetMs} ms per case)`;
  const timing =
    (s.timing ?? 'batch') === 'pass'
      ? 'timed per pass as mm/gup_test.c does (one clock pair per pass, batches held, put after)'
      : 'timed per batch (a clock pair around each call, each batch released at once)';
  const clock = env.clocksource ? `, clocksource ${env.clocksource}` : '';
  return `guplab bench: ${result.cases.length} cases, ${samples} from the in-kernel loop in ${s.rounds} rounds (fresh buffers each), ${s.warmup} warm-up per round; medians, get and put timed separately, ${timing}\n${where}${clock}`;
}

/** A case's --verify answer in one word: ok, FAILED, skipped, or - (not verified). */
export function verifyCell(c: BenchCase): string {
  if (!c.verify) return '-';
  if (c.verify.skipped) return 'skipped';
  return c.verify.ok ? 'ok' : 'FAILED';
}

/** The cases whose --verify failed, each with its failures (empty when none failed). */
export function verifyFailures(result: BenchResult): { id: string; failures: string[] }[] {
  return result.cases.filter((c) => c.verify && !c.verify.ok).map((c) => ({ id: c.id, failures: c.verify?.failures ?? [] }));
}

function verifyLines(result: BenchResult): string {
  const verified = result.cases.filter((c) => c.verify && !c.verify.skipped);
  if (verified.length === 0) return '';
  const failed = verifyFailures(result);
  const pages = verified.reduce((n, c) => n + (c.verify?.pages ?? 0), 0);
  const head = `\nverify: ${verified.length - failed.length} of ${verified.length} cases ok (${pages} pages checked after the timed loops: pages taken are the buffer's, pinned as asked, no pin left behind)`;
  return head + failed.map((f) => `\nverify FAILED ${f.id}:\n  ${f.failures.join('\n  ')}`).join('');
}

/** The result as a terminal table: ns/page (median, p5-p95, 95% CI), pages/s and the ratio to the fast API of the family. */
export function benchTable(result: BenchResult): string {
  const s = result.spec;
  const vary = {
    ppc: s.pagesPerCall.length > 1 || s.pagesPerCall.some((p) => p !== 'all'),
    flags: s.flags.length > 1 || (s.flags[0]?.length ?? 0) > 0,
    prefault: s.prefault.length > 1 || s.prefault[0] === false,
  };
  const verified = result.cases.some((c) => c.verify);
  const head = [
    'backing',
    'size',
    ...(vary.ppc ? ['pages/call'] : []),
    ...(vary.flags ? ['flags'] : []),
    ...(vary.prefault ? ['mode'] : []),
    'API',
    'get ns/page',
    'p5-p95',
    'CI95 median',
    'put ns/page',
    'floor',
    'pages/s',
    '× fast',
    'MDE',
    ...(verified ? ['verify'] : []),
  ];
  const nDims = head.length - 9 - (verified ? 1 : 0);
  const table = new Table({ head, colAligns: head.map((_, i) => (i <= nDims ? 'left' : 'right')), style: { head: [], border: [], compact: true } });
  for (const c of result.cases) {
    const dims = [
      c.backing,
      formatSize(c.sizeBytes),
      ...(vary.ppc ? [String(c.pagesPerCall)] : []),
      ...(vary.flags ? [c.flags.join('|') || 'none'] : []),
      ...(vary.prefault ? [c.prefault ? 'prefault' : 'fault-in'] : []),
      c.api,
    ];
    if (!c.getNsPerPage || !c.putNsPerPage || !c.pagesPerSec) {
      const what = c.status === 'refused' ? `kernel answered ${c.error}` : `not run: ${c.error}`;
      table.push([...dims, { colSpan: 8 + (verified ? 1 : 0), content: what }]);
      continue;
    }
    const g = c.getNsPerPage;
    const ratio = fastRatio(result, c);
    table.push([
      ...dims,
      fmt(g.median),
      `${fmt(g.p5)}-${fmt(g.p95)}`,
      `${fmt(g.ci95[0])}-${fmt(g.ci95[1])}`,
      fmt(c.putNsPerPage.median),
      c.floorNsPerPage === undefined ? '-' : fmt(c.floorNsPerPage),
      rate(c.pagesPerSec),
      ratio === undefined ? '-' : ratio.toFixed(2),
      c.mde === undefined ? '-' : `${(c.mde * 100).toFixed(1)}%`,
      ...(verified ? [verifyCell(c)] : []),
    ]);
  }
  const run = result.run
    ? `\n${result.run.rounds} rounds in ${(result.run.wallMs / 1000).toFixed(0)} s${result.run.stoppedBy ? ` (mde target ${((s.mde ?? 0) * 100).toFixed(0)}%: stopped, ${result.run.stoppedBy})` : ''}`
    : '';
  return `${describeRun(result)}\n${table.toString()}${verifyLines(result)}\n× fast: median (get+put) ns/page over that of the fast API of the same family (get_* or pin_*; hmm_range_fault against get_user_pages_fast; hmm_refault[_mprotect], whose get is the refill and put the MADV_DONTNEED or mprotect pair that invalidated it, against hmm_range_fault), same buffer, same run\nfloor: get+put ns/page of the same loop with no GUP call (the harness's own share of the figures; a batch timing pays it per call)\nMDE: smallest change of get+put ns/page a compare against a run as noisy as this one could tell from none${run}`;
}
