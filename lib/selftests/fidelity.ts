// gup_test's in-kernel benchmark (mm/gup_test.c GUP_FAST_BENCHMARK,
// PIN_FAST_BENCHMARK, PIN_LONGTERM_BENCHMARK: the three that report their
// time) against guplab's BENCH on the same work: same entry point and
// flags, pages per call, buffer size and backing, prefaulted by a write to
// every page. Pure: the case list, the command lines, the parsers, the table.
import type { BenchCase } from '../bench/results.js';

export interface FidelityCase {
  /** gup_test's command option and what it calls (mm/gup_test.c __gup_test_ioctl). */
  cmd: 'GUP_FAST_BENCHMARK' | 'PIN_FAST_BENCHMARK' | 'PIN_LONGTERM_BENCHMARK';
  opt: '-u' | '-a' | '-L';
  api: 'get_user_pages_fast' | 'pin_user_pages_fast' | 'pin_user_pages';
  /** guplab's flags: gup_test sets FOLL_WRITE by default (-w), and PIN_LONGTERM_BENCHMARK adds FOLL_LONGTERM. */
  flags: string;
  /** gup_test -T (MADV_NOHUGEPAGE) / -t (MADV_HUGEPAGE); guplab's 4K / THP backings. */
  backing: '4K' | 'THP';
  ppc: number;
  sizeMiB: number;
}

export const FIDELITY_CMDS = [
  { cmd: 'GUP_FAST_BENCHMARK', opt: '-u', api: 'get_user_pages_fast', flags: 'write' },
  { cmd: 'PIN_FAST_BENCHMARK', opt: '-a', api: 'pin_user_pages_fast', flags: 'write' },
  // The locked pin_user_pages with FOLL_LONGTERM (gup_test holds mmap_read_lock around the loop).
  { cmd: 'PIN_LONGTERM_BENCHMARK', opt: '-L', api: 'pin_user_pages', flags: 'write+longterm' },
] as const;

export function fidelityCases(sizeMiB = 32, ppcs: readonly number[] = [1, 512, (32 << 20) / 4096], backings: readonly ('4K' | 'THP')[] = ['4K', 'THP']): FidelityCase[] {
  const out: FidelityCase[] = [];
  for (const backing of backings) for (const ppc of ppcs) for (const c of FIDELITY_CMDS) out.push({ ...c, backing, ppc, sizeMiB });
  return out;
}

/** gup_test's command line for a case (write is its default; -T/-t the backing). */
export function gupTestArgs(c: FidelityCase, repeats: number): string[] {
  return [c.opt, c.backing === 'THP' ? '-t' : '-T', '-w', '-n', String(c.ppc), '-m', String(c.sizeMiB), '-r', String(repeats)];
}

