// gup_test's in-kernel benchmark (mm/gup_test.c GUP_FAST_BENCHMARK,
// PIN_FAST_BENCHMARK, PIN_LONGTERM_BENCHMARK: the three that report their
// time) against guplab's BENCH on the same work: same entry point and
// flags, pages per call, buffer size and backing, prefaulted by a write to
// every page, BENCH timed 'pass' (gup_test's method). Pure: the case list,
// the command lines, the parser, the judgement and the table.
import { median } from 'simple-statistics';
import { bootstrapRatioCI } from '../bench/stats.js';

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

export function fidelityCases(
  sizeMiB = 32,
  ppcs: readonly number[] = [1, 512, (sizeMiB << 20) / 4096],
  backings: readonly ('4K' | 'THP')[] = ['4K', 'THP'],
): FidelityCase[] {
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
  for (const m of output.matchAll(/(\w+_BENCHMARK): Time: get:(\d+) put:(\d+) us(, truncated)?/g))
    out.push({ cmd: m[1]!, getUs: Number(m[2]), putUs: Number(m[3]), truncated: Boolean(m[4]) });
  return out;
}

/** One pair of a round: gup_test's repeats and BENCH's iterations of one case, back to back (fidelity-guest.ts). */
export interface FidelityPair {
  round: number;
  /** Index into the case list. */
  case: number;
  order: 'gupTestFirst' | 'guplabFirst';
  /** gup_test's `Time:` lines of its command, us per whole buffer. */
  gupTest: { getUs: number; putUs: number }[];
  gupTestError?: string;
  /** BENCH's samples, ns per whole buffer ('pass' timing). */
  guplab: { status: number; getNs: number[]; putNs: number[] };
  /** THP cases: KiB of THP each side's buffer got (gup_test's: its THP faults; guplab's: AnonHugePages). */
  gupTestThpKiB?: number;
  guplabThpKiB?: number;
  /** BENCH's empty loop, get+put ns per iteration (round 0 only). */
  floorNs?: number[];
}

/**
 * Repeats of each side, per pair, not counted: the first pass over a fresh
 * buffer is slower on both sides (under TCG: the emulated TLB finds the
 * buffer's page tables and struct pages cold), by more than the 5% judged.
 */
export const FIDELITY_WARMUP = 1;

/** The largest buffer: guplab's pass holds it in one call, and the module takes at most 2^18 pages (kmod/main.c guplab_max_pages_per_call). */
export const FIDELITY_MAX_MIB = 1024;

/** Within this of 1 a case agrees; outside it with a CI that excludes 1 it fails the run. */
export const FIDELITY_TOLERANCE = 0.05;

/** Pages per call whose cases are judged; the others (ppc=1) are shown with the floor that explains them. */
export const judgedPpc = (c: FidelityCase): boolean => c.ppc !== 1;

export interface FidelityRow {
  case: string;
  /** Median get+put ns/page over every sample of every round, and get alone. */
  gupTestNsPerPage?: number;
  gupTestGetNsPerPage?: number;
  guplabNsPerPage?: number;
  guplabGetNsPerPage?: number;
  /** guplab / gup_test (get+put), with its 95% CI from a bootstrap over pairs of rounds. */
  ratio?: number;
  ci95?: [number, number];
  /** The same for get alone, and for put alone. */
  getRatio?: number;
  putRatio?: number;
  /** guplab less its floor, over gup_test: what is left of the ratio once guplab's empty loop is taken out. */
  ratioLessFloor?: number;
  /** guplab / gup_test per round. */
  roundRatios?: number[];
  samples: { gupTest: number; guplab: number };
  /** BENCH's own floor (empty loop, 'pass'), ns/page. */
  floorNsPerPage?: number;
  /** THP cases: the smallest share of each side's buffer that THPs covered. */
  gupTestThpShare?: number;
  guplabThpShare?: number;
  /**
   * agree: within the tolerance; differ: outside it with a CI excluding 1
   * (fails the run); unsure: outside it, CI including 1; shown: not judged
   * (ppc=1, or THP layouts that differ); none: a side has no figure.
   */
  verdict: 'agree' | 'differ' | 'unsure' | 'shown' | 'none';
  why?: string;
}

