// Runs the probes, holds each observation against its expectation for this
// kernel, and reports as KTAP (the kernel's test output format) and JSON.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { GupDevice } from '../device.js';
import { hostArch, type Arch } from '../vm/paths.js';
import { ENV, expectKernelWarning, type GuestMount } from '../contract.js';
import { EXPECTATIONS, expectationFor, runningVersion, kernelMatches } from './expectations.js';
import { PROBES, type Observation } from './probes.js';
import type { Measurement } from './evidence.js';
import { provenanceOf, provenanceText } from './provenance.js';
import { CHECK_SCHEMA_VERSION, renderAnswer, sameAnswer, type CaseResult, type CheckReport, type ProbeResult } from './report.js';

export {
  CHECK_SCHEMA_VERSION,
  checkPassed,
  loadCheckReport,
  parseCheckReport,
  renderAnswer,
  type Answer,
  type CaseResult,
  type CheckReport,
  type ProbeResult,
} from './report.js';

export interface CheckOptions {
  /** Probe ids to run (default all). */
  only?: readonly string[];
  mounts?: GuestMount[];
  tmpfs?: string;
  /** Called with each KTAP line as it is produced. */
  onLine?: (line: string) => void;
}

/**
 * Holds one observation against the first expectation row that covers it
 * on this kernel (its full version, sublevel included) and arch.
 */
export function judge(probeId: string, o: Observation, version: string, arch: Arch, evidence?: readonly Measurement[]): CaseResult {
  if ('skip' in o) return { case: o.case, status: 'skip', skip: o.skip };
  const rows = EXPECTATIONS[probeId] ?? [];
  const row = expectationFor(rows, o.case, version, arch);
  if (!row) return { case: o.case, status: 'unexpected', answer: o.answer };
  const provenance = provenanceOf(probeId, rows, o.case, version, arch, evidence);
  const accepted = [row.answer, ...(row.alternatives ?? [])].find((a) => sameAnswer(a, o.answer));
  return {
    case: o.case,
    status: accepted ? 'ok' : 'fail',
    answer: o.answer,
    expected: accepted ?? row.answer,
    source: row.source,
    ...(row.caller ? { caller: row.caller } : {}),
    ...(provenance ? { provenance: provenanceText(provenance) } : {}),
  };
}

/** How many judged cases had a measured expectation, how many one read from source only. */
export function expectationCounts(report: Pick<CheckReport, 'probes'>): { measured: number; read: number } {
  const judged = report.probes.flatMap((p) => p.cases).filter((c) => c.provenance);
  const measured = judged.filter((c) => c.provenance?.startsWith('measured')).length;
  return { measured, read: judged.length - measured };
}

/**
 * The report with one probe's result taken from another boot of the same
 * kernel (`boot` says which guest), the totals counted again. Refuses a
 * report of another release or arch.
 */
export function withProbeFrom(report: CheckReport, other: CheckReport, probeId: string, boot: string): CheckReport {
  if (other.release !== report.release || other.arch !== report.arch)
    throw new Error(`${probeId} from ${other.release} ${other.arch} cannot join a report of ${report.release} ${report.arch}`);
  const probe = other.probes.find((p) => p.id === probeId);
  if (!probe) throw new Error(`the ${other.release} ${other.arch} report has no ${probeId} probe`);
  const probes = report.probes.some((p) => p.id === probeId)
    ? report.probes.map((p) => (p.id === probeId ? { ...probe, boot } : p))
    : [...report.probes, { ...probe, boot }];
  const totals = { ok: 0, fail: 0, skip: 0, unexpected: 0 };
  for (const c of probes.flatMap((p) => p.cases)) totals[c.status]++;
  return { ...report, probes, totals, ...(report.expectations ? { expectations: expectationCounts({ probes }) } : {}) };
}

/** The summary line: which expectations a run held its answers against. */
export function expectationSummary(report: Pick<CheckReport, 'probes' | 'version' | 'arch'>): string {
  const { measured, read } = expectationCounts(report);
  if (measured === 0 && read > 0)
    return `expectations: all ${read} read from source only (no committed report saw them on ${report.version} ${report.arch}): this run is their first measurement`;
  return `expectations: ${measured} measured in a committed report, ${read} read from source only`;
}

