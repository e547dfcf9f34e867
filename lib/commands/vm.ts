// `guplab vm run|shell|boot-bench`: a command, a terminal or boot timings in a QEMU guest.
import type { Command } from 'commander';
import path from 'node:path';
import { bootTarget, reportVm } from '../jobs/vm.js';
import { DEFAULT_GDB_PORT, numaArgs, vmShell } from '../jobs/shell.js';
import { positiveInt, UsageError } from '../util/args.js';
import { bootBench, bootBenchTable } from '../vm/bootbench.js';
import { ARCH_NAMES } from '../vm/arch.js';
import { STABLE_LINES } from '../kernels/kernel.js';
import type { Arch } from '../vm/paths.js';
import { vmRun } from '../vm/run.js';
import { type VmCliOptions, size, arches, commaList, addVmOptions, vmBase } from './options.js';

export function addVmCommand(program: Command, host: Arch): void {
  const vmOptions = (cmd: Command): Command => addVmOptions(cmd, host);
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
      const qemuExtraArgs = numaArgs(base, opts.numa); // bad input first, before a kernel is fetched
      const result = await vmRun({
        ...base,
        target: bootTarget(base, { module: opts.module }),
        module: opts.module,
        command,
        qemuExtraArgs,
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
}
