// `guplab bench`: the benchmark matrix through the in-kernel loop, here or in a guest (one or two kernels).
import { type Command, InvalidArgumentError, Option } from 'commander';
import { BACKING_NAMES } from '../bench/backings.js';
import { DEFAULT_SPEC, formatSize, loadSpecFile, resolveSpec, type Spec } from '../bench/spec.js';
import { benchHere, benchInVm } from '../jobs/bench.js';
import { baselineDir, existingBaseline } from '../bench/baseline.js';
import { nonNegativeInt, positiveInt, UsageError } from '../util/args.js';
import { checkKernelSpecs, DEFAULT_KERNEL } from '../kernels/kernel.js';
import type { Arch } from '../vm/paths.js';
import { type VmCliOptions, log, list, addVmOptions, refuseVmOnly, vmBase } from './options.js';

interface BenchCliOptions extends VmCliOptions {
  spec?: string;
  api?: string[];
  backing?: string[];
  size?: string[];
  ppc?: string[];
  flags?: string[];
  prefault?: 'yes' | 'no' | 'both';
  iterations?: number;
  warmup?: number;
  targetMs?: number;
  dir?: string;
  out: string;
  json?: boolean;
  progress: boolean;
  report: boolean;
  vm?: boolean;
  mde?: number;
  budget?: number;
  saveBaseline?: string;
  baseline?: string;
  verify?: boolean;
  timing?: 'batch' | 'pass';
}

/** "10%" or "10" -> 0.10 (a percentage in (0, 100]). */
function percent(value: string): number {
  const n = Number(value.trim().replace(/%$/, ''));
  if (!Number.isFinite(n) || n <= 0 || n > 100) throw new InvalidArgumentError('expected a percentage in (0, 100], e.g. 10%');
  return n / 100;
}

/** CLI options over the spec file over the defaults. */
function benchSpec(opts: BenchCliOptions): Spec {
  const input: Record<string, unknown> = opts.spec ? { ...(loadSpecFile(opts.spec) as object) } : {};
  if (opts.api) input.apis = opts.api;
  if (opts.backing) input.backings = opts.backing;
  if (opts.size) input.sizes = opts.size;
  if (opts.ppc) input.pagesPerCall = opts.ppc.map((p) => (p === 'all' ? p : Number(p)));
  if (opts.flags) input.flags = opts.flags.map((f) => (f === 'none' ? [] : f.split('+')));
  if (opts.prefault) input.prefault = { yes: [true], no: [false], both: [true, false] }[opts.prefault];
  if (opts.iterations !== undefined) input.iterations = opts.iterations;
  if (opts.warmup !== undefined) input.warmup = opts.warmup;
  if (opts.targetMs !== undefined) input.targetMs = opts.targetMs;
  if (opts.dir) input.dir = opts.dir;
  if (opts.mde !== undefined) input.mde = opts.mde;
  if (opts.budget !== undefined) input.budgetSec = opts.budget;
  if (opts.verify) input.verify = true;
  if (opts.timing) input.timing = opts.timing;
  return resolveSpec(input);
}

