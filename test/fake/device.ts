// A scripted NativeDevice for unit tests of the TypeScript layers above the
// addon (argument validation, the bench engine's rounds and sampling, probe
// judging). It records every request and answers from a script. It never
// stands in for the kernel: test/kernel runs against the real module.
import {
  addon,
  type NativeBenchRequest,
  type NativeBenchResult,
  type NativeDevice,
  type NativeInfo,
  type NativeMirrorRequest,
  type NativeMirrorResult,
  type NativeMirrorState,
  type NativePinRequest,
  type NativePinResult,
} from '../../lib/native.js';
import { GupDevice } from '../../lib/device.js';

export interface FakeScript {
  /** INFO's answer; apiMask/flagMask default to everything the addon knows. */
  info?: Partial<NativeInfo>;
  pin?: (r: NativePinRequest) => NativePinResult;
  /** Per-iteration get/put ns for a BENCH, or a status/ret that stops it. */
  bench?: (r: NativeBenchRequest, call: number) => Partial<NativeBenchResult>;
  /** MIRROR_STATE's answer. */
  mirrorState?: (handle: number, pfns: boolean) => NativeMirrorState;
}

export class FakeNativeDevice implements NativeDevice {
  readonly pins: NativePinRequest[] = [];
  readonly benches: NativeBenchRequest[] = [];
  /** BENCH runs with GUPLAB_BENCH_EMPTY: the engine's per-case floor. */
  readonly floors: NativeBenchRequest[] = [];
  readonly mirrors: NativeMirrorRequest[] = [];
  closed = false;
  constructor(private readonly script: FakeScript = {}) {}

  info(): NativeInfo {
    const { abi } = addon();
    const allApis = Object.values(abi.apis).reduce((m, id) => m | (1n << BigInt(id)), 0n);
    const allFlags = Object.values(abi.flags).reduce((m, bit) => m | bit, 0);
    return {
      abiVersion: abi.version,
      pageSize: 4096,
      apiMask: allApis,
      flagMask: allFlags,
      maxPages: 1 << 20,
      maxHeldPages: 1 << 20,
      warnFlags: new Array(16).fill(0),
      unprivFlags: new Array(16).fill(allFlags),
      admin: true,
      release: '6.12.0-fake',
      ...this.script.info,
    };
  }

  pin(r: NativePinRequest): NativePinResult {
    this.pins.push(r);
    return this.script.pin?.(r) ?? { ret: r.nrPages, getNs: 100, putNs: 50, handle: 0 };
  }

  async pinAsync(r: NativePinRequest): Promise<NativePinResult> {
    return this.pin(r);
  }

  preparePin(slots: Float64Array): () => void {
    const at = addon().abi.pinSlots;
    const words = new BigUint64Array(slots.buffer, slots.byteOffset, slots.length);
    return () => {
      const r = this.pin({
        api: slots[at.api] ?? 0,
        flags: slots[at.flags] ?? 0,
        addr: words[at.addr] ?? 0n,
        nrPages: slots[at.nrPages] ?? 0,
        ...(slots[at.pid] ? { pid: slots[at.pid] } : {}),
        hold: slots[at.hold] === 1,
        facts: false,
      });
      slots[at.ret] = r.ret;
      slots[at.getNs] = r.getNs;
      slots[at.putNs] = r.putNs;
      slots[at.handle] = r.handle;
    };
  }

  interrupt(): number {
    return 0;
  }

  release(): { nrPages: number; putNs: number } {
    return { nrPages: 0, putNs: 0 };
  }

  access(): void {}

  async bench(r: NativeBenchRequest): Promise<NativeBenchResult> {
    // The engine's floor (BENCH's empty loop, once per case) is kept apart from the timed benches.
    if ((r.mode ?? 0) & addon().abi.benchModes.empty) {
      this.floors.push(r);
      return { done: r.iterations, status: 0, ret: 0, getNs: new Array(r.iterations).fill(10 * r.nrPages), putNs: new Array(r.iterations).fill(0) };
    }
    this.benches.push(r);
    const answer = this.script.bench?.(r, this.benches.length - 1) ?? {};
    const n = answer.done ?? r.iterations;
    return { done: n, status: 0, ret: 0, getNs: new Array(n).fill(1000 * r.nrPages), putNs: new Array(n).fill(100 * r.nrPages), ...answer };
  }

  mirror(r: NativeMirrorRequest): NativeMirrorResult {
    this.mirrors.push(r);
    return { handle: this.mirrors.length, faultNs: 1000 * r.nrPages, validPages: r.nrPages };
  }

  async mirrorAsync(r: NativeMirrorRequest): Promise<NativeMirrorResult> {
    return this.mirror(r);
  }

  mirrorState(handle: number, pfns: boolean): NativeMirrorState {
    const none: NativeMirrorState = { nrPages: 0, validPages: 0, invalidations: 0, faults: 0, retries: 0, events: new Array(16).fill(0), log: [] };
    return this.script.mirrorState?.(handle, pfns) ?? none;
  }

  close(): void {
    this.closed = true;
  }
}

export function fakeDevice(script: FakeScript = {}): { dev: GupDevice; fake: FakeNativeDevice } {
  const fake = new FakeNativeDevice(script);
  return { dev: GupDevice.fromNative(fake), fake };
}
