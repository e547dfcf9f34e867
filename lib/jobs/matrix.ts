// `guplab matrix`: the check suite (and a short benchmark) on each kernel x
// arch in the VM, then one table of the answers with changes marked; or the
// same table from reports already written.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { loadResult } from '../bench/results.js';
import { resolveSpec } from '../bench/spec.js';
import {
  benchMarkdown,
  buildBenchMatrix,
  buildLinesMatrix,
  buildMatrix,
  byKernel,
  MATRIX_BENCH_SPEC,
  matrixMarkdown,
  matrixTable,
  type Matrix,
} from '../check/matrix.js';
import { checkPassed, loadCheckReport, renderAnswer, type CheckReport } from '../check/run.js';
import { EXPECTATIONS } from '../check/expectations.js';
import { PROBES } from '../check/probes.js';
import { caseHistory, historyText, splitHistoryCase } from '../check/provenance.js';
import type { GuestStep } from '../guest-job.js';
import { collectJobs, formatPlan, jobsMarkdown, makePlan, parseSuites, readPlan, writeJobRecord, type Suite } from './plan.js';
import { checkKernelSpecs, expandKernelSpecs, kmodSources } from '../kernels/kernel.js';
import { resolveBootTarget } from '../kernels/resolve.js';
import type { BootTarget } from '../kernels/target.js';
import { UsageError } from '../util/args.js';
import { writeFileAtomic } from '../util/atomic.js';
import { pool } from '../util/pool.js';
import { projectRoot } from '../util/root.js';
import { fullGuest } from '../vm/guest.js';
import type { Arch } from '../vm/paths.js';
import { vmRun, type VmRunOptions, type VmRunResult } from '../vm/run.js';
import { reportVm, sideBySide } from './vm.js';

/** The check report of one kernel and arch in `out`. */
export const checkFileFor = (out: string, kernel: string, arch: Arch): string => path.resolve(out, `check-${kernel}-${arch}.json`);

/** The short benchmark next to a check report: check-K-A.json -> bench-K-A/results.json. */
export const benchFileFor = (checkFile: string): string =>
  path.join(
    path.dirname(checkFile),
    path
      .basename(checkFile)
      .replace(/^check-/, 'bench-')
      .replace(/\.json$/, ''),
    'results.json',
  );

export interface MatrixRunOptions {
  kernels: readonly string[];
  arches: readonly Arch[];
  out: string;
  /** What each boot runs: the check (always, it makes the table), the short benchmark, the kernel tests. */
  suites: readonly Suite[];
  /** Probe ids (default all). */
  only: readonly string[];
  timeoutSec: number;
  /** Guests booted at once. */
  jobs: number;
  /** Boot every cell, also those with a reusable report. */
  fresh: boolean;
}

/** One boot of one kernel (`kernel` as asked: it names the files) and arch: the suites' steps, files into `out`. */
export async function runMatrixCell(
  kernel: string,
  target: BootTarget,
  o: Omit<MatrixRunOptions, 'kernels' | 'arches' | 'jobs' | 'fresh'>,
  io: Pick<VmRunOptions, 'output' | 'log'> = { output: process.stderr },
): Promise<VmRunResult> {
  const file = checkFileFor(o.out, kernel, target.kernel.arch);
  const steps: GuestStep[] = [];
  if (o.suites.includes('kernel-tests')) steps.push({ kind: 'tests', paths: ['test/kernel'] });
  steps.push({ kind: 'check', only: [...o.only], report: path.basename(file) });
  // The checks decide the exit status; the benchmark only adds figures.
  if (o.suites.includes('bench-short')) {
    steps.push({ kind: 'bench', spec: resolveSpec(MATRIX_BENCH_SPEC), dir: path.basename(path.dirname(benchFileFor(file))), print: 'none', progress: false });
  }
  return vmRun({ target, ...fullGuest(), job: { steps }, timeoutSec: o.timeoutSec, outDir: path.dirname(file), ...io });
}

/**
 * What a cell's answers depend on: the kernel release, the arch, what the
 * boot ran, and guplab itself (buildHash). A report whose key file holds the
 * same is reused instead of booting again.
 */
export function cellKey(release: string, arch: Arch, o: Pick<MatrixRunOptions, 'suites' | 'only'>, build = buildHash(o)): string {
  return JSON.stringify({ release, arch, suites: [...o.suites].sort(), only: [...o.only].sort(), guplab: build });
}

