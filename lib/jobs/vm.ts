// What every VM job shares: the run options a command line gives, the guest
// a job boots unless the user chose its memory, and how a failed run is told.
import { resolveBootTarget } from '../kernels/resolve.js';
import type { BootTarget, KernelRequest } from '../kernels/target.js';
import { fullGuest, type GuestMemoryOptions } from '../vm/guest.js';
import { preflight, type VmRunOptions, type VmRunResult } from '../vm/run.js';

/** A VM run without its command: what the command line decides, the kernel as asked (bootTarget resolves it). */
export type VmBase = Omit<VmRunOptions, 'command' | 'job' | 'outDir' | 'output' | 'target'> &
  KernelRequest & {
    /** The user set --mem (a job's own default memory does not replace it). */
    memChosen?: boolean;
  };

/**
 * The kernel a command line's run boots, resolved once: what can be refused
 * without it first (memory options, QEMU), then fetched or found in the
 * cache. `module: false` for a run without guplab.ko (image-only lines).
 */
export function bootTarget(vm: VmBase, opts: { module?: boolean } = {}): BootTarget {
  preflight(vm);
  return resolveBootTarget(vm, vm.log ?? ((m: string) => process.stderr.write(`guplab: ${m}\n`)), opts);
}

/** True when the user chose any guest memory option (huge pages, pmem, disks...). */
export const memoryChosen = (vm: VmBase): boolean => Object.keys(vm.memory ?? {}).length > 0;

/**
 * The guest every probe and kernel test can use (vm/guest.ts fullGuest),
 * unless the user chose the memory options: then theirs, as given.
 */
export function fullGuestUnlessChosen(vm: VmBase): VmBase {
  const full = fullGuest();
  const memMiB = vm.memChosen ? vm.memMiB : full.memMiB;
  if (memoryChosen(vm)) return { ...vm, memMiB };
  return { ...vm, memMiB, memory: full.memory, append: [...full.append, ...(vm.append ?? [])] };
}

/**
 * Exit codes of a VM run (docs/vm.md, "Running anything in the VM": exit status): the command's own status
 * when the run went well, else one of these. A command that itself exits
 * 123-125 reads the same; CI should keep its own codes below 123.
 */
export const VM_EXIT = { kernelTrouble: 123, timeout: 124, noStatus: 125 } as const;

/** Prints the run's figures and why it failed (with the console tail); returns the exit code to use. */
export function reportVm(result: VmRunResult): number {
  const secs = (ms: number | null): string => (ms === null ? '-' : (ms / 1000).toFixed(1));
  process.stderr.write(
    `guplab: ${result.release} ${result.arch} ${result.accel.toUpperCase()}: boot-to-command ${secs(result.bootToCommandMs)} s, wall ${secs(result.wallMs)} s, exit ${result.status ?? '-'}\n`,
  );
  if (result.accelNote) process.stderr.write(`guplab: ${result.accelNote}\n`);
  if (result.problems.length === 0) {
    if (result.consoleLogFile) process.stderr.write(`guplab: full console log: ${result.consoleLogFile}\n`);
    return result.status ?? VM_EXIT.noStatus;
  }
  process.stderr.write(`guplab: VM run failed: ${result.problems.join('\n')}\n--- console tail ---\n`);
  process.stderr.write(`${result.console.split('\n').slice(-40).join('\n')}\n`);
  if (result.consoleLogFile) process.stderr.write(`guplab: full console log: ${result.consoleLogFile}\n`);
  if (result.failure === 'timeout') return VM_EXIT.timeout;
  if (result.failure === 'kernel-trouble') return VM_EXIT.kernelTrouble;
  return VM_EXIT.noStatus;
}

/** Prefixes each line a guest prints with its run's name, so that parallel runs stay readable. */
function prefixed(name: string, to: NodeJS.WritableStream): NodeJS.WritableStream {
  let partial = '';
  return {
    write(chunk: string | Uint8Array): boolean {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) to.write(`[${name}] ${line}\n`);
      return true;
    },
  } as NodeJS.WritableStream;
}

/** Output and log of one of several guests run at once: each line prefixed with the run's name. */
export function sideBySide(name: string, to: NodeJS.WritableStream = process.stdout): { output: NodeJS.WritableStream; log: (msg: string) => void } {
  return { output: prefixed(name, to), log: (m: string) => process.stderr.write(`guplab: [${name}] ${m}\n`) };
}

export type { GuestMemoryOptions };
