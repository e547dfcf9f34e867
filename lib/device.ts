import { API_NAMES, apiId, encodeFlags, isApiName, type ApiName, type FlagName } from './abi.js';
import { addon, type NativeDevice } from './native.js';

/** What the loaded module and running kernel offer (GUPLAB_IOC_INFO). */
export interface DeviceInfo {
  abiVersion: number;
  pageSize: number;
  maxPages: number;
  /** uname -r of the running kernel. */
  release: string;
  apis: ApiName[];
  flags: FlagName[];
}

export interface PinOptions {
  flags?: readonly FlagName[];
}

/** The answer of one GUP call, which the module released before returning. */
export interface PinResult {
  /** The GUP return value verbatim: pages taken, or -errno. */
  ret: number;
  /** Nanoseconds spent in the GUP call. */
  getNs: number;
  /** Nanoseconds spent releasing what it took (put_page / unpin_user_pages). */
  putNs: number;
}

/** An open /dev/guplab. */
export class GupDevice {
  readonly #native: NativeDevice;
  #info: DeviceInfo | undefined;

  private constructor(native: NativeDevice) {
    this.#native = native;
  }

  /** Opens the device; throws a SystemError (ENOENT: module not loaded, EACCES: not root). */
  static open(path?: string): GupDevice {
    const { Device } = addon();
    return new GupDevice(new Device(path));
  }

  info(): DeviceInfo {
    if (this.#info) return this.#info;
    const raw = this.#native.info();
    const { abi } = addon();
    if (raw.abiVersion !== abi.version) {
      throw new Error(
        `module ABI version ${raw.abiVersion} differs from the addon's ${abi.version}: rebuild both (\`make build\`) and reload the module (\`make load\`)`,
      );
    }
    this.#info = {
      abiVersion: raw.abiVersion,
      pageSize: raw.pageSize,
      maxPages: raw.maxPages,
      release: raw.release,
      apis: API_NAMES.filter((api) => (raw.apiMask >> BigInt(abi.apis[api] ?? 64)) & 1n),
      flags: Object.entries(abi.flags)
        .filter(([, bit]) => (raw.flagMask & bit) !== 0)
        .map(([name]) => name as FlagName),
    };
    return this.#info;
  }

  /**
   * Calls `api` on nrPages pages from `address` of this process, releases what
   * it took, and returns the kernel's answer and timings. A kernel error is a
   * result (ret < 0), not an exception; bad arguments throw before the call.
   */
  pin(api: ApiName, address: bigint, nrPages: number, options: PinOptions = {}): PinResult {
    if (!isApiName(api)) throw new TypeError(`unknown GUP API "${String(api)}": expected one of ${API_NAMES.join(', ')}`);
    if (typeof address !== 'bigint' || address < 0n) throw new TypeError('address must be a non-negative bigint');
    if (!Number.isSafeInteger(nrPages) || nrPages < 1) throw new RangeError(`nrPages must be a positive integer, got ${nrPages}`);
    const info = this.info();
    if (nrPages > info.maxPages) {
      throw new RangeError(`nrPages ${nrPages} exceeds the module's per-call limit ${info.maxPages} (module parameter max_pages_per_call)`);
    }
    if (!info.apis.includes(api)) throw new TypeError(`${api} is not available on kernel ${info.release}`);
    return this.#native.pin({ api: apiId(api), flags: encodeFlags(options.flags ?? []), addr: address, nrPages });
  }

  close(): void {
    this.#native.close();
  }

  get closed(): boolean {
    return this.#native.closed;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
