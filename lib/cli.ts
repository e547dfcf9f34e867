import { Command, InvalidArgumentError, Option } from 'commander';
import path from 'node:path';
import { BACKING_NAMES, guestNeeds } from './bench/backings.js';
import { compareResults, comparisonTable, loadResult, type Comparison } from './bench/compare.js';
import { runBench } from './bench/engine.js';
import { overheadTable, runOverhead } from './bench/overhead.js';
import { hostProgressSink, progressFor, wantsBar } from './bench/progress.js';
import { DEFAULT_SPEC, formatSize, loadSpecFile, resolveSpec, type Spec } from './bench/spec.js';
import { benchTable } from './bench/table.js';
import { GupDevice } from './device.js';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from './util/atomic.js';
import { bootBench, bootBenchTable } from './vm/bootbench.js';
import { checkKernelSpecs, checkModule, ensureKernel, expandKernelSpecs } from './vm/kernel.js';
import { benchMarkdown, buildBenchMatrix, buildMatrix, byKernel, MATRIX_BENCH_SPEC, matrixMarkdown, matrixReadme, matrixTable, replaceSection } from './check/matrix.js';
import { checkPassed, runCheck, type CheckReport } from './check/run.js';
import { fullGuest, type GuestFs, type GuestMemoryOptions, type GuestMount } from './vm/guest.js';
import { hostArch, type Arch } from './vm/paths.js';
import { ARCH_NAMES, parseArch, parseArchList } from './vm/arch.js';
import { listKernels } from './jobs/kernels.js';
import { bisectReleases, bisectRunStep, parseProbeCase, type ProbeCase } from './jobs/bisect.js';
import { vmRun, type VmRunResult } from './vm/run.js';
import { addStressCommand } from './stress/cli.js';
import { nonNegativeInt, positiveInt } from './util/args.js';

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
  const list = value.split(',').map((v) => v.trim());
  for (const fs of list) if (fs !== 'ext4' && fs !== 'xfs') throw new InvalidArgumentError(`unknown filesystem "${fs}": use ext4, xfs or ext4,xfs`);
  return list as GuestFs[];
}

function size(value: string): string {
  if (!/^\d+[MG]$/i.test(value)) throw new InvalidArgumentError('expected a size like 256M or 1G');
  return value;
}

/** The guest memory options of a VM command line. */
export function memoryOptions(opts: VmCliOptions): GuestMemoryOptions {
  return {
    ...(opts.hugepages ? { hugepages: opts.hugepages } : {}),
    ...(opts.hugepages1g ? { hugepages1g: opts.hugepages1g } : {}),
    ...(opts.thp ? { thp: opts.thp } : {}),
    ...(opts.movablecore ? { movablecore: opts.movablecore } : {}),
    ...(opts.pmem ? { pmem: opts.pmem } : {}),
    ...(opts.dax ? { dax: opts.dax } : {}),
    ...(opts.fs ? { fs: opts.fs } : {}),
  };
}

function addVmOptions(cmd: Command): Command {
  return cmd
    .option('--kernel <version>', 'Debian kernel: series (5.10, 6.1, 6.12, 7.2), major (7: the newest 7.x) or exact release (guplab kernels lists them)', '6.1')
    .option('--arch <arch>', `guest architecture, ${ARCH_NAMES.join(' or ')} (default: the host's, ${hostArch()}, or a user kernel's own)`, parseArch)
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
    .option('--pmem <size>', 'emulated pmem per region (memmap=, x86_64), e.g. 256M', size)
    .option('--dax <fs>', 'make and mount these filesystems on pmem with -o dax=always (ext4, xfs, ext4,xfs) at /mnt/guplab/<fs>-dax', fsList)
    .option('--fs <fs>', 'make these filesystems on virtio disks (ext4, xfs, ext4,xfs) and mount them at /mnt/guplab/<fs>', fsList)
    .option('--verbose', 'print the whole boot console')
    .addOption(new Option('--accel <accel>', 'accelerator (auto: KVM where the CPU and /dev/kvm allow it)').choices(['auto', 'kvm', 'tcg']).default('auto'))
    .option('--first-boot-timeout <seconds>', 'retry with TCG when a KVM boot has not reached the command after this long', positiveInt, 60);
}

