// Runs a benchmark matrix through the module's in-kernel BENCH loop.
import { median } from 'simple-statistics';
import { GupDevice } from '../device.js';
import { isRemoteApi } from '../abi.js';
import { errnoName } from '../errors.js';
import { expectKernelWarning } from '../expect-warn.js';
import type { Mapping } from '../mapping.js';
import { BACKINGS, BackingUnavailable, isUnavailable, release, unavailableReason } from './backings.js';
import { environment, type Environment } from './environment.js';
import { caseId, expandCases, type CaseKey, type Spec } from './spec.js';
import { summarize, type Summary } from './stats.js';

export const BENCH_SCHEMA = 'guplab-bench/1';

export interface CaseResult extends CaseKey {
  id: string;
  pages: number;
  /** ok: samples taken; refused: the kernel answered an error (errno); unavailable: this machine cannot provide the case. */
  status: 'ok' | 'refused' | 'unavailable';
  /** refused: errno name (EINVAL) or "short: got N of M"; unavailable: why. */
  error?: string;
  /** refused: the GUP return value or -errno. */
  ret?: number;
  note?: string;
  warmupIterations: number;
  /** Per-iteration in-kernel get and put time for the whole buffer, ns. */
  getNs: number[];
  putNs: number[];
  /** The round (pass over the matrix, fresh buffer) of each sample. */
  round: number[];
  getNsPerPage?: Summary;
  putNsPerPage?: Summary;
  totalNsPerPage?: Summary;
  /** pages / median(get+put) time of one iteration. */
  pagesPerSec?: number;
  wallMs: number;
}

export interface BenchResult {
  schema: typeof BENCH_SCHEMA;
  createdAt: string;
  environment: Environment & { pageSize: number; moduleAbi: number };
  spec: Spec;
  cases: CaseResult[];
}

export interface Progress {
  start(total: number): void;
  tick(label: string): void;
  stop(): void;
}

const noProgress: Progress = { start() {}, tick() {}, stop() {} };

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** perCall: the pages the call that fell short asked for (the last batch may be smaller). */
function failure(run: { status: number; ret: number }, perCall: number): { error: string; ret: number } {
  if (run.ret < 0) return { error: errnoName(run.ret), ret: run.ret };
  if (run.status === -4) return { error: 'EINTR (interrupted)', ret: run.status };
  return { error: `short: ${run.ret} of ${perCall} pages`, ret: run.ret };
}

const ctxOf = (spec: Spec): { dir?: string } => (spec.dir ? { dir: spec.dir } : {});

