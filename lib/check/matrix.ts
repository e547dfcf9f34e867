// One table of check reports: rows are probe cases, columns are
// kernel/arch runs, cells the observed answers; rows whose answer differs
// between columns are marked.
import Table from 'cli-table3';
import type { BenchResult } from '../bench/results.js';
import type { SpecInput } from '../bench/spec.js';
import { renderAnswer, type CheckReport } from './report.js';

export interface MatrixRow {
  probe: string;
  case: string;
  /** One per column; "" where the run had no such case. */
  cells: string[];
  /** Per cell: the run judged it against an expectation and it failed. */
  failed: boolean[];
  /** The answers differ between columns (skips aside). */
  changed: boolean;
  /** How guplab calls the API decides some cell (a locked pointer, ...), not the kernel version: why. */
  caller?: string;
}

export interface Matrix {
  columns: string[];
  rows: MatrixRow[];
  /** The short benchmark per column (ns/page), where the runs had one. */
  bench?: BenchMatrix;
}

export interface BenchMatrix {
  /** What every column measured: backing, size, flags, prefaulted. */
  setting: string;
  /** Per row (backing + API): per column the median get+put ns/page, or the kernel's refusal. */
  rows: { backing: string; api: string; cells: string[] }[];
  /** Per backing: per column GUP-fast over the unlocked slow path (how many times faster). */
  ratios: { backing: string; get: string[]; pin: string[] }[];
  accelerators: string[];
}

/** The matrix's short benchmark: the fast and the unlocked path, get and pin, 4K and THP, one 2 MiB buffer. */
export const MATRIX_BENCH_SPEC: SpecInput = {
  apis: ['get_user_pages_fast', 'get_user_pages_unlocked', 'pin_user_pages_fast', 'pin_user_pages_unlocked'],
  backings: ['4K', 'THP'],
  sizes: [2 << 20],
  rounds: 3,
  minSamples: 10,
  maxSamples: 60,
  targetMs: 60,
};

export function columnName(report: CheckReport): string {
  return `${report.release.replace(/-(amd64|arm64)$/, '')} ${report.arch}`;
}

export function buildMatrix(reports: readonly CheckReport[]): Matrix {
  const rows = new Map<string, MatrixRow>();
  reports.forEach((report, col) => {
    for (const probe of report.probes) {
      for (const c of probe.cases) {
        const key = `${probe.id}\u0000${c.case}`;
        let row = rows.get(key);
        if (!row) {
          row = { probe: probe.id, case: c.case, cells: reports.map(() => ''), failed: reports.map(() => false), changed: false };
          rows.set(key, row);
        }
        row.cells[col] = c.status === 'skip' ? 'skip' : renderAnswer(c.answer ?? {});
        row.failed[col] = c.status === 'fail' || c.status === 'unexpected';
        if (c.caller) row.caller ??= c.caller;
      }
    }
  });
  for (const row of rows.values()) {
    const answers = new Set(row.cells.filter((c) => !NO_ANSWER.has(c)));
    row.changed = answers.size > 1;
  }
  return { columns: reports.map(columnName), rows: [...rows.values()] };
}

/** A module row's cell on an image-only line, where guplab.ko cannot be built. */
export const NO_HEADERS = 'no headers';
/** A cell that holds no answer: it cannot make a row "changed". */
const NO_ANSWER = new Set(['', 'skip', 'n/a', NO_HEADERS]);

/** Consumer rows are told apart from the module's probes by this prefix on their probe column. */
export const CONSUMER_PREFIX = 'consumer:';

/**
 * Both instruments in one table: module check reports and consumer reports
 * (suite 'consumers') of the same kernel release and arch share a column.
 * Consumer rows come after the module's, their probe named "consumer:ID". A
 * column with only a consumer report of an image-only line (no headers, so
 * no guplab.ko) shows "no headers" in every module row.
 */