export function addBenchCommand(program: Command, host: Arch): void {
  const vmOptions = (cmd: Command): Command => addVmOptions(cmd, host);
  vmOptions(
    program
      .command('bench')
      .description('benchmark matrix (API x backing x size x pages/call x flags x prefaulted) through the in-kernel loop; table, results.json, report.html')
      .option(
        '--spec <file>',
        'JSON spec file (keys: apis, backings, sizes, pagesPerCall, flags, prefault, warmup, rounds, iterations, minSamples, maxSamples, targetMs, dir, mde, budgetSec, verify, timing)',
      )
      .option(
        '--api <names>',
        `APIs, comma-separated: the GUP entry points, hmm_range_fault, and hmm_refault and hmm_refault_mprotect (the mirror's MADV_DONTNEED or mprotect r/rw + refill cycles) (default: ${DEFAULT_SPEC.apis.join(',')})`,
        list,
      )
      .option('--backing <names>', `backings: ${BACKING_NAMES.join(',')} (default: ${DEFAULT_SPEC.backings.join(',')})`, list)
      .option('--size <sizes>', `buffer sizes, e.g. 64K,2M,16M (default: ${DEFAULT_SPEC.sizes.map(formatSize).join(',')})`, list)
      .option('--ppc <n>', 'pages per GUP call, comma-separated numbers or "all" (default: all)', list)
      .option('--flags <combos>', 'flag combinations, comma-separated, flags joined by +, e.g. none,write,write+longterm', list)
      .addOption(
        new Option('--prefault <mode>', 'pages present before the call (yes), faulted in by GUP on a fresh buffer per sample (no), or both').choices([
          'yes',
          'no',
          'both',
        ]),
      )
      .option('--iterations <n>', 'fixed samples per case (default: adaptive)', positiveInt)
      .option('--warmup <n>', 'warm-up iterations per prefaulted case and round (adaptive runs make at least 1)', nonNegativeInt)
      .option('--target-ms <ms>', 'adaptive: in-kernel time to aim for per case', positiveInt)
      .option('--dir <path>', 'folder for the file and dax backings')
      .option('--out <dir>', 'folder for results.json and report.html', 'results')
      .option('--json', 'print the JSON result instead of the table')
      .option('--no-progress', 'no progress bar (also off in CI, with --json, or without a terminal)')
      .option('--no-report', 'no report.html')
      .option(
        '--mde <percent>',
        'after the rounds, more rounds of the cases whose minimum detectable effect is above this (e.g. 10%), within --budget',
        percent,
      )
      .option('--budget <seconds>', 'time budget of the extra rounds --mde adds (default 600)', positiveInt)
      .option('--save-baseline <name>', 'save this run as a named baseline under <out>/baselines/<name>')
      .option('--baseline <name>', 'compare this run against a saved baseline (exit 1 on a significant slowdown)')
      .addOption(
        new Option(
          '--timing <mode>',
          "how the in-kernel loop times an iteration: pass, mm/gup_test.c's method (the clock read once per pass, every batch held, an untimed verify, then one put; a locked API's mmap_read_lock outside the timer), or batch (the clock around each call, each batch released at once); *_remote and hmm_range_fault are always batch (default: pass)",
        ).choices(['pass', 'batch']),
      )
      .option(
        '--verify',
        "after each case's timed loop, an untimed call with page facts checks that the pages taken were the buffer's and pinned as asked, and that the loop left no pin (off by default)",
      )
      .option(
        '--vm',
        'boot the kernel in QEMU (with what the backings need) and run the benchmark there; --kernel A,B: one guest per kernel, rounds alternated between them (A/B in one run, ab.json)',
      ),
  ).action(async (opts: BenchCliOptions, cmd: Command) => {
    refuseVmOnly(cmd, opts.vm);
    if (opts.budget !== undefined && opts.mde === undefined)
      throw new UsageError('--budget bounds the extra rounds of --mde: add --mde 10% (or drop --budget)');
    let spec: Spec;
    try {
      spec = benchSpec(opts); // validated on the host before any boot
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message.replace(/\n/g, ' ') : String(err));
    }
    const kernels = (opts.kernel ?? DEFAULT_KERNEL).split(',').map((k) => k.trim());
    if (kernels.some((k) => !k)) throw new UsageError(`--kernel ${opts.kernel ?? ''}: an empty kernel in the list; give e.g. --kernel 6.1,6.12`);
    const output = {
      out: opts.out,
      json: opts.json ?? false,
      progress: opts.progress,
      report: opts.report,
      ...(opts.saveBaseline ? { saveBaseline: opts.saveBaseline } : {}),
      ...(opts.baseline ? { baseline: opts.baseline } : {}),
    };
    if (kernels.length > 1) {
      if (opts.kernelImage)
        throw new UsageError(
          '--kernel A,B with --kernel-image: an A/B run boots Debian kernels only for now; run the user kernel with its own bench --vm and guplab compare',
        );
      if (opts.baseline || opts.saveBaseline)
        throw new UsageError(
          '--baseline/--save-baseline take one result: with --kernel A,B compare inside the run (guplab compare <out>/ab.json), or bench one kernel',
        );
      checkKernelSpecs(kernels, [opts.arch ?? host], log); // every kernel resolved before the first boot
      const { benchAbInVm } = await import('../jobs/bench-ab.js');
      process.exitCode = await benchAbInVm(spec, vmBase(opts, cmd), { ...output, kernels, command: ['guplab', ...process.argv.slice(2)] });
      return;
    }
    if (opts.saveBaseline) baselineDir(opts.out, opts.saveBaseline); // a bad name fails now, not after the run
    if (opts.baseline) existingBaseline(opts.out, opts.baseline);
    process.exitCode = opts.vm ? await benchInVm(spec, vmBase(opts, cmd), output) : await benchHere(spec, output);
  });
}
