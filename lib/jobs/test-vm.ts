// `guplab test-vm`: the kernel test suite, then the semantics check, in one
// boot per kernel:arch, in the full guest (vm/guest.ts fullGuest); then the
// kernel matrix of the check reports, without more boots.
import path from 'node:path';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { checkJunit } from '../check/junit.js';
import { loadCheckReport, withProbeFrom } from '../check/run.js';
import { UsageError } from '../util/args.js';
import { pool } from '../util/pool.js';
import { writeFileAtomic } from '../util/atomic.js';
import { cmaBootText, cmaGuest, fullGuest } from '../vm/guest.js';
import { ARCHES, ARCH_NAMES } from '../vm/arch.js';
import type { Arch } from '../vm/paths.js';
import { vmRun, type VmRunResult } from '../vm/run.js';
import { resolveBootTarget } from '../kernels/resolve.js';
import type { BootTarget } from '../kernels/target.js';
import { checkFileFor, matrixFromFiles } from './matrix.js';
import { reportVm, sideBySide } from './vm.js';

export interface TestVmRun {
  kernel: string;
  arch: Arch;
}

/** "6.1:x86_64,6.12:arm64" -> runs; an arch-less entry takes the host's. */
export function parseRuns(text: string, defaultArch: Arch): TestVmRun[] {
  return text.split(',').map((entry) => {
    const [kernel, arch = defaultArch] = entry.trim().split(':');
    if (!kernel) throw new UsageError(`empty kernel in --runs "${text}": use KERNEL:ARCH pairs, e.g. 6.1:x86_64,6.12:arm64`);
    if (!(ARCH_NAMES as string[]).includes(arch)) throw new UsageError(`unknown arch "${arch}" in --runs: use ${ARCH_NAMES.join(' or ')}`);
    return { kernel, arch: arch as Arch };
  });
}

export interface TestVmOptions {
  runs: readonly TestVmRun[];
  out: string;
  /** Guests booted at once. */
  jobs: number;
  timeoutSec: number;
  /** Test paths for vitest, relative to the project. */
  tests: string[];
  /** Test files only the first run runs (runs.ts ONCE_PER_SET). */
  once?: readonly string[];
}

/** Seconds per test file of one run, from the vitest JSON report the guest kept beside its JUnit file. */
export function fileSeconds(jsonText: string): Map<string, number> {
  const report = JSON.parse(jsonText) as { testResults?: { name: string; startTime?: number; endTime?: number }[] };
  const out = new Map<string, number>();
  for (const t of report.testResults ?? []) {
    const file = t.name.replace(/^.*?(?=test\/)/, '');
    out.set(file, ((t.endTime ?? 0) - (t.startTime ?? 0)) / 1000);
  }
  return out;
}

/** The per-file time table of a test-vm run (guest wall seconds; a file missing from a run shows -). */
export function fileTimesTable(runs: readonly { name: string; seconds: Map<string, number> }[]): string {
  const files = [...new Set(runs.flatMap((r) => [...r.seconds.keys()]))].sort();
  const width = Math.max(4, ...files.map((f) => f.length));
  const head = `${'file'.padEnd(width)}  ${runs.map((r) => r.name.padStart(14)).join('  ')}`;
  const rows = files.map(
    (f) => `${f.padEnd(width)}  ${runs.map((r) => (r.seconds.has(f) ? `${r.seconds.get(f)!.toFixed(1)} s` : '-').padStart(14)).join('  ')}`,
  );
  const total = `${'total'.padEnd(width)}  ${runs.map((r) => `${[...r.seconds.values()].reduce((a, b) => a + b, 0).toFixed(1)} s`.padStart(14)).join('  ')}`;
  return [head, ...rows, total].join('\n');
}

/**
 * The run's second, short boot in the cma guest: cma-longterm, skipped in
 * the full guest, joins the run's check report from there (its probe says
 * which boot); the cma boot's own report stays beside it as cma-K-A.json.
 */
