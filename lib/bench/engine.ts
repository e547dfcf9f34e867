// Runs a benchmark matrix through the module's in-kernel BENCH loop.
import { median } from 'simple-statistics';
import { GupDevice } from '../device.js';
import { errnoName } from '../errors.js';
import { expectKernelWarning } from '../expect-warn.js';
import type { Mapping } from '../mapping.js';
import { BACKINGS, BackingUnavailable, release } from './backings.js';
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

function failure(run: { status: number; ret: number }, pages: number): { error: string; ret: number } {
  if (run.ret < 0) return { error: errnoName(run.ret), ret: run.ret };
  if (run.status === -4) return { error: 'EINTR (interrupted)', ret: run.status };
  return { error: `short: ${run.ret} of ${pages} pages`, ret: run.ret };
}

async function runCase(dev: GupDevice, spec: Spec, key: CaseKey, shared: Mapping | undefined): Promise<CaseResult> {
  const started = Date.now();
  const pageSize = dev.info().pageSize;
  const pages = Math.max(1, Math.floor(key.sizeBytes / pageSize));
  const backing = BACKINGS[key.backing];
  const c: CaseResult = { ...key, id: caseId(key), pages, status: 'ok', warmupIterations: 0, getNs: [], putNs: [], wallMs: 0 };
  const done = (): CaseResult => ({ ...c, wallMs: Date.now() - started });
  const info = dev.info();
  if (!info.apis.includes(key.api)) {
    Object.assign(c, { status: 'unavailable', error: `not exported by ${info.release}` });
    return done();
  }
  if (key.pagesPerCall > info.maxPages) {
    Object.assign(c, { status: 'unavailable', error: `pages per call above max_pages_per_call ${info.maxPages}` });
    return done();
  }
  if (dev.warns(key.api, key.flags)) expectKernelWarning('at mm/gup.c', `bench ${key.api} with ${key.flags.join('|')}`);
  const request = { flags: key.flags, pagesPerCall: key.pagesPerCall };
  const refuse = (run: { status: number; ret: number }): CaseResult => {
    Object.assign(c, { status: 'refused' }, failure(run, pages));
    return done();
  };

  if (shared) {
    // Prefaulted: one buffer, warm-up, then all samples in one in-kernel loop.
    c.warmupIterations = Math.max(1, spec.warmup);
    const warm = await dev.bench(key.api, shared.address, pages, { ...request, iterations: c.warmupIterations });
    if (warm.status !== 0) return refuse(warm);
    const perIter = Math.max(1, median(warm.getNs.map((g, i) => g + (warm.putNs[i] ?? 0))));
    const iterations = spec.iterations ?? clamp(Math.ceil((spec.targetMs * 1e6) / perIter), spec.minSamples, spec.maxSamples);
    const run = await dev.bench(key.api, shared.address, pages, { ...request, iterations });
    if (run.status !== 0) return refuse(run);
    c.getNs = run.getNs;
    c.putNs = run.putNs;
    c.note = backing.note?.(shared);
  } else {
    // Not prefaulted: a fresh buffer per sample, so GUP faults every page in.
    const samples = spec.iterations ?? spec.minSamples;
    for (let i = 0; i < samples; i++) {
      const m = backing.map(key.sizeBytes, false, spec.dir ? { dir: spec.dir } : {});
      try {
        const run = await dev.bench(key.api, m.address, pages, { ...request, iterations: 1 });
        if (run.status !== 0) return refuse(run);
        c.getNs.push(run.getNs[0] ?? 0);
        c.putNs.push(run.putNs[0] ?? 0);
        if (i === samples - 1) c.note = backing.note?.(m);
      } finally {
        release(m);
      }
    }
  }
  c.getNsPerPage = summarize(c.getNs.map((ns) => ns / pages));
  c.putNsPerPage = summarize(c.putNs.map((ns) => ns / pages));
  c.totalNsPerPage = summarize(c.getNs.map((ns, i) => (ns + (c.putNs[i] ?? 0)) / pages));
  c.pagesPerSec = 1e9 / c.totalNsPerPage.median;
  return done();
}

/** Runs every case of the spec; kernel refusals and unavailable backings are results, not exceptions. */
export async function runBench(spec: Spec, options: { dev?: GupDevice; progress?: Progress } = {}): Promise<BenchResult> {
  const dev = options.dev ?? GupDevice.open();
  const progress = options.progress ?? noProgress;
  const info = dev.info();
  const keys = expandCases(spec, info.pageSize);
  const cases: CaseResult[] = [];
  progress.start(keys.length);
  try {
    // Prefaulted cases of one (backing, size, flags) share a buffer, as the APIs are compared on the same pages.
    let group = '';
    let shared: Mapping | undefined;
    let unavailable: string | undefined;
    for (const key of keys) {
      const g = `${key.backing} ${key.sizeBytes} ${key.flags.join('|')} ${key.prefault}`;
      if (g !== group) {
        if (shared) release(shared);
        group = g;
        shared = undefined;
        unavailable = undefined;
        try {
          // Always probe the backing, also for faulting cases, so an unavailable one is reported once per group.
          const m = BACKINGS[key.backing].map(key.sizeBytes, key.prefault, spec.dir ? { dir: spec.dir } : {});
          if (key.prefault) shared = m;
          else release(m);
        } catch (err) {
          if (!(err instanceof BackingUnavailable) && !(err instanceof Error && 'code' in err)) throw err;
          unavailable = err.message;
        }
      }
      progress.tick(caseId(key));
      if (unavailable) {
        const pages = Math.max(1, Math.floor(key.sizeBytes / info.pageSize));
        cases.push({ ...key, id: caseId(key), pages, status: 'unavailable', error: unavailable, warmupIterations: 0, getNs: [], putNs: [], wallMs: 0 });
        continue;
      }
      cases.push(await runCase(dev, spec, key, shared));
    }
    if (shared) release(shared);
  } finally {
    progress.stop();
  }
  return {
    schema: BENCH_SCHEMA,
    createdAt: new Date().toISOString(),
    environment: { ...environment(), release: info.release, pageSize: info.pageSize, moduleAbi: info.abiVersion },
    spec,
    cases,
  };
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
