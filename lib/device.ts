import { readFileSync } from 'node:fs';
import {
  API_NAMES,
  apiId,
  decodeFlags,
  encodeFlags,
  isApiName,
  isPinApi,
  isRemoteApi,
  type ApiName,
  type BenchApi,
  type BenchTiming,
  type FlagName,
} from './abi.js';
import { BuildMismatchError, classify, ClosedError, UnsupportedError } from './errors.js';
import { ENV } from './contract.js';
import {
  addon,
  type NativeDevice,
  type PinSlots,
  type NativeMirrorRequest,
  type NativeMirrorState,
  type NativePageFacts,
  type NativePinRequest,
  type NativePinResult,
} from './native.js';

/** What the loaded module and running kernel offer (GUPLAB_IOC_INFO). */
export interface DeviceInfo {
  abiVersion: number;
  pageSize: number;
  /** Largest page count of one call. */
  maxPages: number;
  /** Most pages one open device may hold. */
  maxHeldPages: number;
  /** uname -r of the running kernel. */
  release: string;
  /** The entry points this kernel exports. */
  apis: ApiName[];
  /** The FOLL_* flags this kernel has. */
  flags: FlagName[];
  /**
   * Per API, the flags this kernel answers through WARN_ON_ONCE (a
   * "WARNING:" in dmesg). guplab passes them through to a caller with
   * CAP_SYS_ADMIN (the answer is the point); others get EPERM.
   */
  warnFlags: Record<ApiName, FlagName[]>;
  /**
   * Per API, the flags a caller without CAP_SYS_ADMIN may pass (an
   * allowlist: EPERM for any other). "force" only for *_remote, and there
   * only on a process the caller traces (PTRACE_ATTACH/SEIZE).
   */
  unprivFlags: Record<ApiName, FlagName[]>;
  /**
   * The process that opened the device (and asked INFO first) has
   * CAP_SYS_ADMIN: every flag, any hold, and frame numbers (pfn,
   * pfnBefore, a mirror's pfns), which others see as 0n, as in
   * /proc/PID/pagemap.
   */
  admin: boolean;
}

/** Options of GupDevice.pin() and pinAsync(). */
export interface PinOptions {
  /** FOLL_* flags to pass; default none (a read-only GUP). */
  flags?: readonly FlagName[];
  /**
   * Target process of *_remote: this process, or (without CAP_SYS_PTRACE)
   * one it traces (PTRACE_ATTACH/SEIZE) with the same uid/gid.
   */
  pid?: number;
  /**
   * Keep what the call took; release it with {@link GupDevice.release} (or
   * close). Without CAP_SYS_ADMIN only a pin_* call with flags ["longterm"]
   * may hold; held pages are charged to the user against RLIMIT_MEMLOCK.
   */
  hold?: boolean;
  /** Return per-page facts read while the pages were held. */
  facts?: boolean;
}

/** What backs a page: anonymous, page cache, shmem, hugetlb, ZONE_DEVICE (DAX) or a KSM page. */
export const PAGE_KINDS = ['anon', 'file', 'shmem', 'hugetlb', 'zoneDevice', 'ksm'] as const;
export type PageKind = (typeof PAGE_KINDS)[number];

/** What the kernel handed out for one page. */
export interface PageFacts {
  pfn: bigint;
  /** pfn of the page before the call, when it was present (0n otherwise). */
  pfnBefore: bigint;
  kinds: PageKind[];
  folioOrder: number;
  /** folio_ref_count while held. */
  refcount: number;
  /** Exact FOLL_PIN count of a large folio; -1 for small folios (pins count in refcount, by GUP_PIN_COUNTING_BIAS). */
  pincount: number;
  zone: string;
  longtermPinnable: boolean;
  maybeDmaPinned: boolean;
  zoneMovable: boolean;
  /** pfn differs from pfnBefore: the kernel migrated the page (FOLL_LONGTERM). */
  pfnChanged: boolean;
}

/** The answer of one GUP call. */
export interface PinResult {
  /** The GUP return value verbatim: pages taken, or -errno. */
  ret: number;
  /** Nanoseconds spent in the GUP call. */
  getNs: number;
  /** Nanoseconds spent releasing what it took (0 when held). */
  putNs: number;
  /** With `hold` and ret > 0: the held set. */
  handle?: number;
  facts?: PageFacts[];
}

