// The harness's own overhead, in one run: a 1-page pin_user_pages_fast +
// unpin timed (a) inside the kernel's BENCH loop (no syscall), (b) around the
// PIN ioctl from a minimal C loop (tools/pin1.c), (c) around GupDevice.pin()
// and (d) around PreparedPin.run() (validated once). Every path is measured
// once per round, the rounds back to back, so that TypeScript / C is taken
// round by round: what the host's load does to a round falls on both sides
// of its ratio, and the ratio's CI is drawn by pairs of rounds.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import Table from 'cli-table3';
import { median } from 'simple-statistics';
import { GupDevice, type PreparedPin } from '../device.js';
import { mapAnonymous, type Mapping } from '../mapping.js';
import { projectRoot } from '../util/root.js';
import { environment, type Environment } from './environment.js';
import { bootstrapRatioCI, type Grouped } from './stats.js';

export const PIN1 = path.join(projectRoot, 'tools', 'pin1');

/** One path's figures: every sample with its round, and the median. */
export interface PathFigures {
  /** ns per call: each timed call's wall (or kernel-side get+put), or one back-to-back mean per round. */
  values: number[];
  rounds: number[];
  median: number;
}

/** TypeScript over C, paired by round: the ratio of the two sides' medians of per-round figures, and its 95% CI. */
export interface OverheadRatio {
  ratio: number;
  ci95: [number, number];
}

export interface OverheadResult {
  environment: Environment;
  /** Calls per path per round. */
  calls: number;
  rounds: number;
  inKernelBench: PathFigures;
  cWall: PathFigures;
  cInKernel: PathFigures;
  /** The C loop's `calls` calls timed once as a whole (no timer per call): one mean per round. */
  cBatch: PathFigures;
  pinWall: PathFigures;
  pinInKernel: PathFigures;
  pinBatch: PathFigures;
  preparedWall: PathFigures;
  preparedInKernel: PathFigures;
  preparedBatch: PathFigures;
  /** Two process.hrtime.bigint() reads with nothing between: the TypeScript timer, inside every TS per-call wall. */
  tsTimer: PathFigures;
  /** TypeScript / C wall: back to back (means, no timer per call on either side) and per timed call (medians). */
  ratios: { pinBatch: OverheadRatio; preparedBatch: OverheadRatio; pinWall: OverheadRatio; preparedWall: OverheadRatio };
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

export interface OverheadOptions {
  /** Calls per path per round (default 2000). */
  calls?: number;
  /** Rounds (default 10; at least 2, for the paired CI). */
  rounds?: number;
  device?: GupDevice;
  /** The C loop's binary: tools/pin1 of this checkout unless given (e.g. one built for the guest's arch). */
  pin1Bin?: string;
}

export async function runOverhead(o: OverheadOptions = {}): Promise<OverheadResult> {
  const calls = o.calls ?? 2000;
  const rounds = o.rounds ?? 10;
  if (!Number.isSafeInteger(calls) || calls < 1) throw new RangeError(`calls must be a positive integer, got ${calls}`);
  if (!Number.isSafeInteger(rounds) || rounds < 2)
    throw new RangeError(`rounds must be an integer of at least 2 (the ratio's CI is drawn by rounds), got ${rounds}`);
  const dev = o.device ?? GupDevice.open();
  const m = mapAnonymous(4096, { populate: true });
  try {
    return await measureOverhead(calls, rounds, dev, m, o.pin1Bin ?? PIN1);
  } finally {
    m.close();
    if (!o.device) dev.close();
  }
}

type PathName = Exclude<keyof OverheadResult, 'environment' | 'calls' | 'rounds' | 'ratios'>;

async function measureOverhead(calls: number, rounds: number, dev: GupDevice, m: Mapping, pin1Bin: string): Promise<OverheadResult> {
  const api = 'pin_user_pages_fast';
  /** Every sample with its round, and each round's median (the ratios' paired figures). */
  const samples = new Map<PathName, { values: number[]; rounds: number[]; roundMedians: number[] }>();
  const add = (name: PathName, round: number, values: readonly number[]): void => {
    const s = samples.get(name) ?? { values: [], rounds: [], roundMedians: [] };
    for (const v of values) {
      s.values.push(v);
      s.rounds.push(round);
    }
    s.roundMedians.push(median([...values]));
    samples.set(name, s);
  };
  const prepared = dev.prepare(api, m.address, 1);
  const pin = (): { getNs: number; putNs: number } => {
    const r = dev.pin(api, m.address, 1);
    if (r.ret !== 1) throw new Error(`PIN of one page returned ${r.ret}`);
    return r;
  };
  const run = (): PreparedPin => {
    const ret = prepared.run();
    if (ret !== 1) throw new Error(`prepared PIN of one page returned ${ret}`);
    return prepared;
  };
  /** Each call timed on its own: wall, and the kernel-side get+put it reported. */
  const timed = (call: () => { getNs: number; putNs: number }): [number[], number[]] => {
    const wall: number[] = [];
    const inKernel: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t0 = process.hrtime.bigint();
      const r = call();
      wall.push(Number(process.hrtime.bigint() - t0));
      inKernel.push(r.getNs + r.putNs);
    }
    return [wall, inKernel];
  };
  const batch = (f: () => void): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) f();
    return Number(process.hrtime.bigint() - t0) / calls;
  };

  // Warm everything up once (JIT, page tables, caches).
  await dev.bench(api, m.address, 1, { pagesPerCall: 1, iterations: 200 });
  for (let i = 0; i < 200; i++) {
    pin();
    run();
  }
  pin1(pin1Bin, 200);

  for (let round = 0; round < rounds; round++) {
    const bench = await dev.bench(api, m.address, 1, { pagesPerCall: 1, iterations: calls });
    if (bench.status !== 0) throw new Error(`BENCH of one page failed: status ${bench.status}`);
    add(
      'inKernelBench',
      round,
      bench.getNs.map((g, i) => g + (bench.putNs[i] ?? 0)),
    );
    const c = pin1(pin1Bin, calls);
    add('cWall', round, c.wall_ns);
    add(
      'cInKernel',
      round,
      c.get_ns.map((g, i) => g + (c.put_ns[i] ?? 0)),
    );
    add('cBatch', round, [c.batch_mean_ns]);
    const [pinWall, pinInKernel] = timed(pin);
    add('pinWall', round, pinWall);
    add('pinInKernel', round, pinInKernel);
    const [preparedWall, preparedInKernel] = timed(run);
    add('preparedWall', round, preparedWall);
    add('preparedInKernel', round, preparedInKernel);
    const timer: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t0 = process.hrtime.bigint();
      timer.push(Number(process.hrtime.bigint() - t0));
    }
    add('tsTimer', round, timer);
    add('pinBatch', round, [batch(pin)]);
    add('preparedBatch', round, [batch(run)]);
  }

  const entry = (name: PathName): { values: number[]; rounds: number[]; roundMedians: number[] } => {
    const s = samples.get(name);
    if (!s) throw new Error(`overhead: no samples of ${name}`);
    return s;
  };
  const figures = (name: PathName): PathFigures => {
    const { values, rounds } = entry(name);
    return { values, rounds, median: median(values) };
  };
  /** Ratio of the two paths' medians of per-round medians, its CI drawn by pairs of rounds (one figure per round and side). */
  const ratio = (ts: PathName, c: PathName): OverheadRatio => {
    const byRound = (name: PathName): Grouped => {
      const values = entry(name).roundMedians;
      return { values, rounds: values.map((_, round) => round) };
    };
    const { ratio, ci95 } = bootstrapRatioCI(byRound(c), byRound(ts), { paired: true });
    return { ratio, ci95 };
  };
  return {
    environment: { ...environment(), release: dev.info().release },
    calls,
    rounds,
    inKernelBench: figures('inKernelBench'),
    cWall: figures('cWall'),
    cInKernel: figures('cInKernel'),
    cBatch: figures('cBatch'),
    pinWall: figures('pinWall'),
    pinInKernel: figures('pinInKernel'),
    pinBatch: figures('pinBatch'),
    preparedWall: figures('preparedWall'),
    preparedInKernel: figures('preparedInKernel'),
    preparedBatch: figures('preparedBatch'),
    tsTimer: figures('tsTimer'),
    ratios: {
      pinBatch: ratio('pinBatch', 'cBatch'),
      preparedBatch: ratio('preparedBatch', 'cBatch'),
      pinWall: ratio('pinWall', 'cWall'),
      preparedWall: ratio('preparedWall', 'cWall'),
    },
  };
}

