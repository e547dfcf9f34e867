// What a benchmark run measures: a matrix API x backing x size x
// pages_per_call x flags x prefaulted. Defaults reproduce the headline (fast
// versus unlocked versus locked, get versus pin, 4K versus THP); a JSON spec
// file and CLI options select any slice.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { BENCH_APIS, BENCH_TIMINGS, FLAG_NAMES, type ApiName, type BenchApi, type BenchTiming, type FlagName } from '../abi.js';
import { BACKING_NAMES, type BackingName } from './backings.js';

const SIZE_RE = /^(\d+)\s*([KMG])?(i?B)?$/i;

/** "64K", "16M", "1G", "4096" -> bytes. */
export function parseSize(text: string | number): number {
  if (typeof text === 'number') return text;
  const m = SIZE_RE.exec(text.trim());
  if (!m) throw new RangeError(`bad size "${text}": use bytes or a K/M/G suffix, e.g. 64K, 16M`);
  const mult = { K: 1 << 10, M: 1 << 20, G: 1 << 30 }[(m[2] ?? '').toUpperCase()] ?? 1;
  return Number(m[1]) * mult;
}

export function formatSize(bytes: number): string {
  for (const [unit, mult] of [
    ['G', 1 << 30],
    ['M', 1 << 20],
    ['K', 1 << 10],
  ] as const) {
    if (bytes >= mult && bytes % mult === 0) return `${bytes / mult}${unit}`;
  }
  return `${bytes}`;
}

/** The smallest page any kernel guplab boots uses; a buffer is whole pages. */
const MIN_PAGE = 4096;
const size = z
  .union([z.number().int().positive(), z.string().regex(SIZE_RE, 'a size such as 64K, 16M or 4096')])
  .transform(parseSize)
  .refine((n) => n >= MIN_PAGE && n % MIN_PAGE === 0, { message: 'a buffer is whole 4 KiB pages: use a multiple of 4K, e.g. 64K, 2M' });
const flagSet = z.array(z.enum(FLAG_NAMES));

export const SpecSchema = z
  .object({
    apis: z.array(z.enum(BENCH_APIS)).nonempty().optional(),
    backings: z.array(z.enum(BACKING_NAMES)).nonempty().optional(),
    sizes: z.array(size).nonempty().optional(),
    /** Pages per GUP call; "all" = the whole buffer in one call. */
    pagesPerCall: z
      .array(z.union([z.literal('all'), z.number().int().positive()]))
      .nonempty()
      .optional(),
    /** Each entry is one flag combination, e.g. [[], ["write"], ["write", "longterm"]]. */
    flags: z.array(flagSet).nonempty().optional(),
    /** true: pages present before the timed call; false: a fresh buffer per sample, GUP faults it in. */
    prefault: z.array(z.boolean()).nonempty().optional(),
    warmup: z.number().int().min(0).max(1000).optional(),
    /** Passes over the whole matrix, each on fresh buffers; samples are split between them. */
    rounds: z.number().int().min(1).max(100).optional(),
    /** Fixed samples per case (over all rounds); omit for adaptive (until targetMs of samples, within min/max). */
    iterations: z.number().int().positive().max(100000).optional(),
    minSamples: z.number().int().min(5).max(100000).optional(),
    maxSamples: z.number().int().min(5).max(100000).optional(),
    /** Adaptive: aim for this much in-kernel time per case. */
    targetMs: z.number().positive().max(600000).optional(),
    /** Folder for file and DAX backings. */
    dir: z.string().min(1).optional(),
    seed: z.number().int().optional(),
    /** Target minimum detectable effect (0.1 = 10%): after `rounds`, more rounds of the cases above it, within budgetSec. */
    mde: z.number().positive().max(1).optional(),
    /** Wall-time budget of the extra rounds that --mde adds, seconds (default 600). */
    budgetSec: z.number().positive().max(86400).optional(),
    /** After each case's timed loop in a round, an untimed call with page facts checks the pages taken and their pins (verify.ts). */
    verify: z.boolean().optional(),
    /**
     * How BENCH times an iteration (docs/bench.md, "Timing modes"): 'pass' (default), mm/gup_test.c's
     * method; 'batch', the clock around each call and each batch released at once.
     */
    timing: z.enum(BENCH_TIMINGS).optional(),
  })
  .strict();

export type SpecInput = z.input<typeof SpecSchema>;

export interface Spec {
  apis: BenchApi[];
  backings: BackingName[];
  sizes: number[];
  pagesPerCall: ('all' | number)[];
  flags: FlagName[][];
  prefault: boolean[];
  warmup: number;
  rounds: number;
  iterations?: number;
  minSamples: number;
  maxSamples: number;
  targetMs: number;
  dir?: string;
  seed: number;
  mde?: number;
  budgetSec?: number;
  verify?: boolean;
  /** BENCH's timing mode; a case that cannot be timed so (*_remote, hmm_range_fault) runs 'batch' and says so (BenchCase.timing). */
  timing: BenchTiming;
}