/** Options of GupDevice.bench(). */
export interface BenchRequest {
  /** FOLL_* flags of every call. */
  flags?: readonly FlagName[];
  /** Target process of *_remote. */
  pid?: number;
  /** Pages per GUP call; the range is covered in batches of this size. */
  pagesPerCall: number;
  /** Samples to take: 1 .. the ABI's benchMaxIterations. */
  iterations: number;
  /**
   * How an iteration is timed (docs/bench.md, "Timing modes"): 'batch' (default)
   * reads the clock around each call and releases each batch at once; 'pass'
   * is mm/gup_test.c's method (one clock pair per pass, every batch held, an
   * untimed verify, then one put; a locked API's mmap_read_lock outside the
   * timer). Not 'pass' for *_remote or hmm_range_fault.
   */
  timing?: BenchTiming;
  /** The same loop with no GUP call: the harness's own floor (per iteration). */
  empty?: boolean;
  /** Stops the loop early: the promise resolves with the samples so far and status -EINTR. */
  signal?: AbortSignal;
}

/** Per-iteration samples of the in-kernel loop. */
export interface BenchSamples {
  /** Iterations completed. */
  done: number;
  /**
   * 0, -EINTR (interrupted by a signal), -ETIME (-62: ran for the module
   * parameter max_bench_seconds), -ESRCH (a *_remote target exited), or
   * -errno of a call that failed.
   */
  status: number;
  /** GUP return value of the call that fell short, if one did. */
  ret: number;
  getNs: number[];
  putNs: number[];
}

/** Options of GupDevice.mirror(). */
export interface MirrorOptions {
  /** Fault for write (HMM_PFN_REQ_WRITE), so that writeMirrored() may write; the mapping must be writable. */
  write?: boolean;
  /** Record only the pages present now (hmm_range_fault() without HMM_PFN_REQ_FAULT): fault nothing in. */
  snapshot?: boolean;
}

/** Why a mirror was invalidated: enum mmu_notifier_event (include/linux/mmu_notifier.h). */
export const MIRROR_EVENTS = ['unmap', 'clear', 'protectionVma', 'protectionPage', 'softDirty', 'release', 'migrate', 'exclusive', 'other'] as const;
export type MirrorEvent = (typeof MIRROR_EVENTS)[number];

/** A mirror GupDevice.mirror() made. */
export interface Mirror {
  /** For readPinned/writePinned (which fault an invalidated page back in), mirrorState and release. */
  handle: number;
  /** Time of the creation's hmm_range_fault() fills, retries included. */
  faultNs: number;
  /** Pages the mirror's page table holds after creation. */
  validPages: number;
}

/** One entry of a mirror's page table. */
export interface MirrorPfn {
  valid: boolean;
  /** The CPU mapping was writable when it was filled. */
  writable: boolean;
  pfn: bigint;
}

/** What a mirror has seen since it was made. */
export interface MirrorState {
  nrPages: number;
  /** Entries valid now: pages the mirror may use without faulting. */
  validPages: number;
  /** Invalidate callbacks that overlapped the mirror. */
  invalidations: number;
  /** Successful hmm_range_fault() fills, creation included. */
  faults: number;
  /** Fills redone because an invalidation raced them. */
  retries: number;
  /** Invalidations per reason (reasons never seen are left out). */
  events: Partial<Record<MirrorEvent, number>>;
  /** The last invalidations, oldest first, clipped to the mirror. */
  log: { event: MirrorEvent; start: bigint; end: bigint }[];
  pfns?: MirrorPfn[];
}

/** The name of a GUPLAB_EVENT_* id. */
function eventName(id: number): MirrorEvent {
  const { events } = addon().abi;
  return MIRROR_EVENTS.find((e) => events[e] === id) ?? 'other';
}

function decodeMirrorState(raw: NativeMirrorState): MirrorState {
  const events: Partial<Record<MirrorEvent, number>> = {};
  raw.events.forEach((n, id) => {
    if (n) events[eventName(id)] = (events[eventName(id)] ?? 0) + n;
  });
  const state: MirrorState = {
    nrPages: raw.nrPages,
    validPages: raw.validPages,
    invalidations: raw.invalidations,
    faults: raw.faults,
    retries: raw.retries,
    events,
    log: raw.log.map((e) => ({ event: eventName(e.event), start: e.start, end: e.end })),
  };
  if (raw.pfns) {
    // GUPLAB_MPFN_VALID (bit 63), GUPLAB_MPFN_WRITE (bit 62), pfn below bit 56.
    state.pfns = Array.from(raw.pfns, (e) => ({ valid: e >> 63n === 1n, writable: ((e >> 62n) & 1n) === 1n, pfn: e & ((1n << 56n) - 1n) }));
  }
  return state;
}

