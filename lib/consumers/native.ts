// The addon's consumer calls (native/consumers.cc): each makes its syscall
// `iterations` times in C, timing each one with CLOCK_MONOTONIC.
import { addon } from '../native.js';

/** One run of a consumer call: the last call's return value and errno (0: it succeeded), calls completed, and each one's time. */
export interface ConsumerRun {
  /** The syscall's return value (-1 on failure). */
  ret: number;
  /** errno of the failed call, 0 when every call succeeded. */
  errno: number;
  /** "EFAULT", or null. */
  code: string | null;
  /** Calls that completed (the run stops at the first failure). */
  done: number;
  /** ns of each completed call. */
  ns: Float64Array;
  /** io_uring: ns of each IORING_UNREGISTER_BUFFERS (the unpin); empty otherwise. */
  ns2: Float64Array;
}

export interface NativeConsumers {
  /** io_uring_setup(entries): the ring's fd; throws a Node-style error (ENOSYS, EPERM). */
  uringSetup(entries?: number): number;
  /** IORING_REGISTER_BUFFERS of one iovec, then IORING_UNREGISTER_BUFFERS, per iteration. */
  uringRegister(fd: number, address: bigint, length: number, iterations: number): ConsumerRun;
  /** pread() of an O_DIRECT fd into the buffer; fresh: MADV_DONTNEED before each read (untimed). */
  directRead(fd: number, address: bigint, length: number, offset: number, iterations: number, fresh?: boolean): ConsumerRun;
  /** vmsplice() into a new pipe per iteration (drained and closed untimed). */
  vmsplice(address: bigint, length: number, iterations: number): ConsumerRun;
  /** process_vm_readv (write false) / process_vm_writev; fresh: MADV_DONTNEED on the remote range before each (this process only). */
  processVm(pid: number, local: bigint, remote: bigint, length: number, write: boolean, iterations: number, fresh?: boolean): ConsumerRun;
  /**
   * pread / pwrite of /proc/PID/mem at the address (a write stores the bytes a read returned first):
   * traced, of a forked child this process traces (a debugger's access); else /proc/self/mem.
   */
  procMem(address: bigint, length: number, write: boolean, iterations: number, traced?: boolean): ConsumerRun;
  /** madvise(MADV_POPULATE_READ / _WRITE); fresh: MADV_DONTNEED before each (untimed). */
  populate(address: bigint, length: number, write: boolean, iterations: number, fresh?: boolean): ConsumerRun;
}

export function consumersAddon(): NativeConsumers {
  const c = (addon() as unknown as { consumers?: NativeConsumers }).consumers;
  if (!c) throw new Error("guplab's native addon predates the consumer calls (native/consumers.cc): run `make build`");
  return c;
}

/** A consumer call's answer as a GUP-style return value: what it returned, or -errno. */
export const answerOf = (r: ConsumerRun): number => (r.errno ? -r.errno : r.ret);