/** The `Time: get:G put:P us` lines gup_test prints, one per repeat, for its command. */
export function parseGupTestTimes(output: string): { cmd: string; getUs: number; putUs: number; truncated: boolean }[] {
  const out = [];
  for (const m of output.matchAll(/(\w+_BENCHMARK): Time: get:(\d+) put:(\d+) us(, truncated)?/g)) out.push({ cmd: m[1]!, getUs: Number(m[2]), putUs: Number(m[3]), truncated: Boolean(m[4]) });
  return out;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface FidelityRow {
  case: string;
  gupTestNsPerPage?: number;
  gupTestGetNsPerPage?: number;
  guplabNsPerPage?: number;
  guplabGetNsPerPage?: number;
  /** guplab over gup_test, get+put. */
  ratio?: number;
  within5: boolean | undefined;
  samples: { gupTest: number; guplab: number };
  problem?: string;
  /** guplab / gup_test per round (the spread says how much of a gap the host's load can make). */
  roundRatios?: number[];
  /** The smallest share of gup_test's buffer that THP faults covered (THP cases; its buffer is not 2 MiB aligned). */
  gupTestThpShare?: number;
  /**
   * THP cases: guplab's THP and 4K figures of the same call weighed by
   * gup_test's THP share, i.e. what guplab predicts for gup_test's mixed
   * buffer, and its ratio to gup_test.
   */
  mixNsPerPage?: number;
  mixRatio?: number;
}

/** Fills mixNsPerPage/mixRatio of the THP rows from the 4K row of the same command and pages per call. */
export function withMixes(cases: readonly FidelityCase[], rows: FidelityRow[]): void {
  cases.forEach((c, i) => {
    const row = rows[i]!;
    if (c.backing !== 'THP' || row.gupTestThpShare === undefined || !row.guplabNsPerPage || !row.gupTestNsPerPage) return;
    const j = cases.findIndex((x) => x.backing === '4K' && x.cmd === c.cmd && x.ppc === c.ppc && x.sizeMiB === c.sizeMiB);
    const small = rows[j]?.guplabNsPerPage;
    if (small === undefined) return;
    const share = Math.min(1, row.gupTestThpShare);
    row.mixNsPerPage = share * row.guplabNsPerPage + (1 - share) * small;
    row.mixRatio = row.mixNsPerPage / row.gupTestNsPerPage;
  });
}

export function caseName(c: FidelityCase): string {
  return `${c.cmd} ${c.api} ${c.flags} ${c.backing} ${c.sizeMiB}M ppc=${c.ppc}`;
}

/** One row: gup_test's median (get+put) per page against guplab's median total ns/page of the matching BENCH case. */
/** One row over several rounds: `rounds[i]` is round i's gup_test output and guplab case; medians over every sample of every round, the ratio per round beside. */
export function fidelityRowRounds(c: FidelityCase, rounds: readonly { gupTest: string; bench: BenchCase | undefined; thpKiB?: number }[]): FidelityRow {
  const all = fidelityRow(c, rounds.map((r) => r.gupTest).join('\n'), mergeBench(rounds.map((r) => r.bench)));
  const per = rounds.map((r) => fidelityRow(c, r.gupTest, r.bench).ratio).filter((x): x is number => x !== undefined);
  const thp = rounds.map((r) => r.thpKiB).filter((x): x is number => x !== undefined);
  return { ...all, ...(per.length ? { roundRatios: per } : {}), ...(thp.length ? { gupTestThpShare: Math.min(...thp) / (c.sizeMiB * 1024) } : {}) };
}

/** The samples of one case from several rounds as one case (per-page summaries recomputed from the raw samples). */
export function mergeBench(cases: readonly (BenchCase | undefined)[]): BenchCase | undefined {
  const ok = cases.filter((b): b is BenchCase => b?.status === 'ok');
  if (!ok.length) return cases.find((b) => b !== undefined);
  const first = ok[0]!;
  const getNs = ok.flatMap((b) => b.getNs);
  const putNs = ok.flatMap((b) => b.putNs);
  const pages = first.pages;
  const get = getNs.map((g) => g / pages);
  const total = getNs.map((g, i) => (g + (putNs[i] ?? 0)) / pages);
  return { ...first, getNs, putNs, getNsPerPage: { ...first.getNsPerPage!, n: get.length, median: median(get) }, totalNsPerPage: { ...first.totalNsPerPage!, n: total.length, median: median(total) } };
}

export function fidelityRow(c: FidelityCase, gupTestOutput: string, bench: BenchCase | undefined): FidelityRow {
  const pages = (c.sizeMiB << 20) / 4096;
  const times = parseGupTestTimes(gupTestOutput).filter((t) => t.cmd === c.cmd && !t.truncated);
  const row: FidelityRow = { case: caseName(c), within5: undefined, samples: { gupTest: times.length, guplab: bench?.getNs.length ?? 0 } };
  if (times.length) {
    row.gupTestNsPerPage = median(times.map((t) => ((t.getUs + t.putUs) * 1000) / pages));
    row.gupTestGetNsPerPage = median(times.map((t) => (t.getUs * 1000) / pages));
  } else row.problem = `gup_test printed no timing for ${c.cmd}`;
  if (bench?.status === 'ok' && bench.totalNsPerPage && bench.getNsPerPage) {
    row.guplabNsPerPage = bench.totalNsPerPage.median;
    row.guplabGetNsPerPage = bench.getNsPerPage.median;
  } else row.problem = [row.problem, bench ? `guplab: ${bench.status}${bench.error ? ` ${bench.error}` : ''}` : 'guplab ran no such case'].filter(Boolean).join('; ');
  if (row.gupTestNsPerPage && row.guplabNsPerPage) {
    row.ratio = row.guplabNsPerPage / row.gupTestNsPerPage;
    row.within5 = Math.abs(row.ratio - 1) <= 0.05;
  }
  return row;
}

/** The guplab BENCH case that does a fidelity case's work. */
export function matchBench(c: FidelityCase, cases: readonly BenchCase[]): BenchCase | undefined {
  const flags = c.flags.split('+').sort().join('+');
  return cases.find((b) => b.api === c.api && b.backing === c.backing && b.pagesPerCall === c.ppc && b.sizeBytes === c.sizeMiB << 20 && b.prefault && [...b.flags].sort().join('+') === flags);
}

export function fidelityMarkdown(rows: readonly FidelityRow[], accel: string): string {
  const f = (x: number | undefined): string => (x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const lines = [
    `Figures from ${accel.toUpperCase()}${accel.toLowerCase() === 'tcg' ? ' (an emulated CPU: compare within the table, not with hardware)' : ''}; median ns/page (get+put, and get alone), ratio = guplab / gup_test.`,
    '',
    '| case | gup_test ns/page | guplab ns/page | ratio | within 5% | ratio per round | gup_test get | guplab get | gup_test THP share | guplab on that mix | its ratio |',
    '|---|---:|---:|---:|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const rr = r.roundRatios?.map((x) => x.toFixed(2)).join(' ') ?? '-';
    const thp = r.gupTestThpShare === undefined ? '' : `${(r.gupTestThpShare * 100).toFixed(0)}%`;
    lines.push(`| ${r.case} | ${f(r.gupTestNsPerPage)} | ${f(r.guplabNsPerPage)} | ${r.ratio === undefined ? '-' : r.ratio.toFixed(2)} | ${r.within5 === undefined ? `- ${r.problem ?? ''}` : r.within5 ? 'yes' : 'NO'} | ${rr} | ${f(r.gupTestGetNsPerPage)} | ${f(r.guplabGetNsPerPage)} | ${thp} | ${f(r.mixNsPerPage)} | ${r.mixRatio === undefined ? '' : r.mixRatio.toFixed(2)} |`);
  }
  const n = rows.filter((r) => r.within5).length;
  const mixes = rows.filter((r) => r.mixRatio !== undefined);
  lines.push('', `${n} of ${rows.length} cases agree within 5%.${mixes.length ? ` THP rows against guplab weighed by gup_test's THP share: ${mixes.filter((r) => Math.abs(r.mixRatio! - 1) <= 0.05).length} of ${mixes.length} within 5%.` : ''}`);
  return `${lines.join('\n')}\n`;
}