export function caseName(c: FidelityCase): string {
  return `${c.cmd} ${c.api} ${c.flags} ${c.backing} ${c.sizeMiB}M ppc=${c.ppc}`;
}

/** The rows of a run: every pair of each case, judged. */
export function judgeFidelity(cases: readonly FidelityCase[], pairs: readonly FidelityPair[]): FidelityRow[] {
  return cases.map((c, i) =>
    judgeCase(
      c,
      pairs.filter((p) => p.case === i),
    ),
  );
}

export function judgeCase(c: FidelityCase, pairs: readonly FidelityPair[]): FidelityRow {
  const pages = (c.sizeMiB << 20) / 4096;
  const gt = { values: [] as number[], get: [] as number[], put: [] as number[], rounds: [] as number[] };
  const gl = { values: [] as number[], get: [] as number[], put: [] as number[], rounds: [] as number[] };
  const roundRatios: number[] = [];
  const problems = new Set<string>();
  for (const p of pairs) {
    if (p.gupTestError) problems.add(`gup_test: ${p.gupTestError}`);
    if (p.guplab.status !== 0) problems.add(`guplab: status ${p.guplab.status}`);
    const gupTest = p.gupTest.slice(FIDELITY_WARMUP);
    const getNs = p.guplab.status === 0 ? p.guplab.getNs.slice(FIDELITY_WARMUP) : [];
    const putNs = p.guplab.putNs.slice(FIDELITY_WARMUP);
    const a = gupTest.map((t) => ((t.getUs + t.putUs) * 1000) / pages);
    const b = getNs.map((g, j) => (g + (putNs[j] ?? 0)) / pages);
    gt.values.push(...a);
    gt.get.push(...gupTest.map((t) => (t.getUs * 1000) / pages));
    gt.put.push(...gupTest.map((t) => (t.putUs * 1000) / pages));
    gt.rounds.push(...a.map(() => p.round));
    gl.values.push(...b);
    gl.get.push(...getNs.map((g) => g / pages));
    gl.put.push(...getNs.map((_, j) => (putNs[j] ?? 0) / pages));
    gl.rounds.push(...b.map(() => p.round));
    if (a.length && b.length) roundRatios.push(median(b) / median(a));
  }
  const row: FidelityRow = { case: caseName(c), samples: { gupTest: gt.values.length, guplab: gl.values.length }, verdict: 'none' };
  const floor = pairs.find((p) => p.floorNs?.length)?.floorNs;
  if (floor) row.floorNsPerPage = median(floor) / pages;
  const bytes = c.sizeMiB * 1024;
  const thp = (xs: (number | undefined)[]): number | undefined => {
    const v = xs.filter((x): x is number => x !== undefined);
    return v.length ? Math.min(...v) / bytes : undefined;
  };
  if (c.backing === 'THP') {
    const a = thp(pairs.map((p) => p.gupTestThpKiB));
    const b = thp(pairs.map((p) => p.guplabThpKiB));
    if (a !== undefined) row.gupTestThpShare = a;
    if (b !== undefined) row.guplabThpShare = b;
  }
  if (!gt.values.length || !gl.values.length) {
    row.why = [...problems].join('; ') || (gt.values.length ? 'guplab took no sample' : 'gup_test printed no timing');
    return row;
  }
  row.gupTestNsPerPage = median(gt.values);
  row.gupTestGetNsPerPage = median(gt.get);
  row.guplabNsPerPage = median(gl.values);
  row.guplabGetNsPerPage = median(gl.get);
  row.getRatio = row.guplabGetNsPerPage / row.gupTestGetNsPerPage;
  const gupTestPut = median(gt.put);
  if (gupTestPut > 0) row.putRatio = median(gl.put) / gupTestPut;
  const { ratio, ci95 } = bootstrapRatioCI({ values: gt.values, rounds: gt.rounds }, { values: gl.values, rounds: gl.rounds }, { paired: true });
  Object.assign(row, { ratio, ci95, roundRatios });
  if (row.floorNsPerPage !== undefined) row.ratioLessFloor = (row.guplabNsPerPage - row.floorNsPerPage) / row.gupTestNsPerPage;
  const layoutsDiffer = c.backing === 'THP' && Math.abs((row.gupTestThpShare ?? 0) - (row.guplabThpShare ?? 0)) > 0.02;
  if (!judgedPpc(c)) {
    row.verdict = 'shown';
    row.why = `one page per call: guplab's loop adds its floor per call${row.ratioLessFloor === undefined ? '' : ` (less it: ${row.ratioLessFloor.toFixed(3)})`}`;
  } else if (layoutsDiffer) {
    row.verdict = 'shown';
    row.why = `THP layouts differ (gup_test's buffer ${pct(row.gupTestThpShare)} THP, guplab's ${pct(row.guplabThpShare)})`;
  } else if (Math.abs(ratio - 1) <= FIDELITY_TOLERANCE) row.verdict = 'agree';
  else row.verdict = ci95[0] > 1 || ci95[1] < 1 ? 'differ' : 'unsure';
  return row;
}