const fmtRatio = (r: OverheadRatio): string => `${r.ratio.toFixed(2)} (95% CI ${r.ci95[0].toFixed(2)}–${r.ci95[1].toFixed(2)})`;

export function overheadTable(r: OverheadResult): string {
  const table = new Table({
    head: ['path', 'ns per 1-page pin+unpin (median)', '× in-kernel loop'],
    colAligns: ['left', 'right', 'right'],
    style: { head: [], border: [], compact: true },
  });
  const base = r.inKernelBench.median;
  const row = (name: string, f: PathFigures): string[] => [name, f.median.toFixed(0), (f.median / base).toFixed(1)];
  table.push(
    row('in-kernel BENCH loop (get+put per call, no syscall)', r.inKernelBench),
    row('PIN ioctl, kernel-side get+put (from C)', r.cInKernel),
    row('PIN ioctl from a C loop (wall, tools/pin1.c)', r.cWall),
    row('PIN ioctl, kernel-side get+put (GupDevice.pin())', r.pinInKernel),
    row('GupDevice.pin() from TypeScript (wall)', r.pinWall),
    row('PIN ioctl, kernel-side get+put (prepared call)', r.preparedInKernel),
    row('PreparedPin.run() from TypeScript (wall)', r.preparedWall),
    row('two process.hrtime.bigint() reads (the TS timer, inside each TS wall)', r.tsTimer),
    row(`PIN ioctl from the C loop, ${r.calls} back to back (mean per call)`, r.cBatch),
    row(`GupDevice.pin(), ${r.calls} back to back (mean per call)`, r.pinBatch),
    row(`PreparedPin.run(), ${r.calls} back to back (mean per call)`, r.preparedBatch),
  );
  const env = r.environment;
  return [
    `guplab overhead: ${r.rounds} rounds of ${r.calls} calls per path, pin_user_pages_fast on 1 prefaulted page; medians over all rounds`,
    `${env.release} ${env.arch} on ${env.accelerator}${env.accelerator === 'TCG' ? ' (emulated CPU: timings are not hardware figures)' : ''}, ${env.cpuModel}`,
    table.toString(),
    'TypeScript / C wall, paired by round:',
    `  back to back (means, no timer per call on either side): pin() ${fmtRatio(r.ratios.pinBatch)}, prepared run() ${fmtRatio(r.ratios.preparedBatch)}`,
    `  per timed call (medians; the TS timer is inside the TS side): pin() ${fmtRatio(r.ratios.pinWall)}, prepared run() ${fmtRatio(r.ratios.preparedWall)}`,
  ].join('\n');
}
