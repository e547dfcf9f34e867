// The guplab command line: options wired to the jobs in lib/jobs/ (and the
// stress and VM modules). No job logic lives here.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { API_NAMES, FLAG_NAMES, isApiName, isFlagName, type ApiName, type FlagName } from './abi.js';
import { BACKING_NAMES, type BackingName } from './bench/backings.js';
import { overheadTable, runOverhead } from './bench/overhead.js';
import { DEFAULT_SPEC, formatSize, loadSpecFile, parseSize, resolveSpec, type Spec } from './bench/spec.js';
import { PROBES } from './check/probes.js';
import { GupDevice } from './device.js';
import { benchHere, benchInVm } from './jobs/bench.js';
import { checkHere, checkInVm } from './jobs/check.js';
import { compareCommand } from './jobs/compare.js';
import { baselineDir, existingBaseline } from './bench/baseline.js';
import { kmodCheck } from './jobs/kmod-check.js';
import { pinOnce, pinText } from './jobs/pin.js';
import { checkFileFor, matrixCommand, type MatrixOptions } from './jobs/matrix.js';
import { SUITES } from './jobs/plan.js';
import { parseRuns, testVm } from './jobs/test-vm.js';
import { expandRuns, onceTests, RUN_SETS } from './vm/runs.js';
import { reportVm, type VmBase } from './jobs/vm.js';
import { bisectReleases, bisectRunStep, parseProbeCase, type ProbeCase } from './jobs/bisect.js';
import { listKernels } from './jobs/kernels.js';
import { DEFAULT_GDB_PORT, numaArgs, vmShell } from './jobs/shell.js';
import { addStressCommand } from './stress/cli.js';
import { addConsumersCommand } from './commands/consumers.js';
import { intAtLeast, nonNegativeInt, positiveInt, UsageError } from './util/args.js';
import { projectRoot } from './util/root.js';
import { bootBench, bootBenchTable } from './vm/bootbench.js';
import type { GuestFs, GuestMemoryOptions } from './vm/guest.js';
import { ARCH_NAMES, parseArchList } from './vm/arch.js';
import { checkKernelSpecs, DEFAULT_KERNEL, STABLE_LINES } from './kernels/kernel.js';
import { hostArch, type Arch } from './vm/paths.js';
import { vmRun } from './vm/run.js';
import { selftestsBuildOnly, selftestsInVm } from './jobs/selftests.js';
import { fidelityInVm } from './jobs/fidelity.js';

/** VM options of a command line; the guest memory options are GuestMemoryOptions' own. */
interface VmCliOptions extends GuestMemoryOptions {
  kernel?: string;
  arch?: Arch;
  kernelImage?: string;
  kernelBuild?: string;
  timeout: number;
  mem: number;
  cpus: number;
  append: string[];
  verbose?: boolean;
  accel: 'auto' | 'kvm' | 'tcg';
  firstBootTimeout: number;
}

function fsList(value: string): GuestFs[] {
  const fss = value.split(',').map((v) => v.trim());
  for (const fs of fss) if (fs !== 'ext4' && fs !== 'xfs') throw new InvalidArgumentError(`unknown filesystem "${fs}": use ext4, xfs or ext4,xfs`);
  return fss as GuestFs[];
}

function size(value: string): string {
  if (!/^\d+[MG]$/i.test(value)) throw new InvalidArgumentError('expected a size like 256M or 1G');
  return value;
}

