// The bench result: its schema, loading, and what readers derive from it
// (baselines, ratios, round selection). Readers (compare, table, report,
// the matrix) import this module, never the engine or the device.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Environment, Provenance } from './environment.js';
import type { BenchTiming } from '../abi.js';
import type { CaseKey, Spec } from './spec.js';
import { median } from 'simple-statistics';
import { selfMde, summarize, type Summary } from './stats.js';

export const BENCH_SCHEMA = 'guplab-bench/1';

export interface BenchCase extends CaseKey {
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
  /** Minimum detectable effect of get+put ns/page against a run as noisy as this one (stats.ts selfMde): 0.1 = 10%. */
  mde?: number;
  /** How BENCH timed it: spec.timing, or 'batch' where 'pass' does not apply (*_remote, hmm_range_fault); absent in results before ABI 8 (they were 'batch'). */
  timing?: BenchTiming;
  /** The harness's own floor: get+put ns per iteration of the same loop with no GUP call (GUPLAB_BENCH_EMPTY). */
  floorNs?: number[];
  /** Median of floorNs per page: the part of get+put ns/page that is the harness, not the kernel. */
  floorNsPerPage?: number;
  /** --verify: the untimed integrity pass after the case's last round (verify.ts). */
  verify?: VerifyResult;
  wallMs: number;
}

/**
 * What --verify found: one extra untimed call of the case's API with page
 * facts over the buffer, after the timed loop (as mm/gup_test.c checks
 * after its loop): the pages taken were the buffer's (pfn as mapped), pinned
 * as asked (FOLL_PIN count for pin_*, none for get_*), and the timed loop
 * left no pin behind.
 */
export interface VerifyResult {
  ok: boolean;
  /** Pages checked. */
  pages: number;
  /** What was checked, in words. */
  checks: string[];
  /** Each failed check with the first page it failed on (empty when ok). */
  failures: string[];
  /** Why it could not run (e.g. hmm_range_fault has no page-facts call); then ok is true and pages 0. */
  skipped?: string;
}

export interface BenchResult {
  schema: typeof BENCH_SCHEMA;
  createdAt: string;
  environment: Environment & { pageSize: number; moduleAbi: number };
  spec: Spec;
  cases: BenchCase[];
  /** How the run went: rounds made (spec.rounds, more with spec.mde or an A/B host), wall time, why it stopped (mde). */
  run?: { rounds: number; wallMs: number; stoppedBy?: string };
  /** The command, guplab version and commit, and the host that started the run (under --vm the host; environment is the guest). */
  provenance?: Provenance;
}

/** Summaries of a case's samples (none for a case without samples, whose arrays are emptied). */
export function summarizeCase(c: BenchCase): void {
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
  if (c.floorNs?.length) c.floorNsPerPage = median(c.floorNs) / c.pages;
  c.mde = selfMde({ values: per(c.getNs.map((g, i) => g + (c.putNs[i] ?? 0))), rounds: c.round });
}

/**
 * A kernel A/B run (`bench --vm --kernel A,B`): one guest per kernel, rounds
 * alternated between them by the host; each kernel's result in its own
 * folder beside this file (ab.json).
 */
export const AB_SCHEMA = 'guplab-bench-ab/1';

export interface AbRun {
  /** Unique label (the kernel as given, "#2" added for a repeat). */
  label: string;
  kernel: string;
  /** Its results.json, relative to ab.json. */
  file: string;
}

export interface AbResult {
  schema: typeof AB_SCHEMA;
  createdAt: string;
  /** The command line that made it. */
  command: string[];
  runs: AbRun[];
  /** Round by round, which guest measured and for how long (ms), in order. */
  rounds: { round: number; label: string; cases: number; wallMs: number }[];
  stoppedBy?: string;
}

/** True when the file is an A/B run's ab.json (by its schema). */
export function isAbFile(file: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { schema?: unknown } | null)?.schema === AB_SCHEMA;
  } catch {
    return false;
  }
}