/** A MIRROR errno with the fix it calls for. */
function mirrorError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const hints: Record<string, string> = {
    EEXIST: 'the range overlaps a mirror this device already has: release that one first, or open another device',
    EFAULT: 'part of the range is not mapped (or, with write, not writable): mirror mapped memory',
    EPERM: 'the range is not writable: mirror it without write, or mprotect it writable',
    ENOSPC: 'this device has 64 mirrors already: release some',
    EOPNOTSUPP: 'the running kernel lacks CONFIG_HMM_MIRROR',
  };
  return classify(err, 'other', code ? hints[code] : undefined);
}

function decodePin(raw: NativePinResult): PinResult {
  // The common answer (no handle, no facts) in one object of one shape.
  if (!raw.handle && !raw.facts) return { ret: raw.ret, getNs: raw.getNs, putNs: raw.putNs };
  return {
    ret: raw.ret,
    getNs: raw.getNs,
    putNs: raw.putNs,
    ...(raw.handle ? { handle: raw.handle } : {}),
    ...(raw.facts ? { facts: raw.facts.map(decodeFacts) } : {}),
  };
}

/**
 * A PIN request and its answer in a Float64Array that the addon reads and
 * writes in place (abi.pinSlots): a call makes no object, string key or
 * BigInt in N-API. Filled and read by pin() and PreparedPin.
 */
interface SlotCall {
  run: () => void;
  slots: Float64Array;
  /** The same memory as 64-bit words, for the addr slot. */
  words: BigUint64Array;
  at: PinSlots;
}

/**
 * A PIN validated once (GupDevice.prepare): run() repeats it and returns
 * the GUP return value; getNs and putNs are the last call's kernel times.
 */
export class PreparedPin {
  readonly #call: SlotCall;
  readonly #closed: () => boolean;
  readonly #explain: (err: unknown) => unknown;

  constructor(call: SlotCall, closed: () => boolean, explain: (err: unknown) => unknown) {
    this.#call = call;
    this.#closed = closed;
    this.#explain = explain;
  }