async function withCmaBoot(r: TestVmRun, target: BootTarget, main: VmRunResult, o: TestVmOptions): Promise<VmRunResult> {
  const file = checkFileFor(o.out, r.kernel, r.arch);
  const cmaFile = path.join(o.out, `cma-${r.kernel}-${r.arch}.json`);
  const cma = await vmRun({
    target,
    ...cmaGuest(),
    job: { steps: [{ kind: 'check', only: ['cma-longterm'], report: path.basename(cmaFile) }] },
    timeoutSec: o.timeoutSec,
    outDir: path.resolve(o.out),
    ...(o.jobs > 1 ? sideBySide(`${r.kernel} ${r.arch} cma`) : {}),
  });
  if (cma.status !== 0 || !existsSync(cmaFile) || !existsSync(file)) {
    return { ...cma, status: cma.status || 1, problems: [...cma.problems, `the cma boot of ${r.kernel} ${r.arch} (cma-longterm) left no passing report`] };
  }
  writeFileAtomic(file, `${JSON.stringify(withProbeFrom(loadCheckReport(file), loadCheckReport(cmaFile), 'cma-longterm', cmaBootText()), null, 2)}\n`);
  return { ...main, wallMs: main.wallMs + cma.wallMs };
}

export async function testVm(o: TestVmOptions): Promise<number> {
  rmSync(o.out, { recursive: true, force: true });
  const started = Date.now();
  // Every kernel resolved (fetched) once, before the first boot: a bad one fails before any guest runs.
  const targets = o.runs.map((r) => resolveBootTarget(r, (m) => process.stderr.write(`guplab: ${m}\n`)));
  const results = await pool(o.runs, o.jobs, async (r): Promise<VmRunResult> => {
    const name = `${r.kernel} ${r.arch}`;
    const exclude = r === o.runs[0] ? [] : [...(o.once ?? [])];
    const target = targets[o.runs.indexOf(r)] as BootTarget;
    const main = await vmRun({
      target,
      ...fullGuest(),
      job: {
        steps: [
          { kind: 'tests', paths: o.tests, ...(exclude.length ? { exclude } : {}), junit: `junit-tests-${r.kernel}-${r.arch}.xml` },
          { kind: 'check', only: [], report: path.basename(checkFileFor(o.out, r.kernel, r.arch)) },
        ],
      },
      timeoutSec: o.timeoutSec,
      outDir: path.resolve(o.out),
      ...(o.jobs > 1 ? sideBySide(name) : {}),
    });
    return ARCHES[r.arch].cmaBoot && main.status === 0 ? withCmaBoot(r, target, main, o) : main;
  });
  let worst = 0;
  for (const result of results) {
    const code = reportVm(result);
    if (code !== 0 && worst === 0) worst = code;
  }
  const wall = ((Date.now() - started) / 1000).toFixed(0);
  process.stderr.write(
    `guplab: test-vm: ${results.map((r) => `${r.release} ${r.arch} ${(r.wallMs / 1000).toFixed(0)} s (exit ${r.status ?? '-'})`).join(', ')}; wall ${wall} s with ${o.jobs} guest(s) at a time\n`,
  );
  const timed = o.runs.flatMap((r) => {
    const file = path.join(o.out, `vitest-tests-${r.kernel}-${r.arch}.json`);
    return existsSync(file) ? [{ name: `${r.kernel} ${r.arch}`, seconds: fileSeconds(readFileSync(file, 'utf8')) }] : [];
  });
  if (timed.length) process.stderr.write(`guplab: test-vm: kernel test time per file (guest wall clock)\n${fileTimesTable(timed)}\n`);
  if (worst !== 0) return worst;
  // The check reports as JUnit XML too, beside the kernel tests' own.
  for (const r of o.runs) {
    const file = checkFileFor(o.out, r.kernel, r.arch);
    writeFileAtomic(path.join(o.out, `junit-check-${r.kernel}-${r.arch}.xml`), checkJunit(loadCheckReport(file)));
  }
  return matrixFromFiles(
    o.runs.map((r) => checkFileFor(o.out, r.kernel, r.arch)),
    { out: o.out, changedOnly: true },
  );
}
