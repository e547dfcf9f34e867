// Names of the GUP entry points and portable flags. Their numbers come from
// the addon, which takes them from kmod/uapi/guplab.h.
import { BuildMismatchError } from './errors.js';
import { addon } from './native.js';

/** GUP entry points guplab can call. */
export const API_NAMES = [
  'get_user_pages_fast',
  'pin_user_pages_fast',
  'get_user_pages_unlocked',
  'pin_user_pages_unlocked',
  'get_user_pages_fast_only',
  'pin_user_pages_fast_only',
  'get_user_pages',
  'pin_user_pages',
  'get_user_pages_remote',
  'pin_user_pages_remote',
] as const;
/** A GUP entry point the module can call (those this kernel lacks are refused by GupDevice). */
export type ApiName = (typeof API_NAMES)[number];

/**
 * What BENCH can time: the GUP entry points, and hmm_range_fault() (an ODP
 * driver's fill of its mirror, timed like a GUP call; nothing to release).
 * hmm_refault and hmm_refault_mprotect are the bench engine's
 * invalidate-and-refault cycles of a mirror (MADV_DONTNEED of the range, or
 * mprotect(PROT_READ) then back, then one hmm_range_fault() fill of it),
 * not BENCH apis of the module.
 */
export const BENCH_APIS = [...API_NAMES, 'hmm_range_fault', 'hmm_refault', 'hmm_refault_mprotect'] as const;

/** The bench engine's invalidate-and-refault cycles (not BENCH apis). */
export const REFAULT_CYCLES = ['hmm_refault', 'hmm_refault_mprotect'] as const;
export function isRefaultCycle(api: string): api is (typeof REFAULT_CYCLES)[number] {
  return (REFAULT_CYCLES as readonly string[]).includes(api);
}
export type BenchApi = (typeof BENCH_APIS)[number];

/**
 * BENCH's timing modes (guplab_bench.mode, ABI 8; docs/bench.md "Timing
 * modes"): 'batch' reads the clock around each call and releases each batch
 * at once; 'pass' is mm/gup_test.c's method (one clock pair per pass, every
 * batch held, an untimed verify, then one put).
 */
export const BENCH_TIMINGS = ['batch', 'pass'] as const;
export type BenchTiming = (typeof BENCH_TIMINGS)[number];

/** Whether an API can be timed 'pass' (not *_remote nor the hmm cycles: they take their mm or mirror per batch). */
export function passTimable(api: BenchApi): boolean {
  return (API_NAMES as readonly string[]).includes(api) && !isRemoteApi(api as ApiName);
}

/** Portable GUP flags, translated to the running kernel's FOLL_* by the module. */
export const FLAG_NAMES = [
  'write',
  'longterm',
  'force',
  'nowait',
  'nofault',
  'hwpoison',
  'anon',
  'split_pmd',
  'dump',
  'interruptible',
  'honor_numa_fault',
] as const;
/** A portable FOLL_* flag: "write" is FOLL_WRITE, "longterm" FOLL_LONGTERM, and so on. */
export type FlagName = (typeof FLAG_NAMES)[number];

/** The ABI's facts about an entry point (kmod/uapi/guplab.h, through the addon). */
export function apiInfo(api: ApiName): { pin: boolean; path: 'fast' | 'fast_only' | 'unlocked' | 'locked' | 'remote' } {
  const info = addon().abi.apiInfo[api];
  if (!info) throw new BuildMismatchError(`the addon does not know API ${api}`, { code: 'ERR_GUPLAB_BUILD', hint: 'rebuild it with `make build`' });
  return info;
}

/** True for the pin_* (FOLL_PIN) entry points, false for get_* (FOLL_GET). */
export function isPinApi(api: ApiName): boolean {
  return apiInfo(api).pin;
}

/** True for get_user_pages_remote / pin_user_pages_remote, which act on another process. */
export function isRemoteApi(api: ApiName): boolean {
  return apiInfo(api).path === 'remote';
}

/** Decodes the ABI's flag bit mask into names. */
export function decodeFlags(bits: number): FlagName[] {
  const { flags } = addon().abi;
  return FLAG_NAMES.filter((name) => ((flags[name] ?? 0) & bits) !== 0);
}

/** True for a name in FLAG_NAMES. */
export function isFlagName(name: string): name is FlagName {
  return (FLAG_NAMES as readonly string[]).includes(name);
}

/** True for a name in API_NAMES. */
export function isApiName(name: string): name is ApiName {
  return (API_NAMES as readonly string[]).includes(name);
}

/** The ABI's number for an API (kmod/uapi/guplab.h), as the addon reports it. */
export function apiId(api: ApiName): number {
  const id = addon().abi.apis[api];
  if (id === undefined) throw new BuildMismatchError(`the addon does not know API ${api}`, { code: 'ERR_GUPLAB_BUILD', hint: 'rebuild it with `make build`' });
  return id;
}

/** Encodes flag names into the ABI's bit mask. */
export function encodeFlags(flags: readonly FlagName[]): number {
  let bits = 0;
  for (const flag of flags) {
    // Names first: a lookup alone would take "constructor" for a flag.
    const bit = typeof flag === 'string' && isFlagName(flag) ? addon().abi.flags[flag] : undefined;
    if (bit === undefined) throw new TypeError(`unknown GUP flag "${flag}": expected one of ${FLAG_NAMES.join(', ')}`);
    bits |= bit;
  }
  return bits;
}
