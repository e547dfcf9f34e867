// Runs a benchmark matrix through the module's in-kernel BENCH loop. The
// result's shape and its readers live in results.ts.
import { median } from 'simple-statistics';
import { GupDevice } from '../device.js';
import { isRefaultCycle, isRemoteApi, passTimable, type ApiName } from '../abi.js';
import { errnoName } from '../errors.js';
import { expectKernelWarning } from '../contract.js';
import type { Mapping } from '../mapping.js';
import { BACKINGS, BackingUnavailable, isUnavailable, release, unavailableReason } from './backings.js';
import { environment } from './environment.js';
import { caseId, expandCases, type Spec } from './spec.js';
import { BENCH_SCHEMA, summarizeCase, type BenchCase, type BenchResult } from './results.js';
import { selfMde } from './stats.js';
import { verifyCase } from './verify.js';

export interface Progress {
  start(total: number): void;
  tick(label: string): void;
  stop(): void;
}

const noProgress: Progress = { start() {}, tick() {}, stop() {} };

/**
 * Decides the rounds: before each, which cases run in it (by id), or null
 * to end the run. `after` sees each finished round (an A/B run's guest
 * hands it to the host there). Default: spec.rounds rounds of every case,
 * then, with spec.mde, rounds of the cases whose MDE is still above it
 * (mdeDriver).
 */
export interface RoundDriver {
  next(round: number, cases: readonly BenchCase[]): Promise<ReadonlySet<string> | null>;
  after?(round: number, cases: readonly BenchCase[], ran: ReadonlySet<string>): Promise<void>;
}

/** The MDE a case's samples so far give (0 for a case without samples: nothing more to measure). */
export function caseMde(c: BenchCase): number {
  if (c.status !== 'ok' || c.getNs.length === 0) return 0;
  const values = c.getNs.map((g, i) => (g + (c.putNs[i] ?? 0)) / c.pages);
  return selfMde({ values, rounds: c.round });
}

/**
 * spec.rounds rounds of all cases; then, if spec.mde is set, one more round
 * at a time of the cases whose MDE is above it (where the noise is), until
 * none is or spec.budgetSec (default 600 s) of extra rounds has passed, or
 * 100 rounds in all.
 */
