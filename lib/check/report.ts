// The check report as data: answers are structured ({ret, then?, note?}),
// rendered to strings only at the edge (KTAP lines, matrix tables). Readers
// (matrix --from) import this module, never the probes or the device.
import { readFileSync } from 'node:fs';
import { errnoName } from '../errors.js';
import type { Arch } from '../vm/paths.js';

/** Version 2: answers are objects (version 1 stored display strings). */
export const CHECK_SCHEMA_VERSION = 2;

/**
 * What the kernel answered in one case. `ret` is a GUP return value
 * verbatim (pages taken, or -errno); `then` the return value of a second
 * call the case makes (partial: the rest of the range); `note` what the
 * probe saw besides the return values (which page was pinned, whether the
 * pin stayed coherent, ...). A case that is not a GUP call (the pin
 * counters' balance) has a note only.
 */
export interface Answer {
  ret?: number;
  then?: number;
  note?: string;
}

export interface CaseResult {
  case: string;
  /** ok: as expected; fail: differs; skip: could not run here; unexpected: no expectation covers it. */
  status: 'ok' | 'fail' | 'skip' | 'unexpected';
  /** What was observed (absent for a skip). */
  answer?: Answer;
  expected?: Answer;
  /** The deciding kernel function, from the expectation row. */
  source?: string;
  /** Set when guplab's way of calling decides the answer, not the kernel version (e.g. a locked pointer). */
  caller?: string;
  /** Where the expected answer comes from: "measured (6.1 x86_64)", or "read from source: <commits>". */
  provenance?: string;
  skip?: string;
}

export interface ProbeResult {
  id: string;
  title: string;
  cases: CaseResult[];
  /** A probe that threw: the message. */
  error?: string;
  /** The probe ran in another boot of the same kernel than the rest of the report: that guest's setting (test-vm's +cma runs). */
  boot?: string;
}

export interface CheckReport {
  schemaVersion: number;
  /** Absent: the module's probes (guplab check); 'consumers': the kernel's own consumers (lib/consumers/run.ts). */
  suite?: 'consumers';
  /** Why guplab.ko could not be built for this kernel (the archive keeps only its image), when it could not. */
  imageOnly?: string;
  release: string;
  /** The kernel version the expectations were matched against, with its real sublevel ("6.1.192" for Debian's 6.1.0-57). */
  version: string;
  arch: Arch;
  accelerator: string;
  probes: ProbeResult[];
  totals: { ok: number; fail: number; skip: number; unexpected: number };
  /** How many judged cases had a measured expectation and how many one only read from source. */
  expectations?: { measured: number; read: number };
}

/** A GUP return value as people write it: "16", "-EFAULT". */
export function fmt(ret: number): string {
  return ret >= 0 ? String(ret) : `-${errnoName(ret).replace(/^-/, '')}`;
}

/** "8 then -EFAULT", "1, same page", "balanced". */
export function renderAnswer(a: Answer): string {
  const calls = [a.ret === undefined ? '' : fmt(a.ret), a.then === undefined ? '' : `then ${fmt(a.then)}`].filter(Boolean).join(' ');
  return [calls, a.note ?? ''].filter(Boolean).join(', ');
}

export function sameAnswer(a: Answer, b: Answer): boolean {
  return a.ret === b.ret && a.then === b.then && (a.note ?? '') === (b.note ?? '');
}

/** The check passed: nothing failed, no case lacked an expectation, no probe threw. */
export function checkPassed(report: CheckReport): boolean {
  return report.totals.fail === 0 && report.totals.unexpected === 0 && report.probes.every((p) => p.error === undefined);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isAnswer = (v: unknown): boolean =>
  isObject(v) &&
  (v.ret === undefined || Number.isInteger(v.ret)) &&
  (v.then === undefined || Number.isInteger(v.then)) &&
  (v.note === undefined || typeof v.note === 'string');

/**
 * Parses a check report (the JSON `guplab check --json` writes), refusing
 * any other shape or schema version with one line that names the file.
 */
export function parseCheckReport(text: string, file: string): CheckReport {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message})`);
  }
  const fail = (why: string): never => {
    throw new Error(`${file}: not a guplab check report of schema version ${CHECK_SCHEMA_VERSION} (${why}); re-run guplab check to write one`);
  };
  if (!isObject(data)) return fail('not an object');
  if (data.schemaVersion !== CHECK_SCHEMA_VERSION) return fail(`schemaVersion ${JSON.stringify(data.schemaVersion)}`);
  if (typeof data.release !== 'string' || typeof data.version !== 'string' || typeof data.arch !== 'string' || typeof data.accelerator !== 'string')
    return fail('no release, version, arch or accelerator');
  if (!Array.isArray(data.probes) || !isObject(data.totals)) return fail('no probes or totals');
  for (const p of data.probes) {
    if (!isObject(p) || typeof p.id !== 'string' || !Array.isArray(p.cases)) return fail('a probe without id or cases');
    for (const c of p.cases) {
      if (!isObject(c) || typeof c.case !== 'string' || !['ok', 'fail', 'skip', 'unexpected'].includes(c.status as string))
        return fail(`probe ${p.id}: a case without name or status`);
      if (c.status !== 'skip' && !isAnswer(c.answer)) return fail(`probe ${p.id}, case ${c.case}: answer is not {ret?, then?, note?}`);
      if (c.expected !== undefined && !isAnswer(c.expected)) return fail(`probe ${p.id}, case ${c.case}: expected is not {ret?, then?, note?}`);
    }
  }
  return data as unknown as CheckReport;
}

/** Reads and parses a check report file (see parseCheckReport). */
export function loadCheckReport(file: string): CheckReport {
  return parseCheckReport(readFileSync(file, 'utf8'), file);
}