/** A comma-separated --arch list (vm/arch.ts names what exists). */
function arches(value: string): Arch[] {
  try {
    return parseArchList(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

const log = (msg: string): void => void process.stderr.write(`guplab: ${msg}\n`);

const commaList = (v: string): string[] =>
  v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const list = (v: string, acc: string[] | undefined): string[] => [...(acc ?? []), ...commaList(v)];

function addVmOptions(cmd: Command, host: Arch): Command {
  return cmd
    .option(
      '--kernel <version>',
      'Debian kernel: series (5.10, 6.1, 6.12, 7.2), major (7: the newest 7.x) or exact release (guplab kernels lists them); LINE-debug (6.12-debug) builds a debug kernel of that line (KASAN, lockdep, DEBUG_VM, GUP_TEST) once',
      DEFAULT_KERNEL,
    )
    .option(
      '--arch <arch>',
      `guest architecture, ${ARCH_NAMES.join(' or ')} (default: the host's, ${host}, or a user kernel's own)`,
      (v: string) => arches(v)[0] as Arch,
    )
    .option('--kernel-image <path>', 'boot your own kernel image (with --kernel-build) instead of a Debian kernel')
    .option('--kernel-build <dir>', 'build tree (or headers) of --kernel-image, to build guplab.ko against')
    .option('--timeout <seconds>', 'kill the guest after this long', positiveInt, 900)
    .option('--mem <MiB>', 'guest memory', positiveInt, 2048)
    .option('--cpus <n>', 'guest CPUs', positiveInt, 2)
    .option('--append <arg>', 'extra kernel command line argument (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--hugepages <n>', 'reserve n 2 MiB hugetlb pages at boot', positiveInt)
    .option('--hugepages-1g <n>', 'reserve n 1 GiB hugetlb pages at boot', positiveInt)
    .addOption(new Option('--thp <mode>', 'transparent_hugepage= mode').choices(['always', 'madvise', 'never']))
    .option('--movablecore <size>', 'memory for ZONE_MOVABLE (movablecore=), e.g. 512M', size)
    .option(
      '--pmem <size>',
      'emulated pmem per region (x86_64: memmap= out of --mem; arm64: a device-tree pmem region beyond --mem; needs a kernel with FS_DAX and ZONE_DEVICE), e.g. 256M',
      size,
    )
    .option('--dax <fs>', 'make and mount these filesystems on pmem with -o dax=always at /mnt/guplab/<fs>-dax', fsList)
    .option('--fs <fs>', 'make these filesystems on virtio disks (ext4, xfs, ext4,xfs) and mount them at /mnt/guplab/<fs>', fsList)
    .option('--verbose', 'print the whole boot console')
    .addOption(new Option('--accel <accel>', 'accelerator (auto: KVM where the CPU and /dev/kvm allow it)').choices(['auto', 'kvm', 'tcg']).default('auto'))
    .option('--first-boot-timeout <seconds>', 'retry with TCG when a KVM boot has not reached the command after this long', positiveInt, 60);
}

/** Options that only mean something in a VM: every option addVmOptions adds (one list: that function). */
const VM_ONLY: readonly Option[] = addVmOptions(new Command(), 'x86_64').options;

/** Refuses VM options on a command run without --vm (the results would be labelled with this machine's kernel). */
function refuseVmOnly(cmd: Command, vm: boolean | undefined): void {
  if (vm) return;
  const flags = VM_ONLY.filter((o) => cmd.getOptionValueSource(o.attributeName()) === 'cli').map((o) => o.long ?? o.flags);
  if (flags.length) {
    throw new UsageError(
      `${flags.join(', ')} ${flags.length > 1 ? 'only apply' : 'only applies'} with --vm: add --vm to run in a guest, or drop ${flags.length > 1 ? 'them' : 'it'} to run on this machine's kernel`,
    );
  }
}

/** The VM run a command line asks for, less its command. */
function vmBase(opts: VmCliOptions, cmd: Command): VmBase {
  const memory: GuestMemoryOptions = {};
  for (const key of ['hugepages', 'hugepages1g', 'thp', 'movablecore', 'pmem', 'dax', 'fs'] as const) {
    if (opts[key] !== undefined) Object.assign(memory, { [key]: opts[key] });
  }
  return {
    ...(opts.kernel !== undefined ? { kernel: opts.kernel } : {}),
    ...(opts.arch ? { arch: opts.arch } : {}),
    ...(opts.kernelImage ? { kernelImage: opts.kernelImage } : {}),
    ...(opts.kernelBuild ? { kernelBuild: opts.kernelBuild } : {}),
    timeoutSec: opts.timeout,
    memMiB: opts.mem,
    memChosen: cmd.getOptionValueSource('mem') !== 'default',
    cpus: opts.cpus,
    append: opts.append,
    memory,
    verbose: opts.verbose ?? false,
    accel: opts.accel,
    firstBootTimeoutSec: opts.firstBootTimeout,
  };
}

const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };

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

/**
 * The guplab program with every command, not run. `host` is the arch that
 * defaults and help name (the reference docs pin it: the same page on any host).
 */
export function buildProgram(host: Arch = hostArch()): Command {
  const vmOptions = (cmd: Command): Command => addVmOptions(cmd, host);
  const program = new Command('guplab')
    .description('Call, time and check get_user_pages / pin_user_pages on a real kernel')
    .version(pkg.version)
    .exitOverride()
    .addHelpText(
      'after',
      `
Conventions: --json prints machine output on stdout; --out DIR writes files; lists are comma-separated.
Exit status: 0 ok; 1 a test, check or comparison failed; 2 bad usage (nothing was started);
4 check: every case skipped (kselftest). vm run: the command's own status, or 123 the kernel
reported trouble (WARN/BUG/Oops), 124 timeout, 125 the guest never finished the command.`,
    );

  const vm = program.command('vm').description('run commands in a QEMU guest with guplab.ko loaded');
  vmOptions(vm.command('run').description('boot a kernel, run a command in the project directory, exit with its status'))
    .argument('<command...>', 'command and arguments (put them after --)')
    .option('--out <dir>', 'host folder that receives what the command writes to $GUPLAB_VM_OUT')
    .option(
      '--numa <node>',
      'NUMA guest: N equal nodes, or one SIZE[,cpus=LIST] per node adding up to --mem (repeatable)',
      (v: string, acc: string[] | undefined) => [...(acc ?? []), v],
    )
    .option(
      '--no-module',
      'boot without guplab.ko (no /dev/guplab; $GUPLAB_NO_MODULE=1): the only way to boot an image-only kernel line, one whose headers the archive lost (guplab kernels marks them)',
    )
    .action(async (command: string[], opts: VmCliOptions & { out?: string; numa?: string[]; module: boolean }, cmd: Command) => {
      const base = vmBase(opts, cmd);
      const result = await vmRun({
        ...base,
        module: opts.module,
        command,
        qemuExtraArgs: numaArgs(base, opts.numa),
        ...(opts.out ? { outDir: path.resolve(opts.out) } : {}),
      });
      process.exitCode = reportVm(result);
    });

  vmOptions(
    vm.command('shell').description('boot a kernel with guplab.ko loaded and open a terminal on it: a shell, or a Node REPL with guplab at hand (--repl)'),
  )
    .argument('[command...]', 'run this on the terminal instead of a shell (after --)')
    .option('--repl', 'a Node REPL with guplab imported, dev (an open GupDevice) and the mapping functions in scope')
    .option('--gdb [port]', `start QEMU's gdb stub on 127.0.0.1:PORT (default ${DEFAULT_GDB_PORT}), boot with nokaslr, print the gdb command`, (v: string) =>
      positiveInt(v),
    )
    .option(
      '--numa <node>',
      'NUMA guest: N equal nodes, or one SIZE[,cpus=LIST] per node adding up to --mem (repeatable)',
      (v: string, acc: string[] | undefined) => [...(acc ?? []), v],
    )
    .action(async (command: string[], opts: VmCliOptions & { repl?: boolean; gdb?: number | true; numa?: string[] }, cmd: Command) => {
      const base = vmBase(opts, cmd);
      if (cmd.getOptionValueSource('timeout') === 'default') delete base.timeoutSec;
      if (opts.repl && command.length) throw new UsageError('--repl and a command exclude each other: the REPL is the command');
      const gdb = opts.gdb === true ? DEFAULT_GDB_PORT : opts.gdb;
      const result = await vmShell(base, {
        ...(opts.repl ? { repl: true } : {}),
        ...(gdb !== undefined ? { gdb } : {}),
        ...(opts.numa ? { numa: opts.numa } : {}),
        command,
      });
      process.exitCode = reportVm(result);
    });

  vm.command('boot-bench')
    .description('boot each kernel and arch a few times with `true` and print boot-to-command wall time')
    .option('--kernel <versions>', 'comma-separated kernel series', commaList, [...STABLE_LINES])
    .option('--arch <arches>', 'comma-separated arches', arches, [...ARCH_NAMES])
    .option('--runs <n>', 'boots per kernel and arch', positiveInt, 3)
    .option('--with-pmem <size>', 'also boot with --pmem SIZE --dax ext4,xfs (each run: without, then with), e.g. 128M', size)
    .option('--json', 'print JSON instead of the table')
    .action(async (opts: { kernel: string[]; arch: Arch[]; runs: number; withPmem?: string; json?: boolean }) => {
      const rows = await bootBench({ kernels: opts.kernel, arches: opts.arch, runs: opts.runs, ...(opts.withPmem ? { withPmem: opts.withPmem } : {}) });
      console.log(opts.json ? JSON.stringify(rows, null, 2) : bootBenchTable(rows));
    });

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
      const { benchAbInVm } = await import('./jobs/bench-ab.js');
      process.exitCode = await benchAbInVm(spec, vmBase(opts, cmd), { ...output, kernels, command: ['guplab', ...process.argv.slice(2)] });
      return;
    }
    if (opts.saveBaseline) baselineDir(opts.out, opts.saveBaseline); // a bad name fails now, not after the run
    if (opts.baseline) existingBaseline(opts.out, opts.baseline);
    process.exitCode = opts.vm ? await benchInVm(spec, vmBase(opts, cmd), output) : await benchHere(spec, output);
  });

  vmOptions(
    program
      .command('check')
      .description('semantics probes as KTAP: what each GUP call answers on this kernel, against per-kernel expectations')
      .option('--only <ids>', 'comma-separated probe ids (see --list)', commaList, [] as string[])
      .option('--list', 'list the probes, each with its question, and exit')
      .option('--out <dir>', 'write the report as JSON into DIR (with --vm default results/; file check-KERNEL-ARCH.json)')
      .option('--junit <file>', 'also write the results as JUnit XML (one testsuite per probe)')
      .option('--vm', 'boot the kernel in QEMU (huge pages, ZONE_MOVABLE, pmem/DAX) and check there'),
  ).action(async (opts: VmCliOptions & { only: string[]; list?: boolean; out?: string; junit?: string; vm?: boolean }, cmd: Command) => {
    if (opts.list) {
      for (const p of PROBES) console.log(`${p.id.padEnd(18)} ${p.title}`);
      return;
    }
    const unknown = opts.only.filter((id) => !PROBES.some((p) => p.id === id));
    if (unknown.length) throw new UsageError(`unknown probe ${unknown.join(', ')}: \`guplab check --list\` shows the ${PROBES.length} probes`);
    refuseVmOnly(cmd, opts.vm);
    if (opts.vm) {
      const vm = vmBase(opts, cmd);
      const file = checkFileFor(opts.out ?? 'results', vm.kernel ?? DEFAULT_KERNEL, vm.arch ?? host);
      process.exitCode = await checkInVm(opts.only, vm, file, opts.junit && path.resolve(opts.junit));
    } else process.exitCode = checkHere(opts.only, opts.out ? path.resolve(opts.out, 'check.json') : undefined, opts.junit && path.resolve(opts.junit));
  });

  vmOptions(
    program
      .command('pin')
      .description("one GUP call on a fresh buffer: the kernel's answer and what each page is (page facts)")
      .requiredOption('--api <name>', `entry point: ${API_NAMES.join(', ')}`)
      .option(
        '--flags <flags>',
        `flags joined by , or +: ${FLAG_NAMES.join(', ')}`,
        (v: string) =>
          v
            .split(/[,+]/)
            .map((f) => f.trim())
            .filter((f) => f && f !== 'none'),
        [] as string[],
      )
      .addOption(new Option('--backing <name>', 'memory to pin').choices([...BACKING_NAMES]).default('4K'))
      .option('--size <size>', 'buffer size, whole 4K pages', '64K')
      .option('--no-prefault', 'leave the buffer unfaulted (GUP faults it in)')
      .option('--dir <path>', 'folder for the file and dax backings')
      .option('--json', 'print the answer as JSON')
      .option('--vm', 'boot the kernel in QEMU and make the call there'),
  ).action(
    async (
      opts: VmCliOptions & { api: string; flags: string[]; backing: BackingName; size: string; prefault: boolean; dir?: string; json?: boolean; vm?: boolean },
      cmd: Command,
    ) => {
      if (!isApiName(opts.api)) throw new UsageError(`unknown API "${opts.api}": use one of ${API_NAMES.join(', ')}`);
      const badFlags = opts.flags.filter((f) => !isFlagName(f));
      if (badFlags.length) throw new UsageError(`unknown flag ${badFlags.join(', ')}: use ${FLAG_NAMES.join(', ')} (joined by , or +)`);
      let size: number;
      try {
        size = parseSize(opts.size);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      if (size < 4096 || size % 4096 !== 0) throw new UsageError(`--size ${opts.size}: a buffer is whole 4 KiB pages, use a multiple of 4K, e.g. 64K, 2M`);
      refuseVmOnly(cmd, opts.vm);
      if (opts.vm) {
        const args = [
          'pin',
          '--api',
          opts.api,
          '--backing',
          opts.backing,
          '--size',
          opts.size,
          ...(opts.flags.length ? ['--flags', opts.flags.join(',')] : []),
          ...(opts.prefault ? [] : ['--no-prefault']),
          ...(opts.dir ? ['--dir', opts.dir] : []),
          ...(opts.json ? ['--json'] : []),
        ];
        const base = vmBase(opts, cmd);
        const spec = resolveSpec({ backings: [opts.backing], sizes: [size] });
        const { benchGuestMemory } = await import('./jobs/bench.js');
        const result = await vmRun({
          ...base,
          memory: benchGuestMemory(spec, base.memory ?? {}),
          command: ['node', path.join(projectRoot, 'bin', 'guplab.js'), ...args],
        });
        process.exitCode = reportVm(result);
        return;
      }
      const call = {
        api: opts.api as ApiName,
        flags: opts.flags as FlagName[],
        backing: opts.backing,
        size,
        prefault: opts.prefault,
        ...(opts.dir ? { dir: opts.dir } : {}),
      };
      const answer = pinOnce(call);
      console.log(opts.json ? JSON.stringify(answer, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2) : pinText(answer));
    },
  );

  program
    .command('matrix')
    .description(
      'run check (and a short benchmark) on every kernel x arch in the VM and print one table of the answers, changes marked; or plan it as CI jobs and merge what they left',
    )
    .argument('[dirs...]', 'with --merge: the folders the jobs wrote')
    .option('--kernel <versions>', 'comma-separated kernel series or releases; all = every series the archive has headers for', commaList, ['all'])
    .option('--arch <arches>', 'comma-separated arches', arches, [host])
    .option('--out <dir>', 'folder for the check reports, benchmark results, matrix.json and matrix.md (default results; jobs: results/jobs)')
    .option('--jobs <n>', 'guests booted at once', positiveInt, 2)
    .option('--fresh', 'boot every kernel, also those whose report in --out came from the same release and guplab build')
    .option('--from <files...>', 'build the table from existing check JSON reports (and bench-*/results.json next to them) instead of booting')
    .option('--no-bench', 'no short benchmark (fast vs unlocked, get vs pin, 4K vs THP) after the checks')
    .option('--suite <list>', `what each boot runs: ${SUITES.join(', ')} (default check,bench-short)`)
    .option('--only <ids>', 'comma-separated probe ids (default all)', commaList, [] as string[])
    .option('--changed', 'print only the rows that differ between columns')
    .option('--json', 'print matrix.json (with --plan: the plan) on stdout instead of the table')
    .option('--timeout <seconds>', 'per-VM timeout', positiveInt, 1200)
    .option('--plan', 'print the jobs (one per kernel x arch, each one guplab command) instead of running them')
    .addOption(
      new Option('--format <engine>', 'with --plan: json, or the matrix shape of github (strategy.matrix) or gitlab (parallel:matrix)').choices([
        'json',
        'github',
        'gitlab',
      ]),
    )
    .option('--job', 'run one kernel x arch as a CI job: its files and a job record in --out')
    .option('--merge', 'build the table from the folders the jobs wrote ([dirs...]), marking failed and missing jobs')
    .option('--plan-file <file>', 'with --merge: the plan (guplab matrix --plan > FILE), to name the jobs that left nothing')
    .option(
      '--history <probe/case>',
      "print one case's expected answers over upstream versions 5.10-7.3 (on the first --arch), the deciding commits, measured vs read from source; no boot",
    )
    .action(async (dirs: string[], opts: MatrixOptions) => {
      const unknown = opts.only.filter((id) => !PROBES.some((p) => p.id === id));
      if (unknown.length) throw new UsageError(`unknown probe ${unknown.join(', ')}: \`guplab check --list\` shows the ${PROBES.length} probes`);
      process.exitCode = await matrixCommand(dirs, { ...opts, version: pkg.version, log });
    });

  program
    .command('test-vm')
    .description('the kernel test suite and the check suite in one boot per kernel:arch (the full guest), then the matrix of the answers')
    .option(
      '--runs <list>',
      `a run set (${Object.entries(RUN_SETS)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ')}) or comma-separated KERNEL:ARCH pairs`,
      'full',
    )
    .option('--out <dir>', 'folder for the check reports and the matrix', 'results/test-vm')
    .option('--jobs <n>', 'guests booted at once', positiveInt, 1)
    .option('--timeout <seconds>', 'per-VM timeout', positiveInt, 1800)
    .option('--tests <paths>', 'test paths for vitest', commaList, ['test/kernel'])
    .option('--once <files>', "test files only the first run runs (default: the run set's kernel-independent files, none for KERNEL:ARCH pairs)", commaList)
    .action(async (opts: { runs: string; out: string; jobs: number; timeout: number; tests: string[]; once?: string[] }) => {
      const runs = parseRuns(expandRuns(opts.runs), host);
      process.exitCode = await testVm({
        runs,
        out: opts.out,
        jobs: opts.jobs,
        timeoutSec: opts.timeout,
        tests: opts.tests,
        once: opts.once ?? onceTests(opts.runs),
      });
    });

  program
    .command('compare')
    .description(
      'per case, the change of the median (new/base) with a bootstrap 95% CI; exit 1 on a significant slowdown beyond the threshold, 2 when the files cannot be compared or share no case that ran in both',
    )
    .argument('<files...>', 'base.json new.json; or new.json with --baseline NAME; or one ab.json of an A/B run (every kernel against the first)')
    .option(
      '--threshold <percent>',
      'smallest change that counts',
      (v: string) => {
        const n = Number(v);
        if (!Number.isFinite(n) || n < 0 || n > 1000) throw new InvalidArgumentError('expected a percentage, e.g. 10');
        return n;
      },
      10,
    )
    .option('--json', 'print the comparison as JSON')
    .option('--baseline <name>', 'compare the one file given against this saved baseline (bench --save-baseline)')
    .option('--results <dir>', 'results folder that holds baselines/', 'results')
    .option('--out <dir>', 'also write compare.html (forest plot: ratio, CI, threshold, verdict, MDE), compare.md and compare.csv here')
    .action((files: string[], opts: { threshold: number; json?: boolean; baseline?: string; results: string; out?: string }) => {
      process.exitCode = compareCommand(files, {
        thresholdPercent: opts.threshold,
        json: opts.json ?? false,
        resultsDir: opts.results,
        ...(opts.baseline ? { baseline: opts.baseline } : {}),
        ...(opts.out ? { outDir: opts.out } : {}),
      });
    });

  program
    .command('overhead')
    .description("the harness's own overhead: a 1-page PIN from TypeScript, from a C loop, and inside the kernel loop")
    .option('--calls <n>', 'calls per path per round', positiveInt, 2000)
    .option(
      '--rounds <n>',
      'rounds: every path once per round, TypeScript / C paired by round',
      intAtLeast(2, "the ratio's CI is drawn by pairs of rounds"),
      10,
    )
    .option('--json', 'print the figures as JSON (every sample with its round)')
    .action(async (opts: { calls: number; rounds: number; json?: boolean }) => {
      const r = await runOverhead({ calls: opts.calls, rounds: opts.rounds });
      console.log(opts.json ? JSON.stringify(r, null, 2) : overheadTable(r));
    });

  vmOptions(
    program
      .command('selftests')
      .description(
        "the kernel's own GUP selftests (gup_test with mm/gup_test.c built out of tree, gup_longterm, cow) from Debian's linux-source of the kernel's line; KTAP, a JSON summary and the cross-check against guplab's probes",
      )
      .option('--out <dir>', 'folder for selftests-RELEASE-ARCH.{ktap,json} and crosscheck-RELEASE-ARCH.md', 'results/selftests')
      .option('--no-cross-check', "skip guplab's probes in the same boot (no cross-check table)")
      .option('--only <binaries>', 'only these selftests, comma-separated (gup_test, gup_longterm, cow)', commaList)
      .option('--vm', 'boot the kernel in QEMU and run them there (without: build only)'),
  ).action(async (opts: VmCliOptions & { out: string; crossCheck: boolean; only?: string[]; vm?: boolean }, cmd: Command) => {
    if (opts.kernelImage) throw new UsageError('selftests builds from a Debian linux-source package: --kernel-image is not supported; pass --kernel LINE');
    if (!opts.vm) {
      const given = ['kernel', 'arch'].filter((k) => cmd.getOptionValueSource(k) === 'cli');
      process.exitCode = selftestsBuildOnly(opts.kernel ?? DEFAULT_KERNEL, opts.arch ?? host);
      if (given.length === 0) log('selftests: built for the default kernel; add --vm to run them');
      return;
    }
    const bad = (opts.only ?? []).filter((b) => !['gup_test', 'gup_longterm', 'cow', 'anon_cow'].includes(b));
    if (bad.length) throw new UsageError(`unknown selftest ${bad.join(', ')}: --only takes gup_test, gup_longterm, cow (anon_cow before 6.2)`);
    process.exitCode = await selftestsInVm(vmBase(opts, cmd), { out: opts.out, crossCheck: opts.crossCheck, ...(opts.only ? { only: opts.only } : {}) });
  });

  vmOptions(
    program
      .command('fidelity')
      .description(
        "gup_test's in-kernel benchmark and guplab's BENCH on the same work in one boot: ns/page side by side (figures from the accelerator used: TCG here)",
      )
      .option('--out <dir>', 'folder for fidelity-RELEASE-ARCH.{json,md}', 'results/fidelity')
      .option('--repeats <n>', 'gup_test -r and guplab --iterations per case and round', positiveInt, 5)
      .option('--rounds <n>', 'rounds, each every case on both sides (the ratio per round shows the drift of the host)', positiveInt, 3)
      .option('--vm', 'boot the kernel in QEMU (required)'),
  ).action(async (opts: VmCliOptions & { out: string; repeats: number; rounds: number; vm?: boolean }, cmd: Command) => {
    if (!opts.vm) throw new UsageError('fidelity runs in a guest with gup_test.ko: add --vm');
    process.exitCode = await fidelityInVm(vmBase(opts, cmd), { out: opts.out, repeats: opts.repeats, rounds: opts.rounds });
  });

  program
    .command('kmod-check')
    .description('build kmod/ warning-free with W=1 (and sparse C=1) against each kernel and arch')
    .option('--kernel <versions>', 'comma-separated kernel series or releases; all: every series the archive has headers for', commaList, [...STABLE_LINES])
    .option('--arch <arches>', 'comma-separated arches', arches, [...ARCH_NAMES])
    .action((opts: { kernel: string[]; arch: Arch[] }) => {
      checkKernelSpecs(opts.kernel, opts.arch, log); // every kernel resolved before the first download
      process.exitCode = kmodCheck(opts.kernel, opts.arch);
    });

  program
    .command('bisect')
    .description(
      'find the first packaged release where a probe case answers like --new (binary search, one boot per step); with --kernel-image, one git-bisect-run step (exit 0 old, 1 new, 125 skip)',
    )
    .requiredOption('--case <probe/case>', 'the probe case, e.g. longterm-variants/pin_user_pages_unlocked', parseProbeCase)
    .option('--old <release>', 'a release (or series) answering the old way')
    .option('--new <release>', 'a later release (or series) answering the new way')
    .option('--arch <arch>', 'guest architecture', (v: string) => arches(v)[0] as Arch, host)
    .option('--kernel-image <path>', 'git bisect run mode: boot this kernel image (with --kernel-build)')
    .option('--kernel <release>', 'git bisect run mode on a packaged release instead of --kernel-image')
    .option('--kernel-build <dir>', 'build tree of --kernel-image')
    .option('--old-answer <answer>', "git bisect run mode: the old kernels' answer (exit 0)")
    .option('--new-answer <answer>', 'git bisect run mode: the new answer (exit 1); without it any other answer is new')
    .option('--timeout <seconds>', 'per-boot timeout', positiveInt, 900)
    .action(
      async (opts: {
        case: ProbeCase;
        old?: string;
        new?: string;
        arch: Arch;
        kernel?: string;
        kernelImage?: string;
        kernelBuild?: string;
        oldAnswer?: string;
        newAnswer?: string;
        timeout: number;
      }) => {
        const log = (m: string): void => void process.stderr.write(`guplab: ${m}\n`);
        const print = (line: string): void => console.log(line);
        if (opts.kernelImage || opts.oldAnswer !== undefined) {
          if (opts.oldAnswer === undefined || (opts.kernelImage && !opts.kernelBuild)) {
            // Above 127: git bisect run stops instead of taking a usage error for an answer.
            log('git bisect run mode needs --old-answer (e.g. --old-answer -EINVAL) and --kernel-image with --kernel-build (or --kernel RELEASE)');
            process.exitCode = 128;
            return;
          }
          const target = opts.kernelImage
            ? { kernelImage: opts.kernelImage, kernelBuild: opts.kernelBuild!, arch: opts.arch }
            : { kernel: opts.kernel ?? DEFAULT_KERNEL, arch: opts.arch };
          process.exitCode = await bisectRunStep({
            target,
            pc: opts.case,
            oldAnswer: opts.oldAnswer,
            ...(opts.newAnswer !== undefined ? { newAnswer: opts.newAnswer } : {}),
            timeoutSec: opts.timeout,
            log,
            print,
          });
          return;
        }
        if (!opts.old || !opts.new)
          throw new InvalidArgumentError('pass --old and --new releases (guplab kernels lists them), or --kernel-image for git bisect run');
        await bisectReleases({ pc: opts.case, oldSpec: opts.old, newSpec: opts.new, arch: opts.arch, timeoutSec: opts.timeout, log, print });
      },
    );

  program
    .command('kernels')
    .description('the Debian kernels the archive offers per arch (series, newest usable release, image-only ones) and what is cached')
    .option('--arch <arches>', 'comma-separated arches', ARCH_NAMES.join(','))
    .option('--all', 'one line per release')
    .option('--refresh', 'update the archive index now (else once a day)')
    .option('--json', 'print the releases as JSON')
    .action((opts: { arch: string; all?: boolean; refresh?: boolean; json?: boolean }) => {
      const r = listKernels({
        arches: parseArchList(opts.arch),
        all: opts.all ?? false,
        refresh: opts.refresh ?? false,
        log: (m) => process.stderr.write(`guplab: ${m}\n`),
      });
      console.log(opts.json ? JSON.stringify(r.kernels, null, 1) : r.text);
    });

  program
    .command('info')
    .description('print what the loaded module offers')
    .action(() => {
      const dev = GupDevice.open();
      console.log(JSON.stringify(dev.info(), null, 2));
      dev.close();
    });
  addStressCommand(program);
  addConsumersCommand(program, { vmOptions, refuseVmOnly, vmBase: (opts, cmd) => vmBase(opts as VmCliOptions, cmd), host });
  return program;
}

/** Runs the command line (bin/guplab.js): exit status in process.exitCode, usage errors as one line. */
export async function runCli(argv: readonly string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander printed its own message; help and --version are not errors.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
    } else {
      process.stderr.write(`guplab: ${err instanceof Error ? err.message : String(err)}\n`);
      const usage = err instanceof UsageError || err instanceof InvalidArgumentError || err instanceof RangeError;
      // Under `git bisect run` (bisect --old-answer) a usage error must stop the bisection (> 127), not read as "new".
      const bisectRun = argv.includes('bisect') && argv.some((a) => a.startsWith('--old-answer'));
      process.exitCode = usage ? (bisectRun ? 128 : 2) : 1;
    }
  }
}