/** Samples of one case in one round; the case's state says whether to go on. */
async function runRound(dev: GupDevice, spec: Spec, c: CaseResult, round: number, shared: Mapping | undefined, state: { perRound?: number }): Promise<void> {
  const backing = BACKINGS[c.backing];
  // *_remote acts on this process through its pid: the remote path on the same mm.
  const request = { flags: c.flags, pagesPerCall: c.pagesPerCall, ...(isRemoteApi(c.api) ? { pid: process.pid } : {}) };
  const refuse = (run: { status: number; ret: number }): void => {
    Object.assign(c, { status: 'refused' }, failure(run, c.pagesPerCall));
  };
  if (shared) {
    // Prefaulted: warm-up, then this round's samples in one in-kernel loop.
    // Adaptive runs need at least one warm-up call: its time sizes the sample count.
    const warmup = spec.iterations === undefined ? Math.max(1, spec.warmup) : spec.warmup;
    if (warmup > 0) {
      c.warmupIterations += warmup;
      const warm = await dev.bench(c.api, shared.address, c.pages, { ...request, iterations: warmup });
      if (warm.status !== 0) return refuse(warm);
      if (state.perRound === undefined && spec.iterations === undefined) {
        const perIter = Math.max(1, median(warm.getNs.map((g, i) => g + (warm.putNs[i] ?? 0))));
        const total = clamp(Math.ceil((spec.targetMs * 1e6) / perIter), spec.minSamples, spec.maxSamples);
        state.perRound = Math.max(1, Math.ceil(total / spec.rounds));
      }
    }
    state.perRound ??= Math.max(1, Math.ceil((spec.iterations ?? spec.minSamples) / spec.rounds));
    const run = await dev.bench(c.api, shared.address, c.pages, { ...request, iterations: state.perRound });
    if (run.status !== 0) return refuse(run);
    c.getNs.push(...run.getNs);
    c.putNs.push(...run.putNs);
    c.round.push(...run.getNs.map(() => round));
    if (round === 0) c.note = backing.note?.(shared); // smaps is slow to read under TCG: once
    return;
  }
  // Not prefaulted: a fresh buffer per sample, so GUP faults every page in.
  // No warm-up: each sample's buffer is new by design (this measures the
  // fault-in path), and a warm-up would cost as much as a sample.
  const samples = Math.max(1, Math.ceil((spec.iterations ?? spec.minSamples) / spec.rounds));
  for (let i = 0; i < samples; i++) {
    let m: Mapping;
    try {
      m = backing.map(c.sizeBytes, false, ctxOf(spec));
    } catch (err) {
      // Only the mapping may say "this machine cannot provide it"; a device or harness error stays an error.
      if (isUnavailable(err)) throw new BackingUnavailable(unavailableReason(err));
      throw err;
    }
    try {
      const run = await dev.bench(c.api, m.address, c.pages, { ...request, iterations: 1 });
      if (run.status !== 0) return refuse(run);
      c.getNs.push(run.getNs[0] ?? 0);
      c.putNs.push(run.putNs[0] ?? 0);
      c.round.push(round);
      if (round === 0 && i === 0) c.note = backing.note?.(m);
    } finally {
      release(m);
    }
  }
}

function finish(c: CaseResult): void {
  if (c.status !== 'ok' || c.getNs.length === 0) {
    c.getNs = [];
    c.putNs = [];
    c.round = [];
    return;
  }
  const per = (xs: number[]): number[] => xs.map((ns) => ns / c.pages);
  c.getNsPerPage = summarize(per(c.getNs), c.round);
  c.putNsPerPage = summarize(per(c.putNs), c.round);
  c.totalNsPerPage = summarize(per(c.getNs.map((g, i) => g + (c.putNs[i] ?? 0))), c.round);
  c.pagesPerSec = 1e9 / c.totalNsPerPage.median;
}

/**
 * Runs every case of the spec in `rounds` passes over the whole matrix, each
 * on fresh buffers, so that a case's samples span the run and several buffer
 * placements. Kernel refusals and unavailable backings are results, not
 * exceptions.
 */