  /** One call; returns the GUP return value (pages, or -errno). */
  run(): number {
    if (this.#closed()) throw closedError();
    const { run, slots, at } = this.#call;
    try {
      run();
    } catch (err) {
      throw this.#explain(err);
    }
    return slots[at.ret] as number;
  }

  get getNs(): number {
    return this.#call.slots[this.#call.at.getNs] as number;
  }

  get putNs(): number {
    return this.#call.slots[this.#call.at.putNs] as number;
  }
}

function closedError(): ClosedError {
  return new ClosedError('the device is closed: open a new one with GupDevice.open()', { code: 'ERR_GUPLAB_CLOSED', syscall: 'ioctl' });
}

/** A call without flags (one array for all, not one per call). */
const NO_FLAGS: readonly FlagName[] = [];

/** What #check found once for an (api, flags) pair: the ABI's numbers, and whether the API takes a pid. */
interface Checked {
  api: number;
  flags: number;
  remote: boolean;
}

function decodeFacts(raw: NativePageFacts): PageFacts {
  const { kinds, props } = addon().abi;
  const has = (name: string): boolean => ((props[name] ?? 0) & raw.props) !== 0;
  return {
    pfn: raw.pfn,
    pfnBefore: raw.pfnBefore,
    kinds: Object.entries(kinds)
      .filter(([, bit]) => (raw.kind & bit) !== 0)
      .map(([name]) => name as PageKind),
    folioOrder: raw.folioOrder,
    refcount: raw.refcount,
    pincount: raw.pincount,
    zone: raw.zoneName,
    longtermPinnable: has('longtermPinnable'),
    maybeDmaPinned: has('maybeDmaPinned'),
    zoneMovable: has('zoneMovable'),
    pfnChanged: has('pfnChanged'),
  };
}

/**
 * Whether holding nrPages more would pass this process's RLIMIT_MEMLOCK:
 * VmPin (pins already charged) plus the request against the soft limit.
 */
function overMemlock(nrPages: number, pageSize: number): boolean {
  try {
    const soft = /^Max locked memory\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    if (soft === undefined || soft === 'unlimited') return false;
    const pinnedKb = Number(/^VmPin:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
    return pinnedKb * 1024 + nrPages * pageSize > Number(soft);
  } catch {
    return true; // no /proc to ask: the limit is the likely cause
  }
}

/** The error class and the fix for an error the module gives for a PIN. */
function explainPinError(err: unknown, api: ApiName, nrPages: number, options: PinOptions, info: DeviceInfo): unknown {
  if (!(err instanceof Error)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  // A HOLD's ENOMEM is the RLIMIT_MEMLOCK charge, or the kernel out of memory for its arrays.
  const memlock = code === 'ENOMEM' && options.hold === true && overMemlock(nrPages, info.pageSize);
  const context = memlock ? 'hold' : options.pid !== undefined ? 'remote' : 'pin';
  let hint: string | undefined;
  if (memlock) {
    hint = `holding ${nrPages} pages exceeds RLIMIT_MEMLOCK (held pins are charged like RDMA's): raise it (ulimit -l, prlimit --memlock) or run with CAP_IPC_LOCK`;
  } else if (code === 'ENOMEM' && options.hold) {
    hint = `either your user's other processes hold pins too (held pins are charged to the user, like io_uring's, against RLIMIT_MEMLOCK), or the kernel could not allocate what a hold of ${nrPages} pages needs: release sets, raise RLIMIT_MEMLOCK, or hold fewer pages per call`;
  } else if (code === 'E2BIG') {
    hint = options.hold
      ? `one open device holds at most ${info.maxHeldPages} pages (module parameter max_held_pages_per_file): release sets or raise it`
      : `one call takes at most ${info.maxPages} pages (module parameter max_pages_per_call)`;
  } else if (code === 'EPERM' && options.flags?.some((f) => info.warnFlags[api]?.includes(f))) {
    hint = `kernel ${info.release} answers ${api} with flags [${options.flags.join(', ')}] through WARN_ON_ONCE (a taint; a panic under panic_on_warn): only a caller with CAP_SYS_ADMIN may ask`;
  } else if (code === 'EPERM' && options.flags?.includes('force') && (options.pid === undefined || info.unprivFlags[api]?.includes('force'))) {
    hint = `without CAP_SYS_ADMIN, flag "force" (FOLL_FORCE: writing through a read-only mapping) is only for *_remote on a process this one traces (PTRACE_ATTACH/PTRACE_SEIZE), as /proc/PID/mem under CONFIG_PROC_MEM_FORCE_PTRACE`;
  } else if (code === 'EPERM' && options.flags?.some((f) => !info.unprivFlags[api]?.includes(f))) {
    hint = `without CAP_SYS_ADMIN, ${api} takes only flags [${info.unprivFlags[api]?.join(', ')}] (an allowlist): [${options.flags.filter((f) => !info.unprivFlags[api]?.includes(f)).join(', ')}] need CAP_SYS_ADMIN`;
  } else if (code === 'EPERM' && options.hold && !(isPinApi(api) && options.flags?.includes('longterm'))) {
    hint = 'a hold is a long-term pin: without CAP_SYS_ADMIN it must be a pin_* call with flags ["longterm"]';
  } else if (code === 'EPERM' && options.pid !== undefined) {
    hint = `this process may not use the memory of pid ${options.pid}: *_remote on another process needs CAP_SYS_PTRACE, or to be its tracer (PTRACE_ATTACH/PTRACE_SEIZE, which Yama and the other LSMs decide) with its uid/gid and a dumpable target`;
  } else if (code === 'ESRCH' && options.pid !== undefined) {
    hint = `no process ${options.pid} (or it has no mm)`;
  }
  return classify(err, context, hint);
}

/**
 * An open /dev/guplab. Pins held through it are released when it is closed,
 * or when it is garbage collected: keep it reachable while pins are held.
 */
export class GupDevice {
  readonly #native: NativeDevice;
  #info: DeviceInfo | undefined;
  /** close() was called: checked in JS, not through the addon's accessor (an N-API call per ioctl). */
  #closed = false;
  /** Page offset mask as a bigint, once. */
  #pageMask: bigint | undefined;
  /** (api, flags) pairs this kernel was found to take, with their ABI numbers: validated once, not per call. */
  readonly #checked = new Map<string, Checked>();
  /** pin()'s slot request, bound on first use. */
  #pinCall: SlotCall | undefined;

  private constructor(native: NativeDevice) {
    this.#native = native;
  }

  /** The native device, or a ClosedError after close(). */
  get #live(): NativeDevice {
    if (this.#closed) throw closedError();
    return this.#native;
  }

  /**
   * A GupDevice over any NativeDevice: the seam for unit tests of the layers
   * above the addon (a scripted fake; test/fake/device.ts). Use open() for
   * the real /dev/guplab.
   */
  static fromNative(native: NativeDevice): GupDevice {
    return new GupDevice(native);
  }

  /** Opens the device; throws DeviceMissingError (module not loaded) or PermissionError (not root). */
  static open(path?: string): GupDevice {
    const { Device } = addon();
    try {
      return new GupDevice(new Device(path));
    } catch (err) {
      // A guest booted without the module (vm run --no-module) says so: no insmod can help there.
      const noModule = process.env[ENV.noModule] === '1' && (err as NodeJS.ErrnoException).code === 'ENOENT';
      // The addon's own hint (make load, or run in the VM) does not apply here: keep only the system error.
      if (noModule && err instanceof Error) err.message = err.message.split('. ')[0]!;
      throw classify(
        err,
        'open',
        noModule
          ? 'this guest was booted with --no-module, so guplab.ko is not loaded and /dev/guplab cannot appear: boot without --no-module, on a kernel line with headers (guplab kernels)'
          : undefined,
      );
    }
  }

  info(): DeviceInfo {
    if (this.#info) return this.#info;
    let raw;
    try {
      raw = this.#live.info();
    } catch (err) {
      throw classify(err);
    }
    const { abi } = addon();
    if (raw.abiVersion !== abi.version) {
      throw new BuildMismatchError(`module ABI version ${raw.abiVersion} differs from the addon's ${abi.version}`, {
        code: 'ERR_GUPLAB_BUILD',
        hint: 'rebuild both (`make build`) and reload the module (`make load`)',
      });
    }
    const warnFlags = {} as Record<ApiName, FlagName[]>;
    const unprivFlags = {} as Record<ApiName, FlagName[]>;
    for (const api of API_NAMES) {
      warnFlags[api] = decodeFlags(raw.warnFlags[apiId(api)] ?? 0);
      unprivFlags[api] = decodeFlags(raw.unprivFlags[apiId(api)] ?? 0);
    }
    this.#info = {
      abiVersion: raw.abiVersion,
      pageSize: raw.pageSize,
      maxPages: raw.maxPages,
      maxHeldPages: raw.maxHeldPages,
      release: raw.release,
      apis: API_NAMES.filter((api) => (raw.apiMask >> BigInt(abi.apis[api] ?? 64)) & 1n),
      flags: decodeFlags(raw.flagMask),
      warnFlags,
      unprivFlags,
      admin: raw.admin,
    };
    return this.#info;
  }

  /** Would this call make the running kernel WARN (so a dmesg watchdog should expect it)? */
  warns(api: ApiName, flags: readonly FlagName[]): boolean {
    const warn = this.info().warnFlags[api];
    return flags.some((f) => warn.includes(f));
  }

  /**
   * Validates a call's arguments against this kernel; returns the ABI's
   * numbers for its (api, flags). What depends only on (api, flags) against this kernel is checked
   * once per device and remembered; the per-call part is a few comparisons.
   */
  #check(api: ApiName, address: bigint, nrPages: number, limit: number, pid: number | undefined, flags: readonly FlagName[]): Checked {
    if (typeof address !== 'bigint' || address < 0n) throw new TypeError('address must be a non-negative bigint');
    if (!Number.isSafeInteger(nrPages) || nrPages < 1) throw new RangeError(`nrPages must be a positive integer, got ${nrPages}`);
    if (!Array.isArray(flags)) throw new TypeError('flags must be an array of flag names');
    const key = flags.length === 0 ? api : `${api}|${flags.join('|')}`;
    let checked = this.#checked.get(key);
    if (checked === undefined) {
      checked = { flags: this.#checkOnce(api, flags), api: apiId(api), remote: isRemoteApi(api) };
      this.#checked.set(key, checked);
    }
    const mask = (this.#pageMask ??= BigInt(this.info().pageSize - 1));
    if ((address & mask) !== 0n) {
      throw new RangeError(
        `address 0x${address.toString(16)} is not page aligned (${this.info().pageSize} bytes): GUP takes the page holding it, so pass that page's address (Mapping.address + n * pageSize)`,
      );
    }
    if (nrPages > limit) throw new RangeError(`nrPages ${nrPages} exceeds the module's per-call limit ${limit} (module parameter max_pages_per_call)`);
    if (checked.remote && !(Number.isSafeInteger(pid) && (pid ?? 0) > 0)) throw new TypeError(`${api} needs the target's pid`);
    if (!checked.remote && pid !== undefined) throw new TypeError(`${api} acts on this process: pid is only for *_remote`);
    return checked;
  }

  /** The (api, flags) part of #check: a known API this kernel exports, flags it has. */
  #checkOnce(api: ApiName, flags: readonly FlagName[]): number {
    if (!isApiName(api)) throw new TypeError(`unknown GUP API "${String(api)}": expected one of ${API_NAMES.join(', ')}`);
    const flagBits = encodeFlags(flags);
    const info = this.info();
    if (!info.apis.includes(api)) {
      throw new UnsupportedError(`${api} is not exported by kernel ${info.release}`, {
        code: 'EOPNOTSUPP',
        hint: `this kernel offers: ${info.apis.join(', ')}`,
      });
    }
    const missing = flags.filter((f) => !info.flags.includes(f));
    if (missing.length) {
      throw new UnsupportedError(`kernel ${info.release} has no FOLL_ flag for ${missing.join(', ')}`, {
        code: 'EOPNOTSUPP',
        hint: `this kernel has: ${info.flags.join(', ')}`,
      });
    }
    return flagBits;
  }

  /**
   * A call validated once, for hot loops: run() makes the same PIN again and
   * again through slots the addon reads and writes in place (no request
   * object, no result object, no BigInt per call). Not for HOLD or facts
   * (use pin()).
   */
  prepare(api: ApiName, address: bigint, nrPages: number, options: Omit<PinOptions, 'hold' | 'facts'> = {}): PreparedPin {
    if ((options as PinOptions).hold || (options as PinOptions).facts)
      throw new TypeError('prepare(): no hold or facts in a prepared call: use pin() for those');
    const checked = this.#check(api, address, nrPages, this.info().maxPages, options.pid, options.flags ?? NO_FLAGS);
    const call = this.#slotCall();
    this.#fill(call, checked, address, nrPages, options.pid, false);
    return new PreparedPin(
      call,
      () => this.#closed,
      (err) => explainPinError(err, api, nrPages, options, this.info()),
    );
  }

  /**
   * Calls `api` on nrPages pages from `address` (of this process, or of
   * `pid` for *_remote) and returns the kernel's answer and timings. Unless
   * `hold` is set, what it took is released before this returns. A kernel
   * error is a result (ret < 0), not an exception; bad arguments throw
   * before the call.
   */
  pin(api: ApiName, address: bigint, nrPages: number, options: PinOptions = {}): PinResult {
    if (options.facts) return this.#pinObject(api, address, nrPages, options);
    const checked = this.#check(api, address, nrPages, this.info().maxPages, options.pid, options.flags ?? NO_FLAGS);
    if (this.#closed) throw closedError();
    const call = (this.#pinCall ??= this.#slotCall());
    this.#fill(call, checked, address, nrPages, options.pid, options.hold ?? false);
    try {
      call.run();
    } catch (err) {
      throw explainPinError(err, api, nrPages, options, this.info());
    }
    const { slots, at } = call;
    const ret = slots[at.ret] as number;
    const getNs = slots[at.getNs] as number;
    const putNs = slots[at.putNs] as number;
    const handle = slots[at.handle] as number;
    return handle ? { ret, getNs, putNs, handle } : { ret, getNs, putNs };
  }

  /** pin() through the addon's object interface: for facts. */
  #pinObject(api: ApiName, address: bigint, nrPages: number, options: PinOptions): PinResult {
    const request = this.#pinRequest(api, address, nrPages, options);
    try {
      return decodePin(this.#live.pin(request));
    } catch (err) {
      throw explainPinError(err, api, nrPages, options, this.info());
    }
  }

  /** A new slot request bound to the addon. */
  #slotCall(): SlotCall {
    const at = addon().abi.pinSlots;
    const slots = new Float64Array(at.length);
    return { run: this.#live.preparePin(slots), slots, words: new BigUint64Array(slots.buffer), at };
  }

  /** Writes a checked request into its slots. */
  #fill(call: SlotCall, checked: Checked, address: bigint, nrPages: number, pid: number | undefined, hold: boolean): void {
    const { slots, words, at } = call;
    slots[at.api] = checked.api;
    slots[at.flags] = checked.flags;
    words[at.addr] = address;
    slots[at.nrPages] = nrPages;
    slots[at.pid] = pid ?? 0;
    slots[at.hold] = hold ? 1 : 0;
  }

  /** pin() on a worker thread: for large HOLDs that would stall the event loop. */
  async pinAsync(api: ApiName, address: bigint, nrPages: number, options: PinOptions = {}): Promise<PinResult> {
    const request = this.#pinRequest(api, address, nrPages, options);
    try {
      return decodePin(await this.#live.pinAsync(request));
    } catch (err) {
      throw explainPinError(err, api, nrPages, options, this.info());
    }
  }

  #pinRequest(api: ApiName, address: bigint, nrPages: number, options: PinOptions): NativePinRequest {
    const { api: id, flags } = this.#check(api, address, nrPages, this.info().maxPages, options.pid, options.flags ?? NO_FLAGS);
    return {
      api: id,
      flags,
      addr: address,
      nrPages,
      ...(options.pid !== undefined ? { pid: options.pid } : {}),
      hold: options.hold ?? false,
      facts: options.facts ?? false,
    };
  }

  /** Releases a set held by pin({hold: true}); `dirty` marks the pages dirty first. */
  release(handle: number, options: { dirty?: boolean } = {}): { nrPages: number; putNs: number } {
    if (!Number.isSafeInteger(handle) || handle < 1) throw new RangeError(`handle must be a positive integer, got ${handle}`);
    try {
      return this.#live.release(handle, options.dirty ?? false);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const hint =
        code === 'EPERM'
          ? 'dirty: true needs a set taken with flags ["write"]: the kernel only dirties pages pinned for writing'
          : code === 'EINVAL' && options.dirty
            ? 'a mirror holds no pages to dirty: release it without dirty'
            : code === 'ENOENT'
              ? `no held set or mirror ${handle} on this device`
              : undefined;
      throw classify(err, 'other', hint);
    }
  }

  /**
   * Reads `length` bytes of page `index` of a held set or a mirror through
   * the kernel's mapping of the page (what a device doing DMA would see). A
   * mirror's invalidated page is faulted back in first (hmm_range_fault()).
   */
  readPinned(handle: number, index: number, offset = 0, length = 1): Uint8Array {
    const bytes = new Uint8Array(length);
    this.#access(handle, index, offset, bytes, false);
    return bytes;
  }

  /**
   * Writes bytes into page `index` of a held set or a mirror through the
   * kernel's mapping (a device's DMA write). A set must have been taken with
   * FOLL_WRITE (release it with dirty: true so that file pages are written
   * back); a mirror made with write: true (its fill dirtied the CPU mapping).
   */
  writePinned(handle: number, index: number, offset: number, data: Uint8Array): void {
    this.#access(handle, index, offset, data, true);
  }

  #access(handle: number, index: number, offset: number, bytes: Uint8Array, write: boolean): void {
    const page = this.info().pageSize;
    if (!Number.isSafeInteger(handle) || handle < 1) throw new RangeError(`handle must be a positive integer, got ${handle}`);
    if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`index must be a non-negative integer, got ${index}`);
    if (!Number.isSafeInteger(offset) || offset < 0 || bytes.length < 1 || offset + bytes.length > page) {
      throw new RangeError(`[${offset}, +${bytes.length}) must be a non-empty range inside one ${page}-byte page`);
    }
    try {
      this.#live.access(handle, index, offset, bytes, write);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw classify(
        err,
        'other',
        code === 'EPERM'
          ? 'the set was taken without FOLL_WRITE, or the mirror made without write: pin with flags ["write"], or mirror with {write: true}, to write through it'
          : code === 'ENOENT'
            ? `no held set or mirror ${handle} on this device`
            : code === 'ESRCH'
              ? 'the mirrored process has exited'
              : undefined,
      );
    }
  }

  /**
   * Runs the in-kernel loop: `iterations` x {GUP over nrPages in batches of
   * pagesPerCall, releasing each batch}, off the JS thread. One sample per
   * iteration; a signal stops it early (status -EINTR) with the samples so far.
   */
  async bench(api: BenchApi, address: bigint, nrPages: number, request: BenchRequest): Promise<BenchSamples> {
    if (api === 'hmm_refault' || api === 'hmm_refault_mprotect')
      throw new TypeError(`${api} is a cycle of the bench engine (runBench), not a BENCH api: bench hmm_range_fault here`);
    const hmm = api === 'hmm_range_fault';
    if (hmm && (request.flags ?? NO_FLAGS).some((f) => f !== 'write'))
      throw new TypeError('hmm_range_fault takes no FOLL_ flags: only "write" (HMM_PFN_REQ_WRITE)');
    if (hmm && request.pid !== undefined) throw new TypeError('hmm_range_fault acts on this process: no pid');
    const { flags } = this.#check(
      hmm ? 'get_user_pages_fast' : api,
      address,
      request.pagesPerCall,
      this.info().maxPages,
      request.pid,
      request.flags ?? NO_FLAGS,
    );
    if (!Number.isSafeInteger(nrPages) || nrPages < 1) throw new RangeError(`nrPages must be a positive integer, got ${nrPages}`);
    const { benchMaxPages, benchMaxIterations: max } = addon().abi;
    if (nrPages > benchMaxPages)
      throw new RangeError(`nrPages ${nrPages} exceeds what one BENCH iteration may cover (${benchMaxPages} pages): bench a smaller buffer`);
    if (!Number.isSafeInteger(request.iterations) || request.iterations < 1 || request.iterations > max) {
      throw new RangeError(`iterations must be an integer in 1..${max}, got ${request.iterations}`);
    }
    if (request.timing === 'pass' && (hmm || isRemoteApi(api as ApiName)))
      throw new TypeError(`timing 'pass' (gup_test's method) is not for ${api}: use 'batch'`);
    if (request.timing === 'pass' && nrPages > this.info().maxPages)
      throw new RangeError(`timing 'pass' holds every page of an iteration: nrPages ${nrPages} exceeds max_pages_per_call ${this.info().maxPages}`);
    const modes = addon().abi.benchModes;
    if (request.signal?.aborted) return { done: 0, status: -4, ret: 0, getNs: [], putNs: [] };
    const running = this.#live.bench({
      api: hmm ? addon().abi.benchHmmRangeFault : apiId(api),
      flags,
      addr: address,
      nrPages,
      pagesPerCall: request.pagesPerCall,
      iterations: request.iterations,
      mode: (request.timing === 'pass' ? modes.pass : modes.batch) | (request.empty ? modes.empty : 0),
      ...(request.pid !== undefined ? { pid: request.pid } : {}),
    });
    return this.#interruptible(running, request.signal).catch((err: unknown) => {
      throw classify(err);
    });
  }

  /**
   * Mirrors nrPages pages at address the way an on-demand-paging device
   * does: no page reference is held; an mmu_interval_notifier invalidates
   * the mirror's entries when the CPU page table changes, and hmm_range_fault()
   * fills them (now, and again on access). Release it with release(handle);
   * closing the device ends it too. mirrorAsync() makes a large one off the
   * JS thread.
   */
  mirror(address: bigint, nrPages: number, options: MirrorOptions = {}): Mirror {
    const request = this.#mirrorRequest(address, nrPages, options);
    try {
      return this.#live.mirror(request);
    } catch (err) {
      throw mirrorError(err);
    }
  }

  /** mirror() on a worker thread, for ranges whose first fill faults many pages. */
  async mirrorAsync(address: bigint, nrPages: number, options: MirrorOptions = {}): Promise<Mirror> {
    const request = this.#mirrorRequest(address, nrPages, options);
    return this.#live.mirrorAsync(request).catch((err: unknown) => {
      throw mirrorError(err);
    });
  }

  #mirrorRequest(address: bigint, nrPages: number, options: MirrorOptions): NativeMirrorRequest {
    this.#check('get_user_pages_fast', address, nrPages, this.info().maxPages, undefined, []);
    const { mirrorFlags } = addon().abi;
    return { addr: address, nrPages, flags: (options.write ? mirrorFlags.write : 0) | (options.snapshot ? mirrorFlags.snapshot : 0) };
  }

  /** What mirror `handle` has seen (invalidations by reason, the last ones, fills); `pfns` adds its page table. */
  mirrorState(handle: number, options: { pfns?: boolean } = {}): MirrorState {
    if (!Number.isSafeInteger(handle) || handle < 1) throw new RangeError(`handle must be a positive integer, got ${handle}`);
    try {
      return decodeMirrorState(this.#live.mirrorState(handle, options.pfns ?? false));
    } catch (err) {
      throw classify(
        err,
        'other',
        (err as NodeJS.ErrnoException).code === 'ENOENT' ? `no mirror ${handle} on this device (a held set has no mirror state)` : undefined,
      );
    }
  }

  /** Signals the worker thread on abort, and again until the work settles (a signal can land just before the ioctl). */
  async #interruptible<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (!signal) return work;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      this.#native.interrupt();
      timer = setInterval(() => this.#native.interrupt(), 20);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await work;
    } finally {
      signal.removeEventListener('abort', onAbort);
      clearInterval(timer);
    }
  }

  close(): void {
    this.#closed = true;
    this.#native.close();
  }

  get closed(): boolean {
    return this.#native.closed;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