/** The guplab side of a cell's key: the guest code, the module, and (with kernel-tests) the kernel tests. */
export function buildHash(o: Pick<MatrixRunOptions, 'suites'>): string {
  const hash = createHash('sha256');
  const files = [
    ...kmodSources(),
    ...filesUnder(path.join(projectRoot, 'dist', 'lib')),
    ...filesUnder(path.join(projectRoot, 'bin')),
    ...(o.suites.includes('kernel-tests') ? filesUnder(path.join(projectRoot, 'test', 'kernel')) : []),
  ];
  for (const f of files) hash.update(path.relative(projectRoot, f)).update(readFileSync(f));
  return hash.digest('hex').slice(0, 16);
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

export const keyFileFor = (checkFile: string): string => checkFile.replace(/\.json$/, '.key');

/** The cell's report is there, whole, and was made by the same release and guplab. */
export function reusable(file: string, key: string, o: Pick<MatrixRunOptions, 'suites'>): boolean {
  if (!existsSync(file) || !existsSync(keyFileFor(file)) || readFileSync(keyFileFor(file), 'utf8') !== key) return false;
  if (o.suites.includes('bench-short') && !existsSync(benchFileFor(file))) return false;
  try {
    loadCheckReport(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Boots each kernel x arch (`jobs` guests at a time), except the cells whose
 * reports a run of the same release and guplab left (unless `fresh`); returns
 * the report files and the worst exit code of the boots.
 */
export async function runMatrixVms(o: MatrixRunOptions, log: (msg: string) => void): Promise<{ files: string[]; code: number }> {
  const cells = o.arches.flatMap((arch) => expandKernelSpecs(o.kernels, arch, log).map((kernel) => ({ kernel, arch })));
  const build = buildHash(o); // once: every cell runs the same guplab
  const sideBySideRuns = Math.min(o.jobs, cells.length) > 1;
  const outcomes = await pool(cells, o.jobs, async ({ kernel, arch }) => {
    const file = checkFileFor(o.out, kernel, arch);
    const target = resolveBootTarget({ kernel, arch }, log);
    const key = cellKey(target.kernel.release, arch, o, build);
    if (!o.fresh && reusable(file, key, o)) {
      log(`reused ${path.relative(process.cwd(), file)}: same kernel release and guplab build (--fresh boots it again)`);
      return { file, code: 0 };
    }
    rmSync(keyFileFor(file), { force: true });
    const result = await runMatrixCell(kernel, target, o, sideBySideRuns ? sideBySide(`${kernel} ${arch}`, process.stderr) : undefined);
    const code = reportVm(result);
    // A failed probe leaves a whole report (status 1) worth keeping; a failed boot leaves none.
    const whole = result.problems.length === 0 && existsSync(file);
    if (whole && code === 0) writeFileAtomic(keyFileFor(file), key);
    return { file: whole ? file : undefined, code };
  });
  const files = outcomes.flatMap((r) => (r.file ? [r.file] : []));
  return { files, code: outcomes.reduce((worst, r) => worst || r.code, 0) };
}

/** `matrix --job`: one kernel and arch as one CI job: its files, then the job record (last, atomically). */
export async function runMatrixJob(
  kernel: string,
  arch: Arch,
  o: Omit<MatrixRunOptions, 'kernels' | 'arches' | 'jobs' | 'fresh'>,
  version: string,
  log: (msg: string) => void,
): Promise<number> {
  const result = await runMatrixCell(kernel, resolveBootTarget({ kernel, arch }, log), o);
  const status = reportVm(result);
  const file = checkFileFor(o.out, kernel, arch);
  const probes = existsSync(file) ? readCheckReport(file).probes.map((p) => p.id) : [...o.only];
  writeJobRecord(o.out, { id: `${kernel}-${arch}`, kernel, arch, release: result.release, suites: [...o.suites], guplabVersion: version, probes, status });
  return status;
}

/** A check report, checked (check/report.ts); a bad one is a usage error that names the file. */
export function readCheckReport(file: string): CheckReport {
  try {
    return loadCheckReport(file);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

export interface MatrixTableOptions {
  out: string;
  changedOnly: boolean;
  /** Print matrix.json on stdout instead of the table. */
  json?: boolean;
  /** Markdown appended to matrix.md and printed (e.g. the merged jobs' status). */
  extra?: string;
}

/** The matrix from check reports (and the benchmarks next to them): printed, matrix.json and matrix.md; returns the exit code. */
export function matrixFromFiles(files: readonly string[], o: MatrixTableOptions): number {
  const runs = files
    .map((file) => ({ report: readCheckReport(file), bench: existsSync(benchFileFor(file)) ? loadResult(benchFileFor(file)) : undefined }))
    .sort((a, b) => byKernel(a.report, b.report));
  const reports = runs.map((r) => r.report);
  // Consumer reports (guplab consumers check --out) join the module's of the same kernel in one column.
  const both = reports.some((r) => r.suite === 'consumers');
  let matrix: Matrix;
  try {
    matrix = both ? buildLinesMatrix(reports) : { ...buildMatrix(reports), bench: buildBenchMatrix(runs.map((r) => r.bench)) };
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (--from ${files.join(' ')})`);
  }
  console.log(o.json ? JSON.stringify(matrix, null, 2) : matrixTable(matrix, { changedOnly: o.changedOnly }));
  if (o.extra && !o.json) console.log(o.extra);
  const md = `${matrixMarkdown(matrix)}${matrix.bench ? `\n${benchMarkdown(matrix)}` : ''}${o.extra ? `\n${o.extra}` : ''}`;
  writeFileAtomic(path.join(o.out, 'matrix.json'), `${JSON.stringify(matrix, null, 2)}\n`);
  writeFileAtomic(path.join(o.out, 'matrix.md'), md);
  const changed = matrix.rows.filter((r) => r.changed).length;
  process.stderr.write(
    `guplab: ${matrix.rows.length} cases, ${changed} differ between ${matrix.columns.join(', ')}; wrote ${path.resolve(o.out, 'matrix.md')}\n`,
  );
  return reports.every(checkPassed) ? 0 : 1;
}

/** The options of `guplab matrix`: one of its modes (run, --from, --plan, --job, --merge). */
export interface MatrixOptions {
  kernel: string[];
  arch: Arch[];
  out?: string;
  from?: string[];
  bench: boolean;
  suite?: string;
  only: string[];
  changed?: boolean;
  json?: boolean;
  timeout: number;
  jobs: number;
  fresh?: boolean;
  plan?: boolean;
  format?: 'json' | 'github' | 'gitlab';
  job?: boolean;
  merge?: boolean;
  planFile?: string;
  /** PROBE/CASE: print the expected answers of that case over upstream versions (no boot). */
  history?: string;
}

/** `matrix --history PROBE/CASE`: the case's expected answers from 5.10 to 7.3 on the first --arch, deciding commits, measured vs read. */
export function historyCommand(spec: string, arch: Arch): string {
  const split = splitHistoryCase(
    spec,
    PROBES.map((p) => p.id),
  );
  if (!split)
    throw new UsageError(`--history ${spec}: give PROBE/CASE, e.g. cma-longterm/thp/pin_user_pages_fast (probes: ${PROBES.map((p) => p.id).join(', ')})`);
  const [probe, name] = split;
  return historyText(probe, name, arch, caseHistory(probe, EXPECTATIONS[probe] ?? [], name, arch, '5.10', '7.3'), renderAnswer);
}

/** `guplab matrix` in each of its modes; returns the exit code. */
export async function matrixCommand(dirs: readonly string[], o: MatrixOptions & { version: string; log: (msg: string) => void }): Promise<number> {
  if ([o.plan, o.job, o.merge, o.from, o.history].filter(Boolean).length > 1)
    throw new UsageError('--plan, --job, --merge, --from and --history are different modes: give one');
  if (o.history) {
    process.stdout.write(historyCommand(o.history, o.arch[0] ?? 'x86_64'));
    return 0;
  }
  const suites = o.suite ? parseSuites(o.suite) : o.bench ? (['check', 'bench-short'] as Suite[]) : (['check'] as Suite[]);
  if (o.plan) {
    // Per arch: "all" names other series on each.
    const plans = o.arch.map((arch) =>
      makePlan({ kernels: expandKernelSpecs(o.kernel, arch, o.log), arches: [arch], suites, only: o.only, out: o.out ?? 'results/jobs', version: o.version }),
    );
    const plan = { ...plans[0]!, jobs: plans.flatMap((p) => p.jobs) };
    const args = [
      `--kernel ${o.kernel.join(',')}`,
      `--arch ${o.arch.join(',')}`,
      `--suite ${suites.join(',')}`,
      ...(o.only.length ? [`--only ${o.only.join(',')}`] : []),
    ];
    const text = formatPlan(plan, o.format ?? 'json', args.join(' '));
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    return 0;
  }
  const run = { suites, only: o.only, timeoutSec: o.timeout };
  if (o.job) {
    if (o.kernel.length !== 1 || o.arch.length !== 1)
      throw new UsageError('--job runs one kernel and one arch: give --kernel K --arch A (guplab matrix --plan lists the jobs)');
    checkKernelSpecs(o.kernel, o.arch, o.log);
    return runMatrixJob(o.kernel[0]!, o.arch[0]!, { ...run, out: o.out ?? 'results/jobs' }, o.version, o.log);
  }
  const out = o.out ?? 'results';
  const table = { out, changedOnly: o.changed ?? false, json: o.json ?? false };
  if (o.merge) {
    if (!dirs.length) throw new UsageError('--merge needs the folders the jobs wrote: guplab matrix --merge DIR...');
    const input = collectJobs(dirs, o.planFile ? readPlan(o.planFile) : undefined);
    const files = input.jobs.map((j) => checkFileFor(j.dir, j.record.kernel, j.record.arch)).filter((f) => existsSync(f));
    const code = files.length ? matrixFromFiles(files, { ...table, extra: jobsMarkdown(input) }) : 1;
    return input.missing.length || input.jobs.some((j) => j.record.status !== 0) ? 1 : code;
  }
  if (dirs.length) throw new UsageError(`unexpected ${dirs.join(' ')}: folders are for --merge`);
  if (o.from) return matrixFromFiles(o.from, table);
  checkKernelSpecs(o.kernel, o.arch, o.log); // every kernel resolved before the first boot
  const { files, code } = await runMatrixVms({ ...run, kernels: o.kernel, arches: o.arch, out, jobs: o.jobs, fresh: o.fresh ?? false }, o.log);
  if (!files.length) return code || 1;
  const tableCode = matrixFromFiles(files, table);
  return code || tableCode;
}
