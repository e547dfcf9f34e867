import { Command, InvalidArgumentError, Option } from 'commander';
import path from 'node:path';
import { HEADLINE_DEFAULTS, runHeadline } from './bench/headline.js';
import { headlineTable } from './bench/table.js';
import { GupDevice } from './device.js';
import { writeFileAtomic } from './util/atomic.js';
import { bootBench, bootBenchTable } from './vm/bootbench.js';
import { checkModule, ensureKernel } from './vm/kernel.js';
import { hostArch, type Arch } from './vm/paths.js';
import { vmRun, type VmRunResult } from './vm/run.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

interface VmCliOptions {
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

function addVmOptions(cmd: Command): Command {
  return cmd
    .option('--kernel <version>', 'Debian kernel series (6.1, 6.12, 7) or full release', '6.1')
    .addOption(new Option('--arch <arch>', `guest architecture (default: the host's, ${hostArch()}, or a user kernel's own)`).choices(['x86_64', 'arm64']))
    .option('--kernel-image <path>', 'boot your own kernel image (with --kernel-build) instead of a Debian kernel')
    .option('--kernel-build <dir>', 'build tree (or headers) of --kernel-image, to build guplab.ko against')
    .option('--timeout <seconds>', 'kill the guest after this long', positiveInt, 900)
    .option('--mem <MiB>', 'guest memory', positiveInt, 2048)
    .option('--cpus <n>', 'guest CPUs', positiveInt, 2)
    .option('--append <arg>', 'extra kernel command line argument (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
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
  .action(async (command: string[], opts: VmCliOptions) => {
    const result = await vmRun({ ...opts, command, timeoutSec: opts.timeout, memMiB: opts.mem, firstBootTimeoutSec: opts.firstBootTimeout });
    process.exitCode = reportVm(result);
  });

vm.command('boot-bench')
  .description('boot each kernel and arch a few times with `true` and print boot-to-command wall time')
  .option('--kernel <versions>', 'comma-separated kernel series', '6.1,6.12')
  .option('--arch <arches>', 'comma-separated arches', 'x86_64,arm64')
  .option('--runs <n>', 'boots per kernel and arch', positiveInt, 3)
  .option('--json', 'print JSON instead of the table')
  .action(async (opts: { kernel: string; arch: string; runs: number; json?: boolean }) => {
    const arches = opts.arch.split(',') as Arch[];
    for (const a of arches) if (a !== 'x86_64' && a !== 'arm64') throw new InvalidArgumentError(`unknown arch ${a}: use x86_64 or arm64`);
    const rows = await bootBench({ kernels: opts.kernel.split(','), arches, runs: opts.runs });
    console.log(opts.json ? JSON.stringify(rows, null, 2) : bootBenchTable(rows));
  });

interface BenchCliOptions extends VmCliOptions {
  size: number;
  iterations: number;
  write?: boolean;
  out: string;
  json?: boolean;
  vm?: boolean;
}

function mebibytes(value: string): number {
  const n = Number(value.replace(/M(iB)?$/i, ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a size in MiB, e.g. 16 or 16M');
  return n << 20;
}

addVmOptions(
  program
    .command('bench')
    .description('headline benchmark: ns/page of each GUP API on one buffer, 4K pages and THP')
    .option('--size <MiB>', 'buffer size', mebibytes, HEADLINE_DEFAULTS.sizeBytes)
    .option('--iterations <n>', 'samples per case', positiveInt, HEADLINE_DEFAULTS.iterations)
    .option('--write', 'pass FOLL_WRITE')
    .option('--out <dir>', 'folder for headline.json', 'results')
    .option('--json', 'print the JSON result instead of the table')
    .option('--vm', 'boot the kernel in QEMU and run the benchmark there'),
).action(async (opts: BenchCliOptions, cmd: Command) => {
  if (opts.vm) {
    const passOn = ['--size', `${opts.size >> 20}`, '--iterations', String(opts.iterations), ...(opts.write ? ['--write'] : []), ...(opts.json ? ['--json'] : [])];
    const result = await vmRun({
      ...opts,
      command: ['node', 'bin/guplab.js', 'bench', '--out', '/run/guplab/out', ...passOn],
      timeoutSec: opts.timeout,
      memMiB: opts.mem,
      firstBootTimeoutSec: opts.firstBootTimeout,
      outDir: path.resolve(opts.out),
    });
    process.exitCode = reportVm(result);
    if (process.exitCode === 0) process.stderr.write(`guplab: wrote ${path.resolve(opts.out, 'headline.json')}\n`);
    return;
  }
  void cmd;
  const result = await runHeadline({ ...HEADLINE_DEFAULTS, sizeBytes: opts.size, iterations: opts.iterations, flags: opts.write ? ['write'] : [] });
  const file = path.join(opts.out, 'headline.json');
  writeFileAtomic(file, `${JSON.stringify(result, null, 2)}\n`);
  if (opts.json) console.log(JSON.stringify(result, null, 2));
  else console.log(headlineTable(result));
  if (!process.env.GUPLAB_IN_VM) process.stderr.write(`guplab: wrote ${path.resolve(file)}\n`);
});

program
  .command('kmod-check')
  .description('build kmod/ warning-free with W=1 (and sparse C=1) against each kernel and arch')
  .option('--kernel <versions>', 'comma-separated kernel series', '6.1,6.12')
  .option('--arch <arches>', 'comma-separated arches', 'x86_64,arm64')
  .action((opts: { kernel: string; arch: string }) => {
    const log = (msg: string): void => {
      process.stderr.write(`guplab: ${msg}\n`);
    };
    let failed = 0;
    for (const arch of opts.arch.split(',') as Arch[]) {
      if (arch !== 'x86_64' && arch !== 'arm64') throw new InvalidArgumentError(`unknown arch ${arch}: use x86_64 or arm64`);
      for (const version of opts.kernel.split(',')) {
        const result = checkModule(ensureKernel(version, arch, log));
        const tools = result.sparse ? 'W=1 C=1' : 'W=1 (sparse not installed)';
        if (result.diagnostics.length) failed++;
        console.log(`${result.diagnostics.length ? 'FAIL' : 'ok  '} ${result.release} ${arch} ${tools}${result.diagnostics.map((d) => `\n  ${d}`).join('')}`);
      }
    }
    process.exitCode = failed ? 1 : 0;
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
  await program.parseAsync();
} catch (err) {
  process.stderr.write(`guplab: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
