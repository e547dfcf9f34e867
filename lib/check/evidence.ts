// What guplab has measured: the committed check reports (docs/data/,
// written by `make docs-data` from a make test-full run). An expectation row is
// "measured" only where one of these reports ran a case it decides and saw
// an answer it accepts; every other row is read from source, whatever
// lines the run sets could boot.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../util/root.js';
import type { Arch } from '../vm/paths.js';
import { EXPECTATIONS, expectationFor, type Expectation } from './expectations.js';
import { byKernel } from './matrix.js';
import { loadCheckReport, sameAnswer, type Answer, type CheckReport } from './report.js';

export const DATA_DIR = 'docs/data';

/** One case a committed report ran and judged ok. */
export interface Measurement {
  probe: string;
  case: string;
  /** Upstream version of the booted kernel ("6.1.192"). */
  version: string;
  arch: Arch;
  answer: Answer;
}

/** A committed report and its path in the project ("docs/data/check-6.1-x86_64.json"). */
export interface CommittedReport {
  file: string;
  report: CheckReport;
}

/** The check-*.json reports in DATA_DIR/sub, in matrix order (arch, then kernel). */
function reportsIn(root: string, sub: string): CommittedReport[] {
  const rel = sub ? `${DATA_DIR}/${sub}` : DATA_DIR;
  const dir = path.join(root, rel);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^check-.*\.json$/.test(f))
    .map((f) => ({ file: `${rel}/${f}`, report: loadCheckReport(path.join(dir, f)) }))
    .sort((a, b) => byKernel(a.report, b.report));
}

/** The committed module check reports (docs/data/check-*.json). */
export function committedReports(root = projectRoot): CommittedReport[] {
  return reportsIn(root, '');
}

/** The committed consumer reports of guests (docs/data/consumers/check-*-tcg.json and the like; a host's, accelerator none, left out). */
export function committedConsumerReports(root = projectRoot): CommittedReport[] {
  return reportsIn(root, 'consumers').filter((r) => r.report.suite === 'consumers' && r.report.accelerator !== 'none');
}

/** The ok cases of some reports. */
export function measurementsOf(reports: readonly CheckReport[]): Measurement[] {
  return reports.flatMap((r) =>
    r.probes.flatMap((p) =>
      p.cases.flatMap((c) => (c.status === 'ok' && c.answer ? [{ probe: p.id, case: c.case, version: r.version, arch: r.arch, answer: c.answer }] : [])),
    ),
  );
}

let committed: Measurement[] | undefined;

/** The measurements of the committed reports (the npm package ships them too; none where docs/data is absent). */
export function committedMeasurements(): Measurement[] {
  committed ??= measurementsOf(committedReports().map((r) => r.report));
  return committed;
}

/**
 * Does measurement `m` stand for `row`: the row decides m's case on m's
 * kernel today, and accepts the answer m saw (rows edited since the report
 * was written are held against it again, not trusted).
 */
export function measures(m: Measurement, row: Expectation, rows: readonly Expectation[] = EXPECTATIONS[m.probe] ?? []): boolean {
  return expectationFor(rows, m.case, m.version, m.arch) === row && [row.answer, ...(row.alternatives ?? [])].some((a) => sameAnswer(a, m.answer));
}
