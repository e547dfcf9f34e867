// Loads the C++ addon (native/, built by node-gyp) with an actionable error.
import { createRequire } from 'node:module';
import path from 'node:path';
import { BuildMismatchError } from './errors.js';
import { projectRoot } from './util/root.js';
import { ENV } from './contract.js';

/** The raw pin request the addon passes to GUPLAB_IOC_PIN. */
export interface NativePinRequest {
  api: number;
  flags: number;
  addr: bigint;
  nrPages: number;
  pid?: number;
  hold?: boolean;
  facts?: boolean;
}

/** struct guplab_page_facts, as the addon returns it. */
export interface NativePageFacts {
  pfn: bigint;
  pfnBefore: bigint;
  kind: number;
  props: number;
  folioOrder: number;
  refcount: number;
  pincount: number;
  zone: number;
  zoneName: string;
}

export interface NativePinResult {
  ret: number;
  getNs: number;
  putNs: number;
  handle: number;
  facts?: NativePageFacts[];
}

export interface NativeBenchRequest {
  api: number;
  flags: number;
  addr: bigint;
  nrPages: number;
  pagesPerCall: number;
  iterations: number;
  /** guplab_bench.mode (ABI 8); 0 (BATCH) when absent. */
  mode?: number;
  pid?: number;
}

export interface NativeBenchResult {
  done: number;
  status: number;
  ret: number;
  getNs: number[];
  putNs: number[];
}

export interface NativeMirrorRequest {
  addr: bigint;
  nrPages: number;
  flags: number;
}

export interface NativeMirrorResult {
  handle: number;
  faultNs: number;
  validPages: number;
}

export interface NativeMirrorState {
  nrPages: number;
  validPages: number;
  invalidations: number;
  faults: number;
  retries: number;
  /** Invalidations per GUPLAB_EVENT_* id. */
  events: number[];
  log: { event: number; start: bigint; end: bigint }[];
  /** GUPLAB_MPFN_* entries, when asked for. */
  pfns?: BigUint64Array;
}

export interface NativeInfo {
  abiVersion: number;
  pageSize: number;
  apiMask: bigint;
  flagMask: number;
  maxPages: number;
  maxHeldPages: number;
  warnFlags: number[];
  /** Per API id, the GUPLAB_FLAG_* bits a caller without CAP_SYS_ADMIN may pass (ABI 7). */
  unprivFlags: number[];
  /** The process that asked has CAP_SYS_ADMIN (GUPLAB_CALLER_ADMIN). */
  admin: boolean;
  release: string;
}

/** The slots of NativeDevice.preparePin's Float64Array: in api, flags, addr (its 64 bits: written through a BigUint64Array over the same memory), nrPages, pid, hold (0 or 1); out ret, getNs, putNs, handle. */
export type PinSlotName = 'api' | 'flags' | 'addr' | 'nrPages' | 'pid' | 'hold' | 'ret' | 'getNs' | 'putNs' | 'handle';
/** Each slot's index (abi.pinSlots, from native/addon.h), and how many there are. */
export type PinSlots = Readonly<Record<PinSlotName | 'length', number>>;

export interface NativeDevice {
  info(): NativeInfo;
  pin(request: NativePinRequest): NativePinResult;
  pinAsync(request: NativePinRequest): Promise<NativePinResult>;
  /**
   * A PIN request in a Float64Array (abi.pinSlots): each call of the
   * function it returns makes the ioctl with what the in slots hold then,
   * and writes the out slots.
   */
  preparePin(slots: Float64Array): () => void;
  /** Signals the worker threads inside an ioctl of this device; returns how many. */
  interrupt(): number;
  release(handle: number, dirty: boolean): { nrPages: number; putNs: number };
  access(handle: number, index: number, offset: number, bytes: Uint8Array, write: boolean): void;
  bench(request: NativeBenchRequest): Promise<NativeBenchResult>;
  mirror(request: NativeMirrorRequest): NativeMirrorResult;
  mirrorAsync(request: NativeMirrorRequest): Promise<NativeMirrorResult>;
  mirrorState(handle: number, pfns: boolean): NativeMirrorState;
  close(): void;
  readonly closed: boolean;
}