export function mdeDriver(spec: Spec, now: () => number = Date.now): RoundDriver & { extraRounds: () => number; stoppedBy: () => string | undefined } {
  let extraStart: number | undefined;
  let extra = 0;
  let stoppedBy: string | undefined;
  return {
    async next(round, cases) {
      const ok = cases.filter((c) => c.status === 'ok');
      if (round < spec.rounds) return new Set(ok.map((c) => c.id));
      if (spec.mde === undefined) return null;
      extraStart ??= now();
      const above = ok.filter((c) => caseMde(c) > (spec.mde as number));
      if (above.length === 0) {
        stoppedBy = `every case at MDE <= ${(spec.mde * 100).toFixed(0)}%`;
        return null;
      }
      if ((now() - extraStart) / 1000 >= (spec.budgetSec ?? 600) || round >= 100) {
        stoppedBy = `budget spent with ${above.length} case(s) above MDE ${(spec.mde * 100).toFixed(0)}%`;
        return null;
      }
      extra++;
      return new Set(above.map((c) => c.id));
    },
    extraRounds: () => extra,
    stoppedBy: () => stoppedBy,
  };
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** perCall: the pages the call that fell short asked for (the last batch may be smaller). */
function failure(run: { status: number; ret: number }, perCall: number): { error: string; ret: number } {
  if (run.ret < 0) return { error: errnoName(run.ret), ret: run.ret };
  if (run.status === -4) return { error: 'EINTR (interrupted)', ret: run.status };
  // PASS's untimed verify (ABI 8): ret is the index of the first page not pinned as asked.
  if (run.status === -5) return { error: `EIO: pass verify: page ${run.ret} not pinned (or not long-term pinnable) as asked`, ret: run.ret };
  return { error: `short: ${run.ret} of ${perCall} pages`, ret: run.ret };
}

const ctxOf = (spec: Spec): { dir?: string } => (spec.dir ? { dir: spec.dir } : {});

/** Iterations of the empty loop that measure a case's floor (once per case). */
export const FLOOR_ITERATIONS = 5;

/**
 * The harness's own floor for a case: BENCH's loop with the same timing,
 * pages and pages per call, and no GUP call (GUPLAB_BENCH_EMPTY), get+put
 * per iteration. Taken once, untimed by the case, after its first samples.
 */
async function measureFloor(
  dev: GupDevice,
  c: BenchCase,
  address: bigint,
  request: { flags: BenchCase['flags']; pagesPerCall: number; pid?: number },
): Promise<void> {
  if (c.floorNs) return;
  const run = await dev.bench(c.api, address, c.pages, { ...request, iterations: FLOOR_ITERATIONS, timing: c.timing ?? 'batch', empty: true });
  if (run.status === 0) c.floorNs = run.getNs.map((g, i) => g + (run.putNs[i] ?? 0));
}

/** Samples of one case in one round; the case's state says whether to go on. */
async function runRound(dev: GupDevice, spec: Spec, c: BenchCase, round: number, shared: Mapping | undefined, state: { perRound?: number }): Promise<void> {
  const backing = BACKINGS[c.backing];
  // *_remote acts on this process through its pid: the remote path on the same mm.
  if (isRefaultCycle(c.api)) return refaultRound(dev, spec, c, round);
  const request = { flags: c.flags, pagesPerCall: c.pagesPerCall, ...(c.api !== 'hmm_range_fault' && isRemoteApi(c.api) ? { pid: process.pid } : {}) };
  const timed = { ...request, timing: c.timing ?? 'batch' };
  const refuse = (run: { status: number; ret: number }): void => {
    Object.assign(c, { status: 'refused' }, failure(run, c.pagesPerCall));
  };

  if (shared) {
    // Prefaulted: warm-up, then this round's samples in one in-kernel loop.
    // Adaptive runs need at least one warm-up call: its time sizes the sample count.
    const warmup = spec.iterations === undefined ? Math.max(1, spec.warmup) : spec.warmup;
    if (warmup > 0) {
      c.warmupIterations += warmup;
      const warm = await dev.bench(c.api, shared.address, c.pages, { ...timed, iterations: warmup });
      if (warm.status !== 0) return refuse(warm);
      if (state.perRound === undefined && spec.iterations === undefined) {
        const perIter = Math.max(1, median(warm.getNs.map((g, i) => g + (warm.putNs[i] ?? 0))));
        const total = clamp(Math.ceil((spec.targetMs * 1e6) / perIter), spec.minSamples, spec.maxSamples);
        state.perRound = Math.max(1, Math.ceil(total / spec.rounds));
      }
    }
    state.perRound ??= Math.max(1, Math.ceil((spec.iterations ?? spec.minSamples) / spec.rounds));
    const run = await dev.bench(c.api, shared.address, c.pages, { ...timed, iterations: state.perRound });
    if (run.status !== 0) return refuse(run);
    c.getNs.push(...run.getNs);
    c.putNs.push(...run.putNs);
    c.round.push(...run.getNs.map(() => round));
    await measureFloor(dev, c, shared.address, request);
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
      const run = await dev.bench(c.api, m.address, c.pages, { ...timed, iterations: 1 });
      if (run.status !== 0) return refuse(run);
      c.getNs.push(run.getNs[0] ?? 0);
      c.putNs.push(run.putNs[0] ?? 0);
      c.round.push(round);
      await measureFloor(dev, c, m.address, request);
      if (round === 0 && i === 0) c.note = backing.note?.(m);
    } finally {
      release(m);
    }
  }
}

/**
 * One round of an invalidate-and-refault cycle, on a buffer of its own (the
 * cycle would leave a shared one zapped, or refilled with the zero page): a
 * mirror over the prefaulted buffer, then per sample the invalidation of
 * the whole range and one hmm_range_fault() fill of it, as a device's next
 * fault over the range would do. hmm_refault invalidates with
 * MADV_DONTNEED (MMU_NOTIFY_CLEAR: the pages go, the fill faults new ones
 * in); hmm_refault_mprotect with mprotect(PROT_READ) and back to
 * PROT_READ|PROT_WRITE (MMU_NOTIFY_PROTECTION_VMA twice: the pages stay,
 * the fill walks them again, write-faulting where the ptes stayed
 * read-only). The fill is the mirror's creation fill (MIRROR's
 * fault_ns, timed in the kernel; the notifier's insertion and removal are
 * outside it): a sample's get is that refault, its put the invalidation
 * (madvise's wall time from user space, the notifier callback included).
 * Without the write flag the refill maps the shared zero page.
 */
async function refaultRound(dev: GupDevice, spec: Spec, c: BenchCase, round: number): Promise<void> {
  let m: Mapping;
  try {
    m = BACKINGS[c.backing].map(c.sizeBytes, true, ctxOf(spec));
  } catch (err) {
    if (isUnavailable(err)) throw new BackingUnavailable(unavailableReason(err));
    throw err;
  }
  const write = c.flags.includes('write');
  let handle = 0;
  try {
    handle = dev.mirror(m.address, c.pages, { write }).handle;
    const samples = Math.max(1, Math.ceil((spec.iterations ?? spec.minSamples) / spec.rounds));
    for (let i = 0; i < spec.warmup + samples; i++) {
      const t0 = process.hrtime.bigint();
      if (c.api === 'hmm_refault') m.advise('dontneed');
      else {
        m.protect('r');
        m.protect('rw');
      }
      const invalidateNs = Number(process.hrtime.bigint() - t0);
      dev.release(handle);
      handle = 0;
      const refill = dev.mirror(m.address, c.pages, { write });
      handle = refill.handle;
      if (i < spec.warmup) {
        c.warmupIterations++;
        continue;
      }
      c.getNs.push(refill.faultNs);
      c.putNs.push(invalidateNs);
      c.round.push(round);
    }
    if (round === 0) c.note = BACKINGS[c.backing].note?.(m);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!code || code.startsWith('ERR_')) throw err;
    Object.assign(c, { status: 'refused', error: code });
  } finally {
    if (handle) dev.release(handle);
    release(m);
  }
}