/** Prints why a VM run failed, with the console tail, and returns the exit code to use. */
export function reportVm(result: VmRunResult): number {
  const secs = (ms: number | null): string => (ms === null ? '-' : (ms / 1000).toFixed(1));
  process.stderr.write(
    `guplab: ${result.release} ${result.arch} ${result.accel.toUpperCase()}: boot-to-command ${secs(result.bootToCommandMs)} s, wall ${secs(result.wallMs)} s, exit ${result.status ?? '-'}\n`,
  );
  if (result.accelNote) process.stderr.write(`guplab: ${result.accelNote}\n`);
  if (result.consoleLogFile) process.stderr.write(`guplab: full console log: ${result.consoleLogFile}\n`);
  if (result.problems.length === 0) return result.status ?? 1;
  process.stderr.write(`guplab: VM run failed: ${result.problems.join('\n')}\n--- console tail ---\n`);
  process.stderr.write(`${result.console.split('\n').slice(-40).join('\n')}\n`);
  if (result.consoleLogFile) process.stderr.write(`guplab: full console log: ${result.consoleLogFile}\n`);
  return result.status && result.status !== 0 ? result.status : 1;
}

const program = new Command('guplab').description('Call, time and check get_user_pages / pin_user_pages on a real kernel');

const vm = program.command('vm').description('run commands in a QEMU guest with guplab.ko loaded');
addVmOptions(vm.command('run').description('boot a kernel, run a command in the project directory, exit with its status'))
  .argument('<command...>', 'command and arguments (put them after --)')
  .option('--out <dir>', 'host folder that receives what the command writes to $GUPLAB_VM_OUT')
  .action(async (command: string[], opts: VmCliOptions & { out?: string }) => {
    const result = await vmRun({
      ...opts,
      command,
      timeoutSec: opts.timeout,
      memMiB: opts.mem,
      memory: memoryOptions(opts),
      firstBootTimeoutSec: opts.firstBootTimeout,
      ...(opts.out ? { outDir: path.resolve(opts.out) } : {}),
    });
    process.exitCode = reportVm(result);
  });

vm.command('boot-bench')
  .description('boot each kernel and arch a few times with `true` and print boot-to-command wall time')
  .option('--kernel <versions>', 'comma-separated kernel series', '6.1,6.12')
  .option('--arch <arches>', 'comma-separated arches', 'x86_64,arm64')
  .option('--runs <n>', 'boots per kernel and arch', positiveInt, 3)
  .option('--json', 'print JSON instead of the table')
  .action(async (opts: { kernel: string; arch: string; runs: number; json?: boolean }) => {
    const arches = parseArchList(opts.arch);
    const rows = await bootBench({ kernels: opts.kernel.split(','), arches, runs: opts.runs });
    console.log(opts.json ? JSON.stringify(rows, null, 2) : bootBenchTable(rows));
  });

interface BenchCliOptions extends VmCliOptions {
  spec?: string;
  specJson?: string;
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
}

const list = (v: string, acc: string[] | undefined): string[] => [...(acc ?? []), ...v.split(',').map((x) => x.trim()).filter(Boolean)];

/** CLI options over the spec file over the defaults. */
function benchSpec(opts: BenchCliOptions): Spec {
  if (opts.specJson) return resolveSpec(JSON.parse(opts.specJson));
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
  return resolveSpec(input);
}