/** Reads an ab.json and every run's result, or throws an error naming the file and what is wrong. */
export function loadAb(file: string): { ab: AbResult; results: BenchResult[] } {
  let ab: AbResult;
  try {
    ab = JSON.parse(readFileSync(file, 'utf8')) as AbResult;
  } catch (err) {
    throw new Error(`cannot read ${file} as an A/B result: ${(err as Error).message}`);
  }
  if (ab?.schema !== AB_SCHEMA || !Array.isArray(ab.runs) || ab.runs.length < 2)
    throw new Error(`${file} is not a ${AB_SCHEMA} file with two or more runs (write it with \`guplab bench --vm --kernel A,B\`)`);
  return { ab, results: ab.runs.map((r) => loadResult(path.resolve(path.dirname(file), r.file))) };
}

/** Reads a results.json, or throws an error that names the file and what is wrong. */
export function loadResult(file: string): BenchResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${file} as a bench result: ${(err as Error).message}`);
  }
  const schema = (parsed as { schema?: unknown } | null)?.schema;
  if (schema !== BENCH_SCHEMA) throw new Error(`${file} has schema ${JSON.stringify(schema)}, expected ${BENCH_SCHEMA} (write it with \`guplab bench\`)`);
  const r = parsed as Partial<BenchResult>;
  const caseOk = (c: Partial<BenchCase>): boolean =>
    typeof c?.id === 'string' && typeof c.api === 'string' && typeof c.pages === 'number' && Array.isArray(c.getNs) && Array.isArray(c.putNs);
  if (typeof r.environment !== 'object' || r.environment === null || typeof r.spec !== 'object' || !Array.isArray(r.cases) || !r.cases.every(caseOk)) {
    throw new Error(
      `${file} says ${BENCH_SCHEMA} but lacks its environment, spec or cases (a truncated or hand-edited file?): write it again with \`guplab bench\``,
    );
  }
  return parsed as BenchResult;
}

/**
 * The part of a result taken in the given rounds, summaries recomputed: e.g.
 * the even and the odd rounds of one run are two interleaved runs of the same
 * kernel and module, which a change of the host's load hits alike.
 */
export function selectRounds(result: BenchResult, keep: (round: number) => boolean): BenchResult {
  const cases = result.cases.map((c) => {
    const idx = c.round.flatMap((r, i) => (keep(r) ? [i] : []));
    const { getNsPerPage: _g, putNsPerPage: _p, totalNsPerPage: _t, pagesPerSec: _s, mde: _m, ...rest } = c;
    const out: BenchCase = {
      ...rest,
      getNs: idx.map((i) => c.getNs[i] as number),
      putNs: idx.map((i) => c.putNs[i] as number),
      round: idx.map((i) => c.round[i] as number),
    };
    summarizeCase(out);
    return out;
  });
  return { ...result, spec: { ...result.spec, rounds: new Set(cases.flatMap((c) => c.round)).size || result.spec.rounds }, cases };
}

/** The fast variant of the same family (get_* or pin_*): the baseline of the ratio column. */
export function fastBaseline(api: string): string {
  // By name, as the kernel names them (pin_* take FOLL_PIN): readers of results need no addon.
  // The refault cycle is held against the plain fill it repeats.
  if (api === 'hmm_refault' || api === 'hmm_refault_mprotect') return 'hmm_range_fault';
  return api.startsWith('pin_') ? 'pin_user_pages_fast' : 'get_user_pages_fast';
}

/** The case with the same cell but the fast API of the family, if measured. */
export function baselineOf(result: BenchResult, c: BenchCase): BenchCase | undefined {
  const api = fastBaseline(c.api);
  return result.cases.find(
    (b) =>
      b.api === api &&
      b.backing === c.backing &&
      b.sizeBytes === c.sizeBytes &&
      b.pagesPerCall === c.pagesPerCall &&
      b.prefault === c.prefault &&
      b.flags.join('|') === c.flags.join('|'),
  );
}

/** slow/fast ratio of median get+put ns/page (1.00 for the fast API itself). */
export function fastRatio(result: BenchResult, c: BenchCase): number | undefined {
  const base = baselineOf(result, c);
  if (!c.totalNsPerPage || !base?.totalNsPerPage) return undefined;
  return c.totalNsPerPage.median / base.totalNsPerPage.median;
}
