// The guplab command line: the program and the list of its commands, each
// registered by its own module in lib/commands/ (options wired to the jobs
// in lib/jobs/; no job logic lives here).
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { addStressCommand } from './commands/stress.js';
import { addConsumersCommand } from './commands/consumers.js';
import { addVmCommand } from './commands/vm.js';
import { addBenchCommand } from './commands/bench.js';
import { addCheckCommand } from './commands/check.js';
import { addPinCommand } from './commands/pin.js';
import { addMatrixCommand } from './commands/matrix.js';
import { addTestVmCommand } from './commands/test-vm.js';
import { addCompareCommand } from './commands/compare.js';
import { addOverheadCommand } from './commands/overhead.js';
import { addSelftestsCommand } from './commands/selftests.js';
import { addFidelityCommand } from './commands/fidelity.js';
import { addKmodCheckCommand } from './commands/kmod-check.js';
import { addBisectCommand } from './commands/bisect.js';
import { addKernelsCommand } from './commands/kernels.js';
import { addInfoCommand } from './commands/info.js';
import { pkg } from './commands/options.js';
import { UsageError } from './util/args.js';
import { hostArch, type Arch } from './vm/paths.js';

/**
 * The guplab program with every command, not run. `host` is the arch that
 * defaults and help name (the reference docs pin it: the same page on any host).
 */
export function buildProgram(host: Arch = hostArch()): Command {
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

  addVmCommand(program, host);
  addBenchCommand(program, host);
  addCheckCommand(program, host);
  addPinCommand(program, host);
  addMatrixCommand(program, host);
  addTestVmCommand(program, host);
  addCompareCommand(program);
  addOverheadCommand(program);
  addSelftestsCommand(program, host);
  addFidelityCommand(program, host);
  addKmodCheckCommand(program);
  addBisectCommand(program, host);
  addKernelsCommand(program);
  addInfoCommand(program);
  addStressCommand(program);
  addConsumersCommand(program, host);
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
