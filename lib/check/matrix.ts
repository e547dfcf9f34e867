// One table of check reports: rows are probe cases, columns are
// kernel/arch runs, cells the observed answers; rows whose answer differs
// between columns are marked.
import Table from 'cli-table3';
import type { CheckReport } from './run.js';

export interface MatrixRow {
  probe: string;
  case: string;
  /** One per column; "" where the run had no such case. */
  cells: string[];
  /** Per cell: the run judged it against an expectation and it failed. */
  failed: boolean[];
  /** The answers differ between columns (skips aside). */
  changed: boolean;
}

export interface Matrix {
  columns: string[];
  rows: MatrixRow[];
}

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
        row.cells[col] = c.status === 'skip' ? 'skip' : c.observed;
        row.failed[col] = c.status === 'fail' || c.status === 'unexpected';
      }
    }
  });
  for (const row of rows.values()) {
    const answers = new Set(row.cells.filter((c) => c !== '' && c !== 'skip' && c !== 'n/a'));
    row.changed = answers.size > 1;
  }
  return { columns: reports.map(columnName), rows: [...rows.values()] };
}

const mdEscape = (s: string): string => s.replaceAll('|', '\\|');

/** Markdown: changed rows marked with a delta sign and their differing cells in bold; failed cells flagged. */
export function matrixMarkdown(matrix: Matrix, options: { changedOnly?: boolean } = {}): string {
  const lines = [
    `| probe | case | ${matrix.columns.map(mdEscape).join(' | ')} |`,
    `|---|---|${matrix.columns.map(() => '---').join('|')}|`,
  ];
  for (const row of matrix.rows) {
    if (options.changedOnly && !row.changed) continue;
    const first = row.cells.find((c) => c !== '' && c !== 'skip' && c !== 'n/a');
    const cells = row.cells.map((c, i) => {
      let text = c === '' ? '—' : mdEscape(c);
      if (row.changed && c !== first && c !== 'skip' && c !== 'n/a' && c !== '') text = `**${text}**`;
      if (row.failed[i]) text += ' ✗';
      return text;
    });
    lines.push(`| ${row.probe} | ${row.changed ? 'Δ ' : ''}${mdEscape(row.case)} | ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** The terminal table; changed rows are marked with a delta sign. */
export function matrixTable(matrix: Matrix, options: { changedOnly?: boolean } = {}): string {
  const table = new Table({ head: ['probe', 'case', ...matrix.columns], style: { head: [], border: [] }, wordWrap: true });
  for (const row of matrix.rows) {
    if (options.changedOnly && !row.changed) continue;
    table.push([row.probe, `${row.changed ? 'Δ ' : ''}${row.case}`, ...row.cells.map((c, i) => `${c || '—'}${row.failed[i] ? ' ✗' : ''}`)]);
  }
  return table.toString();
}

/** For README: the rows that differ, then every row folded away. */
export function matrixReadme(matrix: Matrix, generated: string): string {
  const changed = matrix.rows.filter((r) => r.changed).length;
  return [
    `${changed} of ${matrix.rows.length} cases differ between ${matrix.columns.join(', ')} (${generated}; Δ marks them, bold is the changed answer, ✗ a failed expectation):`,
    '',
    matrixMarkdown(matrix, { changedOnly: true }),
    `<details><summary>All ${matrix.rows.length} cases</summary>`,
    '',
    matrixMarkdown(matrix),
    '</details>',
    '',
  ].join('\n');
}

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`. */
export function replaceSection(text: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`markers ${start} ... ${end} not found`);
  return `${text.slice(0, a + start.length)}\n${body}${text.slice(b)}`;
}