const pct = (x: number | undefined): string => (x === undefined ? '?' : `${(x * 100).toFixed(0)}%`);

/** 1 when a judged case differs (outside the tolerance, CI excluding 1), else 0. */
export function fidelityExitCode(rows: readonly FidelityRow[]): number {
  return rows.some((r) => r.verdict === 'differ') ? 1 : 0;
}

export function fidelityMarkdown(rows: readonly FidelityRow[], accel: string): string {
  const f = (x: number | undefined): string => (x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const r2 = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(3));
  const lines = [
    `Figures from ${accel.toUpperCase()}${accel.toLowerCase() === 'tcg' ? ' (an emulated CPU: compare within the table, not with hardware)' : ''}; median ns/page, get+put (and get alone), each side's first repeat per pair not counted (warm-up); ratio = guplab / gup_test with a 95% CI from a bootstrap over pairs of rounds; guplab timed 'pass' (gup_test's method); both sides on one CPU, each side's repeats back to back; floor = guplab's empty loop.`,
    '',
    '| case | gup_test | guplab | ratio | CI95 | verdict | get ratio | put ratio | per round | floor | THP share gup_test / guplab |',
    '|---|---:|---:|---:|---|---|---:|---:|---|---:|---|',
  ];
  for (const r of rows) {
    const rr = r.roundRatios?.map((x) => x.toFixed(2)).join(' ') ?? '-';
    const thp = r.gupTestThpShare === undefined && r.guplabThpShare === undefined ? '' : `${pct(r.gupTestThpShare)} / ${pct(r.guplabThpShare)}`;
    const verdict =
      { agree: 'agree', differ: '**DIFFER**', unsure: 'unsure (CI includes 1)', shown: 'not judged', none: 'no figure' }[r.verdict] +
      (r.why ? `: ${r.why}` : '');
    lines.push(
      `| ${r.case} | ${f(r.gupTestNsPerPage)} | ${f(r.guplabNsPerPage)} | ${r2(r.ratio)} | ${r.ci95 ? `${r.ci95[0].toFixed(3)}-${r.ci95[1].toFixed(3)}` : '-'} | ${verdict} | ${r2(r.getRatio)} | ${r2(r.putRatio)} | ${rr} | ${f(r.floorNsPerPage)} | ${thp} |`,
    );
  }
  const judged = rows.filter((r) => r.verdict === 'agree' || r.verdict === 'differ' || r.verdict === 'unsure');
  const agree = judged.filter((r) => r.verdict === 'agree').length;
  const differ = judged.filter((r) => r.verdict === 'differ').length;
  lines.push(
    '',
    `${agree} of ${judged.length} judged cases agree within ${FIDELITY_TOLERANCE * 100}%; ${differ} differ (outside it with a CI excluding 1: exit 1); ${rows.length - judged.length} shown, not judged.`,
  );
  return `${lines.join('\n')}\n`;
}
