// `guplab vm shell`: a guest with guplab.ko loaded and the working folder
// shared (as vm run), and a real terminal on it: a shell, or with --repl a
// Node REPL with guplab imported and the device open. --gdb starts QEMU's
// gdb stub and prints the gdb command; --numa makes a NUMA guest (also for
// vm run). Bad input is refused before anything is fetched or booted.
import path from 'node:path';
import { ENV, guestPath, interactiveScript, RUN_FILES } from '../contract.js';
import { UsageError } from '../util/args.js';
import { projectRoot } from '../util/root.js';
import { ARCHES } from '../vm/arch.js';
import { checkPortFree, DEFAULT_GDB_PORT, gdbCommand, gdbQemuArgs, kallsymsElf, shellLine } from '../vm/gdb.js';
import { interactiveBoot, type TerminalIo } from '../vm/interactive.js';
import { numaQemuArgs, numaSummary, parseNuma } from '../vm/numa.js';
import { vmRun, type VmRunResult } from '../vm/run.js';
import { cacheRoot } from '../vm/paths.js';
import { bootTarget, type VmBase } from './vm.js';

export interface ShellOptions {
  /** A Node REPL with guplab at hand instead of a shell. */
  repl?: boolean;
  /** Start QEMU's gdb stub on this port (boots with nokaslr). */
  gdb?: number;
  /** --numa values: "N", or one "SIZE[,cpus=LIST]" per node. */
  numa?: string[];
  /** The command to run on the terminal instead of the shell. */
  command?: string[];
  /** The terminal (tests pass a pseudo-terminal's ends); default this process's stdin/stdout. */
  io?: TerminalIo;
  /** Called with QEMU's pid (tests check that none is left behind). */
  onQemu?: (pid: number) => void;
}

/** A UsageError for what numa.ts refuses. */
export function numaArgs(vm: VmBase, numa: readonly string[] | undefined): string[] {
  if (!numa?.length) return [];
  try {
    const nodes = parseNuma(numa, vm.memMiB ?? 2048, vm.cpus ?? 2);
    (vm.log ?? ((m: string) => process.stderr.write(`guplab: ${m}\n`)))(`NUMA guest: ${numaSummary(nodes)}`);
    return numaQemuArgs(nodes);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** What the inner command is: the REPL, the user's command, or a shell (bash where the guest can run it, else sh). */
function innerCommand(opts: ShellOptions): string[] {
  if (opts.repl) return ['node', path.join(projectRoot, 'bin', 'guplab-repl.js')];
  if (opts.command?.length) return opts.command;
  return ['sh', '-c', 'bash -c true 2>/dev/null && exec bash -i; exec sh -i'];
}

export async function vmShell(vm: VmBase, opts: ShellOptions): Promise<VmRunResult> {
  const io = opts.io ?? { input: process.stdin, output: process.stdout, notice: process.stderr };
  const qemuExtraArgs = numaArgs(vm, opts.numa);
  const append = [...(vm.append ?? [])];
  if (opts.gdb !== undefined) {
    try {
      await checkPortFree(opts.gdb);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    qemuExtraArgs.push(...gdbQemuArgs(opts.gdb));
    append.push('nokaslr');
  }
  if (!io.input.isTTY) {
    throw new UsageError(
      'vm shell needs a terminal and stdin is not one: to run a command without a terminal use `guplab vm run -- COMMAND` (or give vm shell a pseudo-terminal: script -qc "guplab vm shell" /dev/null)',
    );
  }
  const log = vm.log ?? ((m: string) => process.stderr.write(`guplab: ${m}\n`));
  // The arch of the console and the gdb stub: the kernel's own (a user image says it).
  const target = bootTarget(vm);
  const arch = target.kernel.arch;
  // The terminal's size: the output's, or stderr's when the output is piped (a tee).
  const term = [io.output, process.stderr].find((s): s is NodeJS.WriteStream => Boolean((s as NodeJS.WriteStream).rows && (s as NodeJS.WriteStream).columns));
  const size = term ? `${term.rows} ${term.columns}` : '24 80';
  const gdbPort = opts.gdb;
  return vmRun({
    ...vm,
    target,
    append,
    // A shell waits for its user: a day, unless --timeout says otherwise.
    timeoutSec: vm.timeoutSec ?? 86_400,
    command: ['sh', '-c', interactiveScript(ARCHES[arch].console, { kallsyms: gdbPort !== undefined }), 'guplab-shell', ...innerCommand(opts)],
    env: { TERM: process.env.TERM && process.env.TERM !== 'dumb' ? process.env.TERM : 'xterm-256color', CI: '', [ENV.termSize]: size, ...vm.env },
    qemuExtraArgs,
    log,
    boot: interactiveBoot({
      io,
      onQemu: (pid) => {
        log(`QEMU pid ${pid}; Ctrl-] q kills the guest, Ctrl-D or exit powers it off`);
        opts.onQemu?.(pid);
      },
      ...(gdbPort !== undefined
        ? {
            onModuleSections: (sections, ioDir) => {
              try {
                const symbols = kallsymsElf(path.join(ioDir, RUN_FILES.kallsyms), arch, path.join(cacheRoot(), 'gdb'));
                const cmd = shellLine(gdbCommand({ arch, port: gdbPort, symbols, sections }));
                io.notice?.write(
                  `\r\nguplab: gdb stub on ${gdbPort} (nokaslr; symbols from the guest's ${guestPath('kallsyms')}, no debug info: Debian's is in linux-image-RELEASE-dbg, ~860 MB): attach with\r\n  ${cmd}\r\n`,
                );
              } catch (err) {
                io.notice?.write(`\r\nguplab: gdb stub on ${gdbPort}, but no symbol file: ${(err as Error).message}\r\n`);
              }
            },
          }
        : {}),
    }),
  });
}

export { DEFAULT_GDB_PORT };
