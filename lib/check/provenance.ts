// Where an expected answer comes from: measured on a kernel line guplab
// boots (lib/vm/runs.ts), or only read from source (then: which commit).
// A booted line is its series' newest Debian build, so a row measured there
// is the row that covers the series' tail; a release of the same series
// that an earlier stable bound puts in another row is read, not measured.
import { ARCH_NAMES } from '../vm/arch.js';
import type { Arch } from '../vm/paths.js';
import { RUN_SETS } from '../vm/runs.js';
import type { Answer } from './report.js';
import { COMMITS, expectationFor, kernelMatches, kernelVersion, type Expectation } from './expectations.js';

/** The kernel lines some run set boots, per arch ("6.1", "6.12", ...). */
export function bootedLines(): Record<Arch, string[]> {
  const lines = Object.fromEntries(ARCH_NAMES.map((a) => [a, [] as string[]])) as Record<Arch, string[]>;
  for (const runs of Object.values(RUN_SETS)) {
    for (const run of runs.split(',')) {
      const [series, arch] = run.trim().split(':') as [string, Arch];
      if (lines[arch] && !lines[arch].includes(series)) lines[arch].push(series);
    }
  }
  for (const a of Object.keys(lines) as Arch[]) lines[a].sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
  return lines;
}

/** The booted release of a line stands for its newest stable: "6.1" -> "6.1.999". */
const tail = (series: string): string => `${series}.999`;

export interface Provenance {
  kind: 'measured' | 'read';
  /** measured: the booted line whose row this is ("6.1 x86_64"). */
  on?: string;
  /** read: the commits the row's bounds rest on ("f442fa614137 mm: gup: stop abusing try_grab_folio (6.10; 6.6.47)"). */
  commits?: string[];
}

export function commitText(id: string): string {
  const c = COMMITS[id];
  if (!c) return id;
  const stable = c.stable?.length ? `; ${c.stable.map((s) => s.release).join(', ')}` : '';
  return `${c.id} "${c.subject}" (${c.mainline}${stable})`;
}

/** Provenance of the row that answers `name` on `version` (real sublevel) and arch. */
export function provenanceOf(rows: readonly Expectation[], name: string, version: string, arch: Arch): Provenance | undefined {
  const row = expectationFor(rows, name, version, arch);
  if (!row) return undefined;
  const series = kernelVersion(version).join('.');
  if (bootedLines()[arch].includes(series) && expectationFor(rows, name, tail(series), arch) === row) return { kind: 'measured', on: `${series} ${arch}` };
  return { kind: 'read', commits: (row.commits ?? []).map(commitText) };
}

/** The booted lines (per arch) whose tail a row covers: where it was measured, if its cases ran there. */
export function rowMeasuredOn(row: Expectation): string[] {
  const out: string[] = [];
  const booted = bootedLines();
  for (const arch of Object.keys(booted) as Arch[]) {
    if (row.arch && row.arch !== arch) continue;
    for (const series of booted[arch]) if (kernelMatches(row.kernels, tail(series))) out.push(`${series} ${arch}`);
  }
  return out;
}

/** "measured (6.1 x86_64)" or "read from source: <commits>". */
export function provenanceText(p: Provenance): string {
  if (p.kind === 'measured') return `measured (${p.on})`;
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
  /** Booted lines inside the segment whose row this is. */
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
export function caseHistory(rows: readonly Expectation[], name: string, arch: Arch, from: string, to: string): HistorySegment[] {
  const lo = code(from);
  const hi = code(to) + 999;
  const points = new Set<string>([from]);
  for (const row of rows) for (const v of row.kernels.match(VERSION) ?? []) if (code(v) > lo && code(v) <= hi) points.add(v);
  const booted = bootedLines()[arch];
  for (const s of booted) if (code(s) >= lo && code(s) <= hi) points.add(s);
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
    seg.measuredOn = row
      ? booted.filter((s) => code(tail(s)) >= code(seg.from) && (seg.to === undefined || code(tail(s)) < code(seg.to)) && expectationFor(rows, name, tail(s), arch) === row).map((s) => `${s} ${arch}`)
      : [];
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
  const lines = [`${probe} ${name} on ${arch}: the expected answer over upstream versions (M measured on a booted line, R read from source)`];
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