export interface NativeAddon {
  abi: {
    version: number;
    devicePath: string;
    apis: Record<string, number>;
    /** Per API (kmod/uapi/guplab.h): FOLL_PIN or FOLL_GET, and how a kernel caller calls it. */
    apiInfo: Record<string, { pin: boolean; path: 'fast' | 'fast_only' | 'unlocked' | 'locked' | 'remote' }>;
    flags: Record<string, number>;
    kinds: Record<string, number>;
    props: Record<string, number>;
    benchMaxIterations: number;
    /** Pages one BENCH iteration may cover. */
    benchMaxPages: number;
    /** Pages one open file of /dev/guplab offers to mmap() (ABI 5). */
    mmapPages: number;
    /** Invalidation reasons a mirror records (ABI 6), name -> id. */
    events: Record<string, number>;
    mirrorFlags: { write: number; snapshot: number };
    /** BENCH's api value for hmm_range_fault(). */
    benchHmmRangeFault: number;
    /** guplab_bench.mode (ABI 8): BATCH or PASS timing, EMPTY or'ed in for the harness's floor. */
    benchModes: { batch: number; pass: number; empty: number };
    pinSlots: PinSlots;
  };
  /** The system's base page size, sysconf(_SC_PAGESIZE). */
  pageSize: number;
  Device: new (path?: string) => NativeDevice;
  map(options: NativeMapOptions): { buffer: ArrayBuffer; address: bigint; length: number };
  /** Detaches the buffer and unmaps it; false when it was already unmapped. */
  unmap(buffer: ArrayBuffer): boolean;
  protect(address: bigint, length: number, prot: 'rw' | 'r' | 'none'): void;
  advise(address: bigint, length: number, advice: string): void;
  /** madvise(MADV_HWPOISON) with SIGBUS counted, not fatal; errno 0 when madvise succeeded. */
  hwpoison(address: bigint, length: number): { errno: number; sigbus: number; code: string };
  touch(address: bigint, length: number, write: boolean): void;
  /** msync(MS_SYNC). */
  msync(address: bigint, length: number): void;
  /** Pages mincore() finds resident. */
  resident(address: bigint, length: number): number;
  /** move_pages(2) of one page to node (node < 0: where it is, in status). */
  movePages(address: bigint, node: number): { ret: number; errno: number; status: number };
  pfn(address: bigint, length: number): bigint;
  /** fdatasync + POSIX_FADV_DONTNEED on a file; returns the pages mincore() still finds resident. */
  dropCache(path: string): number;
  forkRun(ops: { op: string; address: bigint; value: number }[]): { results: bigint[]; status: number };
  /** A userfaultfd missing-page handler thread over [address, address+length). */
  FaultHandler: new (
    address: bigint,
    length: number,
    fill: number,
    userModeOnly?: boolean,
  ) => { stop(): number; readonly faults: number };
}

export interface NativeMapOptions {
  kind: 'anon' | 'hugetlb' | 'memfd' | 'secret' | 'file' | 'device';
  length: number;
  /** mmap offset in bytes (device mappings). */
  offset?: number;
  shared: boolean;
  prot: 'rw' | 'r' | 'none';
  populate: 'none' | 'read' | 'write';
  holeAfter: boolean;
  align: number;
  thp?: 'on' | 'off' | 'default';
  hugePageSize?: number;
  path?: string;
  create?: boolean;
  sync?: boolean;
}

let cached: NativeAddon | undefined;

/**
 * Where the addon is: $GUPLAB_ADDON (a guest of another arch gets one built
 * for it, lib/vm/guestroot.ts), else what node-gyp-build finds: the
 * checkout's build/Release, or the package's prebuilds/<platform>-<arch>.
 */
export function addonPath(): string {
  const given = process.env[ENV.addon];
  if (given) return given;
  const require = createRequire(import.meta.url);
  const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
  return nodeGypBuild.resolve(projectRoot);
}

/** Returns the addon, or throws an Error that says how to build it. */
export function addon(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  let file = path.join(projectRoot, 'build', 'Release', 'guplab.node');
  try {
    file = addonPath();
    cached = require(file) as NativeAddon;
  } catch (cause) {
    throw new BuildMismatchError(`guplab's native addon could not be loaded (${file}): no build and no prebuild for ${process.platform}-${process.arch}`, {
      code: 'ERR_GUPLAB_BUILD',
      path: file,
      hint: `run \`make build\` in a checkout, or \`npm rebuild guplab\` where guplab is installed (needs python3, make and g++)`,
      cause,
    });
  }
  return cached;
}
