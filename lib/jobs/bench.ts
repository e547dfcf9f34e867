// `guplab bench`: here (bare metal, or already in a guest) or in a VM, where
// the guest runs the benchmark and the host renders the report.
import path from 'node:path';
import { guestNeeds } from '../bench/backings.js';
import { runBench } from '../bench/engine.js';
import { hostProgressSink, progressFor, wantsBar } from '../bench/progress.js';
import { loadResult, type BenchResult } from '../bench/results.js';
import type { Spec } from '../bench/spec.js';
import { benchTable, verifyFailures } from '../bench/table.js';
import { existingBaseline, saveBaseline } from '../bench/baseline.js';
import { compareFiles } from './compare.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { GuestMemoryOptions } from '../vm/guest.js';
import { vmRun } from '../vm/run.js';
import { provenance } from '../bench/environment.js';
import { bootTarget, reportVm, type VmBase } from './vm.js';

export interface BenchOutput {
  /** Folder for results.json and report.html. */
  out: string;
  /** Print the JSON result instead of the table. */
  json: boolean;
  /** Progress bar allowed (still off in CI, with --json, or without a terminal). */
  progress: boolean;
  /** Render report.html. */
  report: boolean;
  /** Save the run as this named baseline (under out/baselines). */
  saveBaseline?: string;
  /** Compare the run against this named baseline (checked to exist before the run). */
  baseline?: string;
}

/** After a run: save it as a baseline, compare it with one; returns the exit code (compare's, with --baseline). */
function baselines(result: BenchResult, o: BenchOutput): number {
  let code = verifyFailures(result).length ? 1 : 0; // a failed --verify fails the run
  if (code) process.stderr.write(`guplab: --verify failed for ${verifyFailures(result).length} case(s): see the table and results.json (cases[].verify)\n`);
  if (o.baseline) code = Math.max(code, compareFiles(existingBaseline(o.out, o.baseline), path.resolve(o.out, 'results.json'), 10, false));
  if (o.saveBaseline) process.stderr.write(`guplab: saved baseline ${o.saveBaseline}: ${saveBaseline(o.out, o.saveBaseline, result)}\n`);
  return code;
}

/**
 * The guest memory a benchmark in the VM boots with: what its backings need
 * (2 MiB huge pages for hugetlb, an ext4 disk for file, pmem with DAX ext4
 * for dax, where the kernel can do DAX), each overridden by what the user chose.
 */
export function benchGuestMemory(spec: Spec, chosen: GuestMemoryOptions): GuestMemoryOptions {
  const needs = guestNeeds(spec.backings, Math.max(...spec.sizes));
  // pmem only where the kernel can do DAX (vm/guest.ts daxForKernel): elsewhere the dax cases report "not run" with the reason.
  return { ...needs, ...(needs.pmem && !chosen.pmem ? { daxOptional: true } : {}), ...chosen };
}

/** Adds who ran it, how and where to a result made here (under --vm the guest writes the host's, given in its job step). */
export function withProvenance(result: BenchResult, command?: readonly string[]): BenchResult {
  result.provenance = provenance(command);
  return result;
}

export async function writeReport(result: BenchResult, out: string): Promise<void> {
  const { renderReport, benchMarkdown, benchCsv, samplesCsv } = await import('../bench/report.js'); // vega loads slowly: only when a report is made
  writeFileAtomic(path.join(out, 'report.html'), await renderReport(result));
  writeFileAtomic(path.join(out, 'results.md'), benchMarkdown(result));
  writeFileAtomic(path.join(out, 'results.csv'), benchCsv(result));
  writeFileAtomic(path.join(out, 'samples.csv'), samplesCsv(result));
}

/** Runs the benchmark on this machine's kernel; returns the exit code. */
export async function benchHere(spec: Spec, o: BenchOutput): Promise<number> {
  const result = withProvenance(await runBench(spec, { progress: progressFor(o.json || !o.progress) }));
  writeFileAtomic(path.join(o.out, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
  if (o.report) await writeReport(result, o.out);
  console.log(o.json ? JSON.stringify(result, null, 2) : benchTable(result));
  process.stderr.write(`guplab: wrote ${path.resolve(o.out, 'results.json')}${o.report ? ' and report.html' : ''}\n`);
  return baselines(result, o);
}

/** Boots the kernel, runs the benchmark in the guest, renders the report on the host; returns the exit code. */
export async function benchInVm(spec: Spec, vm: VmBase, o: BenchOutput): Promise<number> {
  const memory = benchGuestMemory(spec, vm.memory ?? {});
  const result = await vmRun({
    ...vm,
    target: bootTarget({ ...vm, memory }),
    timingClock: true,
    memory,
    job: { steps: [{ kind: 'bench', spec, dir: '', print: o.json ? 'json' : 'table', progress: o.progress && !o.json, provenance: provenance() }] },
    outDir: path.resolve(o.out),
    env: { GUPLAB_PROGRESS_LINES: '1' },
    output: hostProgressSink(!vm.verbose && wantsBar(o.json || !o.progress)),
  });
  const code = reportVm(result);
  if (code !== 0) return code;
  const json = path.resolve(o.out, 'results.json');
  // The host, faster than an emulated CPU, renders the report.
  const loaded = loadResult(json);
  if (o.report) await writeReport(loaded, o.out);
  process.stderr.write(`guplab: wrote ${json}${o.report ? ` and ${path.resolve(o.out, 'report.html')}` : ''}\n`);
  return baselines(loaded, o);
}
