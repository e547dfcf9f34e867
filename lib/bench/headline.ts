// The headline benchmark: every API on the same populated buffer, 4K pages
// and THP, one GUP call over the whole buffer per sample.
import { isPinApi, type ApiName, type FlagName } from '../abi.js';
import { GupDevice } from '../device.js';
import { errnoName } from '../errors.js';
import { anonHugeKb, mapAnonymous, type ThpMode } from '../mapping.js';
import { environment, type Environment } from './environment.js';
import { summarize, type Summary } from './stats.js';

export const HEADLINE_SCHEMA = 'guplab-headline/1';

/** GUP-fast versus the slow paths, for both families. */
export const HEADLINE_APIS: readonly ApiName[] = [
  'get_user_pages_fast',
  'get_user_pages_unlocked',
  'get_user_pages',
  'pin_user_pages_fast',
  'pin_user_pages_unlocked',
  'pin_user_pages',
];

export type Backing = '4K' | 'THP';
const BACKING_THP: Record<Backing, ThpMode> = { '4K': 'off', THP: 'on' };

export interface HeadlineOptions {
  sizeBytes: number;
  iterations: number;
  warmup: number;
  flags: FlagName[];
}

export const HEADLINE_DEFAULTS: HeadlineOptions = { sizeBytes: 16 << 20, iterations: 25, warmup: 3, flags: [] };

export interface HeadlineCase {
  backing: Backing;
  api: ApiName;
  pages: number;
  /** AnonHugePages (kB) the kernel really used for the buffer. */
  anonHugeKb: number;
  /** Set when the kernel refused the call: its errno name, e.g. EINVAL. */
  error?: string;
  /** Per-sample get and put time for the whole buffer, in ns. */
  getNs: number[];
  putNs: number[];
  getNsPerPage?: Summary;
  putNsPerPage?: Summary;
}

export interface HeadlineResult {
  schema: typeof HEADLINE_SCHEMA;
  createdAt: string;
  environment: Environment;
  options: HeadlineOptions;
  cases: HeadlineCase[];
}

/**
 * One sample = one iteration of the module's BENCH loop: a GUP call over the
 * whole buffer and its release, timed in the kernel (no syscall per sample).
 */
export async function runHeadline(options: HeadlineOptions = HEADLINE_DEFAULTS, dev = GupDevice.open()): Promise<HeadlineResult> {
  const pageSize = dev.info().pageSize;
  const pages = Math.floor(options.sizeBytes / pageSize);
  if (pages < 1) throw new RangeError(`size must be at least one page (${pageSize} bytes)`);
  const cases: HeadlineCase[] = [];
  for (const backing of Object.keys(BACKING_THP) as Backing[]) {
    const mapping = mapAnonymous(pages * pageSize, { thp: BACKING_THP[backing], populate: true });
    for (const api of HEADLINE_APIS) {
      const c: HeadlineCase = { backing, api, pages, anonHugeKb: anonHugeKb(mapping), getNs: [], putNs: [] };
      const request = { flags: options.flags, pagesPerCall: pages };
      const warm = await dev.bench(api, mapping.address, pages, { ...request, iterations: Math.max(1, options.warmup) });
      const run = warm.status === 0 ? await dev.bench(api, mapping.address, pages, { ...request, iterations: options.iterations }) : warm;
      if (run.status !== 0) {
        const ret = run.ret !== 0 ? run.ret : run.status;
        c.error = ret < 0 ? errnoName(ret) : `short: ${ret} of ${pages} pages`;
      } else {
        c.getNs = run.getNs;
        c.putNs = run.putNs;
        c.getNsPerPage = summarize(c.getNs.map((ns) => ns / pages));
        c.putNsPerPage = summarize(c.putNs.map((ns) => ns / pages));
      }
      cases.push(c);
    }
  }
  return { schema: HEADLINE_SCHEMA, createdAt: new Date().toISOString(), environment: environment(), options, cases };
}

/** The fast variant of the same family: the baseline of the ratio column. */
export function fastBaseline(api: ApiName): ApiName {
  return isPinApi(api) ? 'pin_user_pages_fast' : 'get_user_pages_fast';
}