export const HEADLINE_APIS: readonly ApiName[] = [
  'get_user_pages_fast',
  'get_user_pages_unlocked',
  'get_user_pages',
  'pin_user_pages_fast',
  'pin_user_pages_unlocked',
  'pin_user_pages',
];

export const DEFAULT_SPEC: Spec = {
  apis: [...HEADLINE_APIS],
  backings: ['4K', 'THP'],
  sizes: [64 << 10, 2 << 20, 16 << 20],
  pagesPerCall: ['all'],
  flags: [[]],
  prefault: [true],
  warmup: 3,
  rounds: 5,
  minSamples: 15,
  maxSamples: 200,
  targetMs: 150,
  seed: 1,
  timing: 'pass',
};

/** Validates a spec (from a file or CLI options) and fills in the defaults. */
export function resolveSpec(input: unknown, base: Spec = DEFAULT_SPEC): Spec {
  const parsed = SpecSchema.safeParse(input);
  if (!parsed.success) throw new TypeError(`invalid benchmark spec:\n${z.prettifyError(parsed.error)}`);
  const s = parsed.data;
  const spec: Spec = {
    apis: s.apis ?? base.apis,
    backings: s.backings ?? base.backings,
    sizes: s.sizes ?? base.sizes,
    pagesPerCall: s.pagesPerCall ?? base.pagesPerCall,
    flags: (s.flags ?? base.flags).map((f) => [...new Set(f)].sort() as FlagName[]),
    prefault: s.prefault ?? base.prefault,
    warmup: s.warmup ?? base.warmup,
    rounds: s.rounds ?? base.rounds,
    minSamples: s.minSamples ?? base.minSamples,
    maxSamples: s.maxSamples ?? base.maxSamples,
    targetMs: s.targetMs ?? base.targetMs,
    seed: s.seed ?? base.seed,
    timing: s.timing ?? base.timing ?? 'pass',
    ...((s.iterations ?? base.iterations) ? { iterations: s.iterations ?? base.iterations } : {}),
    ...((s.dir ?? base.dir) ? { dir: s.dir ?? base.dir } : {}),
    ...((s.mde ?? base.mde) ? { mde: s.mde ?? base.mde } : {}),
    ...((s.budgetSec ?? base.budgetSec) ? { budgetSec: s.budgetSec ?? base.budgetSec } : {}),
    ...((s.verify ?? base.verify) ? { verify: true } : {}),
  };
  if (spec.budgetSec !== undefined && spec.mde === undefined)
    throw new RangeError('budgetSec bounds the extra rounds of mde: give mde too (e.g. --mde 10%), or drop budgetSec');
  if (spec.minSamples > spec.maxSamples) throw new RangeError(`minSamples ${spec.minSamples} exceeds maxSamples ${spec.maxSamples}`);
  return spec;
}

export function loadSpecFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read spec file ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SyntaxError(`spec file ${file} is not JSON: ${(err as Error).message}`);
  }
}

/** One cell of the matrix. */
export interface CaseKey {
  api: BenchApi;
  backing: BackingName;
  sizeBytes: number;
  /** Pages per GUP call, resolved ("all" = pages of the buffer). */
  pagesPerCall: number;
  flags: FlagName[];
  prefault: boolean;
}

export function caseId(c: CaseKey): string {
  return [
    c.backing,
    formatSize(c.sizeBytes),
    `ppc=${c.pagesPerCall}`,
    c.flags.length ? c.flags.join('|') : 'none',
    c.prefault ? 'prefault' : 'fault',
    c.api,
  ].join(' ');
}

/** The matrix in run order: backing, size, flags, prefault, ppc, api. */
export function expandCases(spec: Spec, pageSize: number): CaseKey[] {
  const out: CaseKey[] = [];
  for (const backing of spec.backings)
    for (const sizeBytes of spec.sizes)
      for (const flags of spec.flags)
        for (const prefault of spec.prefault)
          for (const ppc of spec.pagesPerCall) {
            const pages = Math.max(1, Math.floor(sizeBytes / pageSize));
            const pagesPerCall = ppc === 'all' ? pages : Math.min(ppc, pages);
            for (const api of spec.apis) out.push({ api, backing, sizeBytes, pagesPerCall, flags, prefault });
          }
  // Same cell reached through two ppc values (e.g. "all" and the page count): once.
  const seen = new Set<string>();
  return out.filter((c) => !seen.has(caseId(c)) && Boolean(seen.add(caseId(c))));
}