/**
 * Runs every case of the spec in `rounds` passes over the whole matrix, each
 * on fresh buffers, so that a case's samples span the run and several buffer
 * placements. Kernel refusals and unavailable backings are results, not
 * exceptions.
 */
export async function runBench(spec: Spec, options: { dev?: GupDevice; progress?: Progress; rounds?: RoundDriver } = {}): Promise<BenchResult> {
  const dev = options.dev ?? GupDevice.open();
  const ownsDevice = options.dev === undefined;
  const progress = options.progress ?? noProgress;
  const info = dev.info();
  const keys = expandCases(spec, info.pageSize);
  const cases: BenchCase[] = keys.map((key) => ({
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
    // gup_test's method where it applies; *_remote and the hmm cycles take their mm or mirror per batch.
    if (!isRefaultCycle(c.api)) c.timing = spec.timing === 'pass' && passTimable(c.api) && c.pages <= info.maxPages ? 'pass' : 'batch';
    // hmm_range_fault() has no FOLL_ flags: HMM_PFN_REQ_WRITE is its "write", the rest has no counterpart.
    const hmm = c.api === 'hmm_range_fault' || isRefaultCycle(c.api);
    const noCounterpart = hmm ? c.flags.filter((f) => f !== 'write') : [];
    if (!hmm && !info.apis.includes(c.api as ApiName)) Object.assign(c, { status: 'unavailable', error: `not exported by ${info.release}` });
    else if (noCounterpart.length) Object.assign(c, { status: 'unavailable', error: `hmm_range_fault has no counterpart of ${noCounterpart.join(', ')}` });
    else if (isRefaultCycle(c.api) && !c.prefault)
      Object.assign(c, { status: 'unavailable', error: `${c.api} cycles a mirrored, present range: prefault only` });
    else if (c.pagesPerCall > info.maxPages) Object.assign(c, { status: 'unavailable', error: `pages per call above max_pages_per_call ${info.maxPages}` });
    else if (c.flags.some((f) => !info.flags.includes(f))) {
      Object.assign(c, { status: 'unavailable', error: `kernel has no FOLL_ flag for ${c.flags.filter((f) => !info.flags.includes(f)).join(', ')}` });
    }
  }
  const states = cases.map(() => ({}) as { perRound?: number });
  progress.start(cases.length * spec.rounds);
  let shared: Mapping | undefined;
  const driver = options.rounds ?? mdeDriver(spec);
  const runStarted = Date.now();
  let rounds = 0;
  try {
    for (let round = 0; ; round++) {
      const selected = await driver.next(round, cases);
      if (selected === null) break;
      rounds = round + 1;
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
        if (round > 0 && !selected.has(c.id)) continue; // round 0 passes every case: it probes each group's backing once
        progress.tick(`round ${round + 1}/${spec.rounds} ${c.id}`);
        if (c.status !== 'ok' || !selected.has(c.id)) continue;
        if (unavailable) {
          Object.assign(c, { status: 'unavailable', error: unavailable });
          continue;
        }
        const started = Date.now();
        if (c.api !== 'hmm_range_fault' && !isRefaultCycle(c.api) && dev.warns(c.api, c.flags))
          expectKernelWarning('at mm/gup.c', `bench ${c.api} with ${c.flags.join('|')}`);
        try {
          await runRound(dev, spec, c, round, shared, states[i] as { perRound?: number });
          if (spec.verify && c.status === 'ok') verifyCase(dev, c, shared, ctxOf(spec)); // untimed: after the samples
        } catch (err) {
          // A fresh buffer this machine cannot provide (not-prefaulted cases map one per sample).
          if (!(err instanceof BackingUnavailable)) throw err;
          Object.assign(c, { status: 'unavailable', error: err.message });
        }
        c.wallMs += Date.now() - started;
      }
      if (shared) release(shared);
      shared = undefined;
      await driver.after?.(round, cases, selected);
    }
  } finally {
    progress.stop();
    if (shared) release(shared);
    if (ownsDevice) dev.close();
  }
  for (const c of cases) summarizeCase(c);
  const stoppedBy = (driver as { stoppedBy?: () => string | undefined }).stoppedBy?.();
  return {
    schema: BENCH_SCHEMA,
    createdAt: new Date().toISOString(),
    environment: { ...environment(), release: info.release, pageSize: info.pageSize, moduleAbi: info.abiVersion },
    spec,
    cases,
    run: { rounds, wallMs: Date.now() - runStarted, ...(stoppedBy ? { stoppedBy } : {}) },
  };
}