addVmOptions(
  program
    .command('bench')
    .description('benchmark matrix (API x backing x size x pages/call x flags x prefaulted) through the in-kernel loop; table, results.json, report.html')
    .option('--spec <file>', 'JSON spec file (keys: apis, backings, sizes, pagesPerCall, flags, prefault, warmup, iterations, minSamples, maxSamples, targetMs, dir)')
    .addOption(new Option('--spec-json <json>').hideHelp())
    .addOption(new Option('--no-report').hideHelp())
    .option('--api <names>', `APIs, comma-separated (default: ${DEFAULT_SPEC.apis.join(',')})`, list)
    .option('--backing <names>', `backings: ${BACKING_NAMES.join(',')} (default: ${DEFAULT_SPEC.backings.join(',')})`, list)
    .option('--size <sizes>', `buffer sizes, e.g. 64K,2M,16M (default: ${DEFAULT_SPEC.sizes.map(formatSize).join(',')})`, list)
    .option('--ppc <n>', 'pages per GUP call, comma-separated numbers or "all" (default: all)', list)
    .option('--flags <combos>', 'flag combinations, comma-separated, flags joined by +, e.g. none,write,write+longterm', list)
    .addOption(new Option('--prefault <mode>', 'pages present before the call (yes), faulted in by GUP on a fresh buffer per sample (no), or both').choices(['yes', 'no', 'both']))
    .option('--iterations <n>', 'fixed samples per case (default: adaptive)', positiveInt)
    .option('--warmup <n>', 'warm-up iterations per prefaulted case and round (adaptive runs make at least 1)', nonNegativeInt)
    .option('--target-ms <ms>', 'adaptive: in-kernel time to aim for per case', positiveInt)
    .option('--dir <path>', 'folder for the file and dax backings')
    .option('--out <dir>', 'folder for results.json and report.html', 'results')
    .option('--json', 'print the JSON result instead of the table')
    .option('--no-progress', 'no progress bar (also off in CI, with --json, or without a terminal)')
    .option('--vm', 'boot the kernel in QEMU and run the benchmark there'),
).action(async (opts: BenchCliOptions) => {
  const spec = benchSpec(opts); // validated on the host before any boot
  if (opts.vm) {
    const result = await vmRun({
      ...opts,
      // The guest writes results.json; the host, faster than an emulated CPU, renders the report.
      command: ['node', 'bin/guplab.js', 'bench', '--out', '/run/guplab/out', '--no-report', '--spec-json', JSON.stringify(spec), ...(opts.json ? ['--json'] : [])],
      timeoutSec: opts.timeout,
      memMiB: opts.mem,
      memory: memoryOptions(opts),
      firstBootTimeoutSec: opts.firstBootTimeout,
      outDir: path.resolve(opts.out),
      env: { GUPLAB_PROGRESS_LINES: '1' },
      output: hostProgressSink(!opts.verbose && wantsBar(Boolean(opts.json) || !opts.progress)),
    });
    process.exitCode = reportVm(result);
    if (process.exitCode !== 0) return;
    const json = path.resolve(opts.out, 'results.json');
    const { renderReport } = await import('./bench/report.js'); // vega loads slowly: only when a report is made
    writeFileAtomic(path.resolve(opts.out, 'report.html'), await renderReport(loadResult(json)));
    process.stderr.write(`guplab: wrote ${json} and ${path.resolve(opts.out, 'report.html')}\n`);
    return;
  }
  const result = await runBench(spec, { progress: progressFor(Boolean(opts.json) || !opts.progress) });
  writeFileAtomic(path.join(opts.out, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
  if (opts.report) {
    const { renderReport } = await import('./bench/report.js');
    writeFileAtomic(path.join(opts.out, 'report.html'), await renderReport(result));
  }
  if (opts.json) console.log(JSON.stringify(result, null, 2));
  else console.log(benchTable(result));
  if (!process.env.GUPLAB_IN_VM) process.stderr.write(`guplab: wrote ${path.resolve(opts.out, 'results.json')}${opts.report ? ' and report.html' : ''}\n`);
});

/** The VM run options of a command that wants the full guest unless the user chose memory options. */
function fullGuestUnlessChosen(opts: VmCliOptions, cmd: Command): { memMiB: number; memory: GuestMemoryOptions; append: string[] } {
  const chosen = memoryOptions(opts);
  const full = fullGuest(opts.arch ?? hostArch());
  const memMiB = cmd.getOptionValueSource('mem') === 'default' ? full.memMiB : opts.mem;
  if (Object.keys(chosen).length) return { memMiB, memory: chosen, append: opts.append };
  return { memMiB, memory: full.memory, append: [...full.append, ...opts.append] };
}

interface CheckCliOptions extends VmCliOptions {
  only?: string;
  json?: string;
  vm?: boolean;
}

addVmOptions(
  program
    .command('check')
    .description('semantics probes as KTAP: what each GUP call answers on this kernel, against per-kernel expectations')
    .option('--only <ids>', 'comma-separated probe ids')
    .option('--json <file>', 'also write the report as JSON')
    .option('--vm', 'boot the kernel in QEMU (huge pages, ZONE_MOVABLE, pmem/DAX) and check there'),
).action(async (opts: CheckCliOptions, cmd: Command) => {
  const only = opts.only ? ['--only', opts.only] : [];
  if (opts.vm) {
    const json = path.resolve(opts.json ?? path.join('results', `check-${opts.kernel ?? '6.1'}-${opts.arch ?? hostArch()}.json`));
    const result = await vmRun({
      ...opts,
      ...fullGuestUnlessChosen(opts, cmd),
      command: ['node', 'bin/guplab.js', 'check', '--json', `/run/guplab/out/${path.basename(json)}`, ...only],
      timeoutSec: opts.timeout,
      outDir: path.dirname(json),
    });
    process.exitCode = reportVm(result);
    if (process.exitCode === 0 || result.status === 1) process.stderr.write(`guplab: wrote ${json}\n`);
    return;
  }
  const report = runCheck({
    only: opts.only?.split(',') ?? [],
    mounts: JSON.parse(process.env.GUPLAB_MOUNTS ?? '[]') as GuestMount[],
    onLine: (line) => console.log(line),
  });
  if (opts.json) writeFileAtomic(opts.json, `${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = checkPassed(report) ? 0 : 1;
});

interface MatrixCliOptions {
  kernel: string;
  arch: string;
  out: string;
  from?: string[];
  readme?: boolean;
  changed?: boolean;
  bench: boolean;
  timeout: number;
}

/** The short benchmark next to a check report: check-K-A.json -> bench-K-A/results.json. */
const benchFileFor = (checkFile: string): string => path.join(path.dirname(checkFile), path.basename(checkFile).replace(/^check-/, 'bench-').replace(/\.json$/, ''), 'results.json');

program
  .command('matrix')
  .description('run check (and a short benchmark) on every kernel x arch in the VM and print one table of the answers, changes marked')
  .option('--kernel <versions>', 'comma-separated kernel series', '6.1,6.12')
  .option('--arch <arches>', 'comma-separated arches', hostArch())
  .option('--out <dir>', 'folder for the check reports, benchmark results, matrix.json and matrix.md', 'results')
  .option('--from <files...>', 'build the table from existing check JSON reports (and bench-*/results.json next to them) instead of booting')
  .option('--no-bench', 'no short benchmark (fast vs unlocked, get vs pin, 4K vs THP) after the checks')
  .option('--readme', 'also put the table into README.md (between the matrix markers)')
  .option('--changed', 'print only the rows that differ between columns')
  .option('--timeout <seconds>', 'per-VM timeout', positiveInt, 1200)
  .action(async (opts: MatrixCliOptions) => {
    const files = opts.from ?? [];
    if (!files.length) {
      checkKernelSpecs(opts.kernel.split(','), parseArchList(opts.arch), (m) => process.stderr.write(`guplab: ${m}\n`));
      for (const arch of parseArchList(opts.arch)) {
        for (const kernel of opts.kernel.split(',')) {
          const file = path.resolve(opts.out, `check-${kernel}-${arch}.json`);
          const guestOut = '/run/guplab/out';
          // The checks decide the exit status; the benchmark only adds figures.
          const bench = opts.bench
            ? ` && node bin/guplab.js bench --no-report --no-progress --json --out ${guestOut}/${path.basename(path.dirname(benchFileFor(file)))} --spec-json '${JSON.stringify(resolveSpec(MATRIX_BENCH_SPEC))}' > /dev/null`
            : '';
          const result = await vmRun({
            kernel,
            arch,
            ...fullGuest(arch),
            command: ['sh', '-c', `node bin/guplab.js check --json ${guestOut}/${path.basename(file)}${bench}`],
            timeoutSec: opts.timeout,
            outDir: path.dirname(file),
            output: process.stderr,
          });
          if (result.problems.length) {
            process.exitCode = reportVm(result);
            return;
          }
          files.push(file);
        }
      }
    }
    const runs = files
      .map((file) => ({ report: JSON.parse(readFileSync(file, 'utf8')) as CheckReport, bench: existsSync(benchFileFor(file)) ? loadResult(benchFileFor(file)) : undefined }))
      .sort((a, b) => byKernel(a.report, b.report));
    const reports = runs.map((r) => r.report);
    const matrix = { ...buildMatrix(reports), bench: buildBenchMatrix(runs.map((r) => r.bench)) };
    console.log(matrixTable(matrix, { changedOnly: opts.changed ?? false }));
    const md = `${matrixMarkdown(matrix)}${matrix.bench ? `\n${benchMarkdown(matrix)}` : ''}`;
    writeFileAtomic(path.join(opts.out, 'matrix.json'), `${JSON.stringify(matrix, null, 2)}\n`);
    writeFileAtomic(path.join(opts.out, 'matrix.md'), md);
    if (opts.readme) {
      const accels = [...new Set(reports.map((r) => r.accelerator))].join('/');
      const how = `\`guplab matrix\` over ${matrix.columns.join(', ')}, ${accels}`;
      writeFileAtomic('README.md', replaceSection(readFileSync('README.md', 'utf8'), 'matrix', matrixReadme(matrix, how)));
    }
    const changed = matrix.rows.filter((r) => r.changed).length;
    process.stderr.write(`guplab: ${matrix.rows.length} cases, ${changed} differ between ${matrix.columns.join(', ')}; wrote ${path.resolve(opts.out, 'matrix.md')}\n`);
    process.exitCode = reports.every(checkPassed) ? 0 : 1;
  });

program
  .command('compare')
  .description('per case, the change of the median (new/base) with a bootstrap 95% CI; exit 1 on a significant slowdown beyond the threshold, 2 when the files cannot be compared or share no case that ran in both')
  .argument('<base>', 'results.json of the baseline')
  .argument('<new>', 'results.json to judge')
  .option('--threshold <percent>', 'smallest change that counts', (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || n > 1000) throw new InvalidArgumentError('expected a percentage, e.g. 10');
    return n;
  }, 10)
  .option('--json', 'print the comparison as JSON')
  .action((baseFile: string, newFile: string, opts: { threshold: number; json?: boolean }) => {
    try {
      const base = loadResult(baseFile);
      const next = loadResult(newFile);
      const cmp: Comparison = { base: baseFile, next: newFile, ...compareResults(base, next, opts.threshold / 100) };
      console.log(opts.json ? JSON.stringify(cmp, null, 2) : comparisonTable(cmp, base, next));
      for (const w of cmp.warnings) process.stderr.write(`guplab: warning: ${w}\n`);
      if (cmp.compared === 0) {
        process.stderr.write(`guplab: no case of ${newFile} can be compared with ${baseFile} (no shared case ran in both): run both with the same --spec\n`);
        process.exitCode = 2;
      } else process.exitCode = cmp.slower > 0 ? 1 : 0;
    } catch (err) {
      process.stderr.write(`guplab: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 2;
    }
  });

program
  .command('overhead')
  .description("the harness's own overhead: a 1-page PIN from TypeScript, from a C loop, and inside the kernel loop")
  .option('--calls <n>', 'calls per path', positiveInt, 2000)
  .action(async (opts: { calls: number }) => {
    console.log(overheadTable(await runOverhead(opts.calls)));
  });

program
  .command('kmod-check')
  .description('build kmod/ warning-free with W=1 (and sparse C=1) against each kernel and arch')
  .option('--kernel <versions>', 'comma-separated kernel series or releases; all: every series the archive has headers for', '6.1,6.12')
  .option('--arch <arches>', 'comma-separated arches', 'x86_64,arm64')
  .action((opts: { kernel: string; arch: string }) => {
    const log = (msg: string): void => {
      process.stderr.write(`guplab: ${msg}\n`);
    };
    let failed = 0;
    checkKernelSpecs(opts.kernel.split(','), parseArchList(opts.arch), log);
    for (const arch of parseArchList(opts.arch)) {
      for (const version of expandKernelSpecs(opts.kernel.split(','), arch, log)) {
        const result = checkModule(ensureKernel(version, arch, log));
        const tools = result.sparse ? 'W=1 C=1' : 'W=1 (sparse not installed)';
        if (result.diagnostics.length) failed++;
        console.log(`${result.diagnostics.length ? 'FAIL' : 'ok  '} ${result.release} ${arch} ${tools}${result.diagnostics.map((d) => `\n  ${d}`).join('')}`);
      }
    }
    process.exitCode = failed ? 1 : 0;
  });

program
  .command('bisect')
  .description('find the first packaged release where a probe case answers like --new (binary search, one boot per step); with --kernel-image, one git-bisect-run step (exit 0 old, 1 new, 125 skip)')
  .requiredOption('--case <probe/case>', 'the probe case, e.g. longterm-variants/pin_user_pages_unlocked', parseProbeCase)
  .option('--old <release>', 'a release (or series) answering the old way')
  .option('--new <release>', 'a later release (or series) answering the new way')
  .option('--arch <arch>', 'guest architecture', parseArch, hostArch())
  .option('--kernel-image <path>', 'git bisect run mode: boot this kernel image (with --kernel-build)')
  .option('--kernel <release>', 'git bisect run mode on a packaged release instead of --kernel-image')
  .option('--kernel-build <dir>', 'build tree of --kernel-image')
  .option('--old-answer <answer>', 'git bisect run mode: the old kernels\' answer (exit 0)')
  .option('--new-answer <answer>', 'git bisect run mode: the new answer (exit 1); without it any other answer is new')
  .option('--timeout <seconds>', 'per-boot timeout', positiveInt, 900)
  .action(async (opts: { case: ProbeCase; old?: string; new?: string; arch: Arch; kernel?: string; kernelImage?: string; kernelBuild?: string; oldAnswer?: string; newAnswer?: string; timeout: number }) => {
    const log = (m: string): void => void process.stderr.write(`guplab: ${m}\n`);
    const print = (line: string): void => console.log(line);
    if (opts.kernelImage || opts.oldAnswer !== undefined) {
      if (opts.oldAnswer === undefined || (opts.kernelImage && !opts.kernelBuild)) {
        // Above 127: git bisect run stops instead of taking a usage error for an answer.
        log('git bisect run mode needs --old-answer (e.g. --old-answer -EINVAL) and --kernel-image with --kernel-build (or --kernel RELEASE)');
        process.exitCode = 128;
        return;
      }
      const target = opts.kernelImage ? { kernelImage: opts.kernelImage, kernelBuild: opts.kernelBuild!, arch: opts.arch } : { kernel: opts.kernel ?? '6.1', arch: opts.arch };
      process.exitCode = await bisectRunStep({ target, pc: opts.case, oldAnswer: opts.oldAnswer, ...(opts.newAnswer !== undefined ? { newAnswer: opts.newAnswer } : {}), timeoutSec: opts.timeout, log, print });
      return;
    }
    if (!opts.old || !opts.new) throw new InvalidArgumentError('pass --old and --new releases (guplab kernels lists them), or --kernel-image for git bisect run');
    await bisectReleases({ pc: opts.case, oldSpec: opts.old, newSpec: opts.new, arch: opts.arch, timeoutSec: opts.timeout, log, print });
  });

program
  .command('kernels')
  .description("the Debian kernels the archive offers per arch (series, newest usable release, image-only ones) and what is cached")
  .option('--arch <arches>', 'comma-separated arches', ARCH_NAMES.join(','))
  .option('--all', 'one line per release')
  .option('--refresh', 'update the archive index now (else once a day)')
  .option('--json', 'print the releases as JSON')
  .action((opts: { arch: string; all?: boolean; refresh?: boolean; json?: boolean }) => {
    const r = listKernels({ arches: parseArchList(opts.arch), all: opts.all ?? false, refresh: opts.refresh ?? false, log: (m) => process.stderr.write(`guplab: ${m}\n`) });
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

try {
  addStressCommand(program);
  await program.parseAsync();
} catch (err) {
  process.stderr.write(`guplab: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