/** KTAP names may not contain "#"; keep them to one token. */
function ktapName(name: string): string {
  return name.replace(/[#\s]+/g, '_');
}

const oneLine = (text: string): string => text.replace(/\s*[\r\n]+\s*/g, ' | ').trim();

/**
 * Free text after a "#": one line, and never read as a directive (an
 * observation that began with SKIP or TODO would turn a result into one).
 */
export function ktapText(text: string): string {
  const line = oneLine(text);
  return /^(skip|todo|xfail)/i.test(line) ? `observed: ${line}` : line;
}

export function ktapCase(index: number, r: CaseResult): string[] {
  const name = ktapName(r.case);
  if (r.status === 'skip') return [`ok ${index} ${name} # SKIP ${oneLine(r.skip ?? '')}`];
  const observed = ktapText(renderAnswer(r.answer ?? {}));
  if (r.status === 'ok') {
    // A measured expectation is the norm; one only read from source says so.
    const read = r.provenance?.startsWith('read') ? ` (expected: ${ktapText(r.provenance)})` : '';
    return [`ok ${index} ${name} # ${observed}${read}`];
  }
  const diag =
    r.status === 'unexpected'
      ? ['# no expectation covers this case on this kernel']
      : [
          `# expected: ${ktapText(renderAnswer(r.expected ?? {}))}${r.provenance ? ` (${ktapText(r.provenance)})` : ''}`,
          `# decided by: ${ktapText(r.source ?? '')}`,
        ];
  return [...diag, `not ok ${index} ${name} # ${observed}`];
}

/** Runs the probes on the open device and returns the report; KTAP lines go to onLine as they come. */
export function runCheck(options: CheckOptions = {}): CheckReport {
  const emit = options.onLine ?? (() => undefined);
  const dev = GupDevice.open();
  try {
    const info = dev.info();
    const arch = hostArch();
    const probes = PROBES.filter((p) => !options.only?.length || options.only.includes(p.id));
    const unknown = options.only?.filter((id) => !PROBES.some((p) => p.id === id)) ?? [];
    if (unknown.length) throw new RangeError(`unknown probe(s) ${unknown.join(', ')}: choose from ${PROBES.map((p) => p.id).join(', ')}`);
    const ctx = { dev, mounts: options.mounts ?? [], tmpfs: options.tmpfs ?? '/dev/shm' };
    let procVersion = '';
    try {
      procVersion = readFileSync('/proc/version', 'utf8');
    } catch {
      // not Linux procfs: the release string is all there is
    }
    const version = runningVersion(info.release, procVersion);
    const report: CheckReport = {
      schemaVersion: CHECK_SCHEMA_VERSION,
      release: info.release,
      version,
      arch,
      accelerator: process.env[ENV.accel] ?? 'bare metal',
      probes: [],
      totals: { ok: 0, fail: 0, skip: 0, unexpected: 0 },
    };
    emit('KTAP version 1');
    emit(`# guplab check on ${info.release} (${version}) ${arch} (${report.accelerator}), ${os.cpus()[0]?.model ?? 'unknown CPU'}`);
    emit(`1..${probes.length}`);
    for (const [i, probe] of probes.entries()) {
      const result: ProbeResult = { id: probe.id, title: probe.title, cases: [] };
      emit('    KTAP version 1');
      emit(`    # Subtest: ${probe.id}`);
      emit(`    # ${probe.title}`);
      // WARNs the expectations say this kernel answers with, declared
      // before the calls so the VM's dmesg watchdog lets them pass.
      for (const row of EXPECTATIONS[probe.id] ?? []) {
        if (row.warning && kernelMatches(row.kernels, version) && (!row.arch || row.arch === arch)) {
          expectKernelWarning(row.warning, `guplab check ${probe.id}: ${row.cases} ${renderAnswer(row.answer)}`);
        }
      }
      const started = performance.now();
      try {
        const observations = probe.run(ctx);
        result.cases = observations.map((o) => judge(probe.id, o, version, arch));
      } catch (err) {
        result.error = err instanceof Error ? err.message : String(err);
      }
      if (result.error) emit(`    # error: ${ktapText(result.error)}`);
      emit(`    # time: ${((performance.now() - started) / 1000).toFixed(2)} s`);
      emit(`    1..${result.cases.length}`);
      for (const [j, c] of result.cases.entries()) {
        report.totals[c.status]++;
        for (const line of ktapCase(j + 1, c)) emit(`    ${line}`);
      }
      const failed = result.error !== undefined || result.cases.some((c) => c.status === 'fail' || c.status === 'unexpected');
      const skipped = result.cases.length > 0 && result.cases.every((c) => c.status === 'skip');
      emit(`${failed ? 'not ok' : 'ok'} ${i + 1} ${probe.id}${skipped ? ` # SKIP ${oneLine(result.cases[0]?.skip ?? '')}` : ''}`);
      report.probes.push(result);
    }
    const t = report.totals;
    emit(`# totals: ok ${t.ok}, fail ${t.fail}, unexpected ${t.unexpected}, skip ${t.skip}`);
    report.expectations = expectationCounts(report);
    emit(`# ${expectationSummary(report)}`);
    return report;
  } finally {
    dev.close();
  }
}
