// Where an expected answer comes from: measured (a committed check report
// ran a case it decides, on a named release, and saw its answer; see
// evidence.ts) or only read from source (then: which commits its bounds
// rest on).
import type { Arch } from '../vm/paths.js';
import type { Answer } from './report.js';
import { COMMITS, expectationFor, type Expectation } from './expectations.js';
import { committedMeasurements, measures, type Measurement } from './evidence.js';

export interface Provenance {
  kind: 'measured' | 'read';
  /** measured: the releases a committed report saw the row's answer on ("6.1.192 x86_64"). */
  on?: string[];
  /** read: the commits the row's bounds rest on ("f442fa614137 mm: gup: stop abusing try_grab_folio (6.10; 6.6.47)"). */
  commits?: string[];
}

export function commitText(id: string): string {
  const c = COMMITS[id];
  if (!c) return id;
  const stable = c.stable?.length ? `; ${c.stable.map((s) => s.release).join(', ')}` : '';
  return `${c.id} "${c.subject}" (${c.mainline}${stable})`;
}

const unique = (xs: string[]): string[] => [...new Set(xs)];
const where = (m: Measurement): string => `${m.version} ${m.arch}`;

/** The releases on which a measurement of `probe` stands for `row` (any case it decides, or only `name`). */
export function rowMeasuredOn(
  probe: string,
  row: Expectation,
  rows: readonly Expectation[],
  evidence: readonly Measurement[] = committedMeasurements(),
  name?: string,
): string[] {
  return unique(evidence.filter((m) => m.probe === probe && (name === undefined || m.case === name) && measures(m, row, rows)).map(where));
}

/** Provenance of the row that answers `name` on `version` (real sublevel) and arch. */
export function provenanceOf(
  probe: string,
  rows: readonly Expectation[],
  name: string,
  version: string,
  arch: Arch,
  evidence: readonly Measurement[] = committedMeasurements(),
): Provenance | undefined {
  const row = expectationFor(rows, name, version, arch);
  if (!row) return undefined;
  const on = rowMeasuredOn(probe, row, rows, evidence, name);
  if (on.length) return { kind: 'measured', on };
  return { kind: 'read', commits: (row.commits ?? []).map(commitText) };
}

/** "measured (6.1.192 x86_64)" or "read from source: <commits>". */
export function provenanceText(p: Provenance): string {
  if (p.kind === 'measured') return `measured (${(p.on ?? []).join(', ')})`;
  return p.commits?.length ? `read from source: ${p.commits.join(', ')}` : 'read from source';
}

// ---------------------------------------------------------------- history

export interface HistorySegment {
  /** First version of the segment ("6.6.47"). */
  from: string;
  /** First version after it, or undefined for the newest. */
  to?: string;
  answer: Answer;
  alternatives?: readonly Answer[];
  warning?: string;
  commits: string[];
  /** Releases inside the segment on which a committed report saw this case's answer. */
  measuredOn: string[];
}

const VERSION = /\d+\.\d+(?:\.\d+)?/g;

function code(v: string): number {
  const [a, b, c] = v.split('.').map(Number);
  return (a ?? 0) * 1_000_000 + (b ?? 0) * 1000 + Math.min(c ?? 0, 999);
}

/**
 * The answers of one case over upstream versions from `from` to `to` (both
 * series, inclusive), cut at every bound the probe's rows name (stable
 * sublevels included), neighbours with the same row merged.
 */
export function caseHistory(
  probe: string,
  rows: readonly Expectation[],
  name: string,
  arch: Arch,
  from: string,
  to: string,
  evidence: readonly Measurement[] = committedMeasurements(),
): HistorySegment[] {
  const lo = code(from);
  const hi = code(to) + 999;
  const points = new Set<string>([from]);
  for (const row of rows) for (const v of row.kernels.match(VERSION) ?? []) if (code(v) > lo && code(v) <= hi) points.add(v);
  const seen = evidence.filter((m) => m.probe === probe && m.case === name && m.arch === arch);
  const sorted = [...points].sort((a, b) => code(a) - code(b));
  const segments: (HistorySegment & { row?: Expectation })[] = [];
  for (const v of sorted) {
    const row = expectationFor(rows, name, v, arch);
    const last = segments.at(-1);
    if (last && last.row === row) continue;
    if (last) last.to = v;
    if (!row) {
      segments.push({ from: v, answer: {}, commits: [], measuredOn: [] });
      continue;
    }
    segments.push({
      from: v,
      answer: row.answer,
      ...(row.alternatives ? { alternatives: row.alternatives } : {}),
      ...(row.warning ? { warning: row.warning } : {}),
      commits: [...(row.commits ?? [])],
      measuredOn: [],
      row,
    });
  }
  for (const seg of segments) {
    const row = seg.row;
    const inside = (v: string): boolean => code(v) >= code(seg.from) && (seg.to === undefined || code(v) < code(seg.to));
    seg.measuredOn = row ? unique(seen.filter((m) => inside(m.version) && measures(m, row, rows)).map(where)) : [];
    delete seg.row;
  }
  return segments;
}

/** "probe/case" -> [probe, case]; the probe id is the part before the first "/" that names one. */
export function splitHistoryCase(spec: string, probeIds: readonly string[]): [string, string] | undefined {
  const probe = probeIds.find((id) => spec.startsWith(`${id}/`));
  return probe ? [probe, spec.slice(probe.length + 1)] : undefined;
}

/** The history as lines of text: one per segment, measured ones marked apart from read ones. */
export function historyText(probe: string, name: string, arch: Arch, segments: readonly HistorySegment[], render: (a: Answer) => string): string {
  const lines = [
    `${probe} ${name} on ${arch}: the expected answer over upstream versions (M measured: a committed report in docs/data saw it on that release; R read from source)`,
  ];
  const rows = segments.map((s) => {
    const range = s.to ? `[${s.from}, ${s.to})` : `>= ${s.from}`;
    const answer = s.answer.ret === undefined && s.answer.note === undefined ? 'no expectation' : render(s.answer);
    const alt = s.alternatives?.length ? ` or ${s.alternatives.map(render).join(' or ')}` : '';
    const warn = s.warning ? ` + WARN ${s.warning}` : '';
    const mark = s.measuredOn.length ? `M (${s.measuredOn.join(', ')})` : 'R';
    const commits = s.commits.length ? `  decided by ${s.commits.map(commitText).join(', ')}` : '';
    return { mark, range, rest: `${answer}${alt}${warn}${commits}` };
  });
  // Columns as wide as their widest cell: a segment measured on three lines has a long mark.
  const markWidth = Math.max(0, ...rows.map((r) => r.mark.length));
  const rangeWidth = Math.max(0, ...rows.map((r) => r.range.length));
  for (const r of rows) lines.push(`  ${r.mark.padEnd(markWidth)}  ${r.range.padEnd(rangeWidth)}  ${r.rest}`);
  return `${lines.join('\n')}\n`;
}