export function buildLinesMatrix(reports: readonly CheckReport[]): Matrix {
  const columns: { release: string; arch: string; module?: CheckReport; consumers?: CheckReport }[] = [];
  for (const r of [...reports].sort(byKernel)) {
    let col = columns.find((c) => c.release === r.release && c.arch === r.arch);
    if (!col) columns.push((col = { release: r.release, arch: r.arch }));
    const slot = r.suite === 'consumers' ? 'consumers' : 'module';
    if (col[slot]) throw new Error(`two ${slot === 'module' ? 'check' : 'consumer'} reports of ${r.release} ${r.arch}: give one of each per kernel`);
    col[slot] = r;
  }
  const joined = columns.map((c): CheckReport => {
    const base = c.module ?? c.consumers!;
    const consumerProbes = (c.consumers?.probes ?? []).map((p) => ({ ...p, id: `${CONSUMER_PREFIX}${p.id}` }));
    return { ...base, probes: [...(c.module?.probes ?? []), ...consumerProbes] };
  });
  const matrix = buildMatrix(joined);
  // Module rows first, as the module's probes run; then the consumers.
  matrix.rows.sort((a, b) => Number(a.probe.startsWith(CONSUMER_PREFIX)) - Number(b.probe.startsWith(CONSUMER_PREFIX)));
  columns.forEach((c, i) => {
    if (c.module || !c.consumers?.imageOnly) return;
    for (const row of matrix.rows) if (!row.probe.startsWith(CONSUMER_PREFIX)) row.cells[i] = NO_HEADERS;
  });
  return matrix;
}

/** Orders runs by arch (x86_64 first), then kernel version. */
export function byKernel(a: { release: string; arch: string }, b: { release: string; arch: string }): number {
  if (a.arch !== b.arch) return a.arch === 'x86_64' ? -1 : b.arch === 'x86_64' ? 1 : a.arch.localeCompare(b.arch);
  return a.release.localeCompare(b.release, 'en', { numeric: true });
}

/** The benchmark part of the matrix; `results[i]` belongs to column i (undefined: no benchmark there). */
export function buildBenchMatrix(results: readonly (BenchResult | undefined)[]): BenchMatrix | undefined {
  const present = results.filter((r): r is BenchResult => r !== undefined);
  if (!present.length) return undefined;
  const keys: { backing: string; api: string }[] = [];
  for (const r of present)
    for (const c of r.cases) if (!keys.some((k) => k.backing === c.backing && k.api === c.api)) keys.push({ backing: c.backing, api: c.api });
  const median = (r: BenchResult | undefined, backing: string, api: string): number | string | undefined => {
    const c = r?.cases.find((x) => x.backing === backing && x.api === api);
    if (!c) return undefined;
    return c.status === 'ok' && c.totalNsPerPage ? c.totalNsPerPage.median : (c.error ?? c.status);
  };
  const show = (v: number | string | undefined): string => (v === undefined ? '' : typeof v === 'number' ? v.toFixed(v < 10 ? 1 : 0) : v);
  const ratio = (r: BenchResult | undefined, backing: string, kind: 'get' | 'pin'): string => {
    const fast = median(r, backing, `${kind}_user_pages_fast`);
    const slow = median(r, backing, `${kind}_user_pages_unlocked`);
    return typeof fast === 'number' && typeof slow === 'number' ? `${(slow / fast).toFixed(1)}×` : '';
  };
  const backings = [...new Set(keys.map((k) => k.backing))];
  const spec = present[0]!.spec;
  return {
    setting: `${spec.sizes.map((b) => `${b >> 20} MiB`).join(', ')} buffer, one call over it, ${spec.flags.map((f) => f.join('+') || 'no flags').join(', ')}, prefaulted`,
    rows: keys.map((k) => ({ ...k, cells: results.map((r) => show(median(r, k.backing, k.api))) })),
    ratios: backings.map((backing) => ({ backing, get: results.map((r) => ratio(r, backing, 'get')), pin: results.map((r) => ratio(r, backing, 'pin')) })),
    accelerators: results.map((r) => r?.environment.accelerator ?? ''),
  };
}