export async function runBench(spec: Spec, options: { dev?: GupDevice; progress?: Progress } = {}): Promise<BenchResult> {
  const dev = options.dev ?? GupDevice.open();
  const ownsDevice = options.dev === undefined;
  const progress = options.progress ?? noProgress;
  const info = dev.info();
  const keys = expandCases(spec, info.pageSize);
  const cases: CaseResult[] = keys.map((key) => ({
    ...key,
    id: caseId(key),
    pages: Math.max(1, Math.floor(key.sizeBytes / info.pageSize)),
    status: 'ok',
    warmupIterations: 0,
    getNs: [],
    putNs: [],
    round: [],
    wallMs: 0,
  }));
  for (const c of cases) {
    if (!info.apis.includes(c.api)) Object.assign(c, { status: 'unavailable', error: `not exported by ${info.release}` });
    else if (c.pagesPerCall > info.maxPages) Object.assign(c, { status: 'unavailable', error: `pages per call above max_pages_per_call ${info.maxPages}` });
    else if (c.flags.some((f) => !info.flags.includes(f))) {
      Object.assign(c, { status: 'unavailable', error: `kernel has no FOLL_ flag for ${c.flags.filter((f) => !info.flags.includes(f)).join(', ')}` });
    }
  }
  const states = cases.map(() => ({}) as { perRound?: number });
  progress.start(cases.length * spec.rounds);
  let shared: Mapping | undefined;
  try {
    for (let round = 0; round < spec.rounds; round++) {
      // Prefaulted cases of one (backing, size, flags) share a buffer: the APIs are compared on the same pages.
      let group = '';
      let unavailable: string | undefined;
      for (const [i, c] of cases.entries()) {
        const g = `${c.backing} ${c.sizeBytes} ${c.flags.join('|')} ${c.prefault}`;
        if (g !== group) {
          if (shared) release(shared);
          group = g;
          shared = undefined;
          unavailable = undefined;
          try {
            // Probe the backing also for faulting cases, so an unavailable one is reported once per group.
            const m = BACKINGS[c.backing].map(c.sizeBytes, c.prefault, ctxOf(spec));
            if (c.prefault) shared = m;
            else release(m);
          } catch (err) {
            if (!isUnavailable(err)) throw err;
            unavailable = unavailableReason(err);
          }
        }
        progress.tick(`round ${round + 1}/${spec.rounds} ${c.id}`);
        if (c.status !== 'ok') continue;
        if (unavailable) {
          Object.assign(c, { status: 'unavailable', error: unavailable });
          continue;
        }
        const started = Date.now();
        if (dev.warns(c.api, c.flags)) expectKernelWarning('at mm/gup.c', `bench ${c.api} with ${c.flags.join('|')}`);
        try {
          await runRound(dev, spec, c, round, shared, states[i] as { perRound?: number });
        } catch (err) {
          // A fresh buffer this machine cannot provide (not-prefaulted cases map one per sample).
          if (!(err instanceof BackingUnavailable)) throw err;
          Object.assign(c, { status: 'unavailable', error: err.message });
        }
        c.wallMs += Date.now() - started;
      }
      if (shared) release(shared);
      shared = undefined;
    }
  } finally {
    progress.stop();
    if (shared) release(shared);
    if (ownsDevice) dev.close();
  }
  for (const c of cases) finish(c);
  return {
    schema: BENCH_SCHEMA,
    createdAt: new Date().toISOString(),
    environment: { ...environment(), release: info.release, pageSize: info.pageSize, moduleAbi: info.abiVersion },
    spec,
    cases,
  };
}

/**
 * The part of a result taken in the given rounds, summaries recomputed: e.g.
 * the even and the odd rounds of one run are two interleaved runs of the same
 * kernel and module, which a change of the host's load hits alike.
 */
export function selectRounds(result: BenchResult, keep: (round: number) => boolean): BenchResult {
  const cases = result.cases.map((c) => {
    const idx = c.round.flatMap((r, i) => (keep(r) ? [i] : []));
    const { getNsPerPage: _g, putNsPerPage: _p, totalNsPerPage: _t, pagesPerSec: _s, ...rest } = c;
    const out: CaseResult = { ...rest, getNs: idx.map((i) => c.getNs[i] as number), putNs: idx.map((i) => c.putNs[i] as number), round: idx.map((i) => c.round[i] as number) };
    finish(out);
    return out;
  });
  return { ...result, spec: { ...result.spec, rounds: new Set(cases.flatMap((c) => c.round)).size || result.spec.rounds }, cases };
}

/** The fast variant of the same family (get_* or pin_*): the baseline of the ratio column. */
export function fastBaseline(api: string): string {
  return api.startsWith('pin_') ? 'pin_user_pages_fast' : 'get_user_pages_fast';
}

/** The case with the same cell but the fast API of the family, if measured. */
export function baselineOf(result: BenchResult, c: CaseResult): CaseResult | undefined {
  const api = fastBaseline(c.api);
  return result.cases.find((b) => b.api === api && b.backing === c.backing && b.sizeBytes === c.sizeBytes && b.pagesPerCall === c.pagesPerCall && b.prefault === c.prefault && b.flags.join('|') === c.flags.join('|'));
}

/** slow/fast ratio of median get+put ns/page (1.00 for the fast API itself). */
export function fastRatio(result: BenchResult, c: CaseResult): number | undefined {
  const base = baselineOf(result, c);
  if (!c.totalNsPerPage || !base?.totalNsPerPage) return undefined;
  return c.totalNsPerPage.median / base.totalNsPerPage.median;
}
