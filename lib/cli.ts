import { Command, InvalidArgumentError, Option } from 'commander';
import { GupDevice } from './device.js';
import { hostArch, type Arch } from './vm/paths.js';
import { vmRun, type VmRunResult } from './vm/run.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

interface VmCliOptions {
  kernel?: string;
  arch: Arch;
  timeout: number;
  mem: number;
  cpus: number;
  append: string[];
  verbose?: boolean;
}

function addVmOptions(cmd: Command): Command {
  return cmd
    .option('--kernel <version>', 'Debian kernel series (6.1, 6.12) or full release', '6.1')
    .addOption(new Option('--arch <arch>', 'guest architecture').choices(['x86_64', 'arm64']).default(hostArch()))
    .option('--timeout <seconds>', 'kill the guest after this long', positiveInt, 900)
    .option('--mem <MiB>', 'guest memory', positiveInt, 2048)
    .option('--cpus <n>', 'guest CPUs', positiveInt, 2)
    .option('--append <arg>', 'extra kernel command line argument (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--verbose', 'print the whole boot console');
}

/** Prints why a VM run failed, with the console tail, and returns the exit code to use. */
export function reportVm(result: VmRunResult): number {
  const secs = (ms: number | null): string => (ms === null ? '-' : (ms / 1000).toFixed(1));
  process.stderr.write(
    `guplab: ${result.release} ${result.arch} ${result.accel.toUpperCase()}: boot-to-command ${secs(result.bootToCommandMs)} s, wall ${secs(result.wallMs)} s, exit ${result.status ?? '-'}\n`,
  );
  if (result.problems.length === 0) return result.status ?? 1;
  process.stderr.write(`guplab: VM run failed: ${result.problems.join('\n')}\n--- console tail ---\n`);
  process.stderr.write(`${result.console.split('\n').slice(-40).join('\n')}\n`);
  return result.status && result.status !== 0 ? result.status : 1;
}

const program = new Command('guplab').description('Call, time and check get_user_pages / pin_user_pages on a real kernel');

const vm = program.command('vm').description('run commands in a QEMU guest with guplab.ko loaded');
addVmOptions(vm.command('run').description('boot a kernel, run a command in the project directory, exit with its status'))
  .argument('<command...>', 'command and arguments (put them after --)')
  .action(async (command: string[], opts: VmCliOptions) => {
    const result = await vmRun({ ...opts, command, timeoutSec: opts.timeout, memMiB: opts.mem });
    process.exitCode = reportVm(result);
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
