// The harness's own overhead, in one run: a 1-page pin_user_pages_fast +
// unpin timed (a) inside the kernel's BENCH loop (no syscall), (b) around the
// PIN ioctl from a minimal C loop (tools/pin1.c), (c) around GupDevice.pin()
// from TypeScript (validation, N-API, ioctl), (d) around PreparedPin.run()
// (validated once, a Float64Array read and written in place).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import Table from 'cli-table3';
import { median } from 'simple-statistics';
import { GupDevice } from '../device.js';
import { mapAnonymous, type Mapping } from '../mapping.js';
import { projectRoot } from '../util/root.js';
import { environment, type Environment } from './environment.js';

export const PIN1 = path.join(projectRoot, 'tools', 'pin1');

export interface OverheadResult {
  environment: Environment;
  calls: number;
  /** Median ns per 1-page call. */
  inKernelBench: number;
  cIoctlWall: number;
  cIoctlInKernel: number;
  /** Mean wall per call of the C loop's `calls` back-to-back calls timed once. */
  cBatchMean: number;
  tsPinWall: number;
  tsPinInKernel: number;
  /** GupDevice.prepare() once, then run() per call (the typed-array path). */
  tsPreparedWall: number;
  tsPreparedInKernel: number;
  /** Two process.hrtime.bigint() reads with nothing between: the TypeScript timer's own cost, inside every wall figure above. */
  tsTimerNs: number;
  /** Mean wall per call of `calls` back-to-back calls timed once (no timer per call). */
  tsPinBatchMean: number;
  tsPreparedBatchMean: number;
}

interface Pin1Output {
  batch_mean_ns: number;
  wall_ns: number[];
  get_ns: number[];
  put_ns: number[];
}

function pin1(bin: string, calls: number): Pin1Output {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build it with \`make build\` (gcc tools/pin1.c)`);
  return JSON.parse(execFileSync(bin, [String(calls)], { encoding: 'utf8', maxBuffer: 1 << 28 })) as Pin1Output;
}

/** pin1Bin: the C loop's binary (tools/pin1 of this checkout unless given, e.g. one built for the guest's arch). */
export async function runOverhead(calls = 2000, device?: GupDevice, pin1Bin = PIN1): Promise<OverheadResult> {
  const dev = device ?? GupDevice.open();
  const m = mapAnonymous(4096, { populate: true });
  try {
    return await measureOverhead(calls, dev, m, pin1Bin);
  } finally {
    m.close();
    if (!device) dev.close();
  }
}

async function measureOverhead(calls: number, dev: GupDevice, m: Mapping, pin1Bin: string): Promise<OverheadResult> {
  const api = 'pin_user_pages_fast';
  // Warm everything up once (JIT, page tables, caches).
  await dev.bench(api, m.address, 1, { pagesPerCall: 1, iterations: 200 });
  for (let i = 0; i < 200; i++) dev.pin(api, m.address, 1);
  const prepared = dev.prepare(api, m.address, 1);
  for (let i = 0; i < 200; i++) prepared.run();
  pin1(pin1Bin, 200);

  const bench = await dev.bench(api, m.address, 1, { pagesPerCall: 1, iterations: calls });
  if (bench.status !== 0) throw new Error(`BENCH of one page failed: status ${bench.status}`);
  const c = pin1(pin1Bin, calls);
  const wall: number[] = [];
  const inKernel: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    const r = dev.pin(api, m.address, 1);
    wall.push(Number(process.hrtime.bigint() - t0));
    if (r.ret !== 1) throw new Error(`PIN of one page returned ${r.ret}`);
    inKernel.push(r.getNs + r.putNs);
  }
  const pWall: number[] = [];
  const pInKernel: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    const ret = prepared.run();
    pWall.push(Number(process.hrtime.bigint() - t0));
    if (ret !== 1) throw new Error(`prepared PIN of one page returned ${ret}`);
    pInKernel.push(prepared.getNs + prepared.putNs);
  }
  const timer: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    timer.push(Number(process.hrtime.bigint() - t0));
  }
  const batch = (f: () => void): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) f();
    return Number(process.hrtime.bigint() - t0) / calls;
  };
  const tsPinBatchMean = batch(() => dev.pin(api, m.address, 1));
  const tsPreparedBatchMean = batch(() => prepared.run());
  return {
    environment: { ...environment(), release: dev.info().release },
    tsTimerNs: median(timer),
    tsPinBatchMean,
    tsPreparedBatchMean,
    calls,
    inKernelBench: median(bench.getNs.map((g, i) => g + (bench.putNs[i] ?? 0))),
    cIoctlWall: median(c.wall_ns),
    cIoctlInKernel: median(c.get_ns.map((g, i) => g + (c.put_ns[i] ?? 0))),
    cBatchMean: c.batch_mean_ns,
    tsPinWall: median(wall),
    tsPinInKernel: median(inKernel),
    tsPreparedWall: median(pWall),
    tsPreparedInKernel: median(pInKernel),
  };
}

export function overheadTable(r: OverheadResult): string {
  const table = new Table({ head: ['path', 'ns per 1-page pin+unpin (median)', '× in-kernel loop'], colAligns: ['left', 'right', 'right'], style: { head: [], border: [], compact: true } });
  const base = r.inKernelBench;
  const row = (name: string, ns: number): string[] => [name, ns.toFixed(0), (ns / base).toFixed(1)];
  table.push(
    row('in-kernel BENCH loop (get+put per call, no syscall)', base),
    row('PIN ioctl, kernel-side get+put (from C)', r.cIoctlInKernel),
    row('PIN ioctl from a C loop (wall, tools/pin1.c)', r.cIoctlWall),
    row('PIN ioctl, kernel-side get+put (from TypeScript)', r.tsPinInKernel),
    row('GupDevice.pin() from TypeScript (wall)', r.tsPinWall),
    row('PIN ioctl, kernel-side get+put (prepared call)', r.tsPreparedInKernel),
    row('PreparedPin.run() from TypeScript (wall)', r.tsPreparedWall),
    row('two process.hrtime.bigint() reads (the TS timer, inside each TS wall)', r.tsTimerNs),
    row(`PIN ioctl from the C loop, ${r.calls} back to back (mean, timed once)`, r.cBatchMean),
    row(`GupDevice.pin(), ${r.calls} back to back (mean, timed once)`, r.tsPinBatchMean),
    row(`PreparedPin.run(), ${r.calls} back to back (mean, timed once)`, r.tsPreparedBatchMean),
  );
  const env = r.environment;
  return [
    `guplab overhead: ${r.calls} calls each, pin_user_pages_fast on 1 prefaulted page`,
    `${env.release} ${env.arch} on ${env.accelerator}${env.accelerator === 'TCG' ? ' (emulated CPU: timings are not hardware figures)' : ''}, ${env.cpuModel}`,
    table.toString(),
    `TypeScript / C wall, per timed call (medians): pin() ${(r.tsPinWall / r.cIoctlWall).toFixed(2)}, prepared run() ${(r.tsPreparedWall / r.cIoctlWall).toFixed(2)}; back to back (means, no timer per call on either side): pin() ${(r.tsPinBatchMean / r.cBatchMean).toFixed(2)}, prepared ${(r.tsPreparedBatchMean / r.cBatchMean).toFixed(2)}`,
  ].join('\n');
}