/** Markdown of the benchmark part. */
export function benchMarkdown(matrix: Matrix): string {
  const b = matrix.bench;
  if (!b) return '';
  const head = [
    `| backing | API | ${matrix.columns.map((c, i) => `${mdEscape(c)}${b.accelerators[i] ? ` (${b.accelerators[i]})` : ''}`).join(' | ')} |`,
    `|---|---|${matrix.columns.map(() => '---:').join('|')}|`,
  ];
  const rows = b.rows.map((r) => `| ${r.backing} | ${r.api} | ${r.cells.map((c) => mdEscape(c) || '—').join(' | ')} |`);
  const ratios = b.ratios.flatMap((r) => [
    `| ${r.backing} | **get: unlocked / fast** | ${r.get.map((c) => c || '—').join(' | ')} |`,
    `| ${r.backing} | **pin: unlocked / fast** | ${r.pin.map((c) => c || '—').join(' | ')} |`,
  ]);
  return [...head, ...rows, ...ratios, ''].join('\n');
}

const mdEscape = (s: string): string => s.replaceAll('|', '\\|');

/** Markdown: changed rows marked with a delta sign and their differing cells in bold; failed cells flagged. */
export function matrixMarkdown(matrix: Matrix, options: { changedOnly?: boolean } = {}): string {
  const lines = [`| probe | case | ${matrix.columns.map(mdEscape).join(' | ')} |`, `|---|---|${matrix.columns.map(() => '---').join('|')}|`];
  for (const row of matrix.rows) {
    if (options.changedOnly && !row.changed) continue;
    const first = row.cells.find((c) => !NO_ANSWER.has(c));
    const cells = row.cells.map((c, i) => {
      let text = c === '' ? '—' : mdEscape(c);
      if (row.changed && c !== first && !NO_ANSWER.has(c)) text = `**${text}**`;
      if (row.failed[i]) text += ' ✗';
      return text;
    });
    lines.push(`| ${row.probe} | ${row.changed ? 'Δ ' : ''}${mdEscape(row.case)}${row.caller ? ' ‡' : ''} | ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** The terminal table; changed rows are marked with a delta sign. */
export function matrixTable(matrix: Matrix, options: { changedOnly?: boolean } = {}): string {
  const table = new Table({ head: ['probe', 'case', ...matrix.columns], style: { head: [], border: [] }, wordWrap: true });
  for (const row of matrix.rows) {
    if (options.changedOnly && !row.changed) continue;
    table.push([
      row.probe,
      `${row.changed ? 'Δ ' : ''}${row.case}${row.caller ? ' ‡' : ''}`,
      ...row.cells.map((c, i) => `${c || '—'}${row.failed[i] ? ' ✗' : ''}`),
    ]);
  }
  return table.toString();
}

/** For README: the rows that differ, then every row folded away. */
export function matrixReadme(matrix: Matrix, generated: string): string {
  const changed = matrix.rows.filter((r) => r.changed).length;
  const bench = matrix.bench
    ? [
        `Short benchmark in the same boots (median get+put ns/page, ${matrix.bench.setting}; emulated CPUs, so compare ratios, not absolute figures):`,
        '',
        benchMarkdown(matrix),
      ]
    : [];
  const callers = [...new Set(matrix.rows.flatMap((r) => (r.caller ? [r.caller] : [])))];
  return [
    ...bench,
    `${changed} of ${matrix.rows.length} cases differ between ${matrix.columns.join(', ')} (${generated}; Δ marks them, bold is the changed answer, ✗ a failed expectation, ‡ an answer guplab's way of calling decides):`,
    '',
    matrixMarkdown(matrix, { changedOnly: true }),
    ...callers.map((c) => `‡ ${c}.\n`),
    `<details><summary>All ${matrix.rows.length} cases</summary>`,
    '',
    matrixMarkdown(matrix),
    '</details>',
    '',
  ].join('\n');
}
