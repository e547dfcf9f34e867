// The headline benchmark: every API on the same populated buffer, 4K pages
// and THP, one GUP call over the whole buffer per sample.
import { API_NAMES, isPinApi, type ApiName, type FlagName } from '../abi.js';
import { GupDevice } from '../device.js';
import { errnoName } from '../errors.js';
import { anonHugeKb, mapAnonymous, type ThpMode } from '../mapping.js';
import { environment, type Environment } from './environment.js';
import { summarize, type Summary } from './stats.js';

export const HEADLINE_SCHEMA = 'guplab-headline/1';

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

export function runHeadline(options: HeadlineOptions = HEADLINE_DEFAULTS, dev = GupDevice.open()): HeadlineResult {
  const pageSize = dev.info().pageSize;
  const pages = Math.floor(options.sizeBytes / pageSize);
  if (pages < 1) throw new RangeError(`size must be at least one page (${pageSize} bytes)`);
  const cases: HeadlineCase[] = [];
  for (const backing of Object.keys(BACKING_THP) as Backing[]) {
    const mapping = mapAnonymous(pages * pageSize, { thp: BACKING_THP[backing], populate: true });
    for (const api of API_NAMES) {
      const c: HeadlineCase = { backing, api, pages, anonHugeKb: anonHugeKb(mapping), getNs: [], putNs: [] };
      for (let i = 0; i < options.warmup + options.iterations; i++) {
        const r = dev.pin(api, mapping.address, pages, { flags: options.flags });
        if (r.ret !== pages) {
          c.error = r.ret < 0 ? errnoName(r.ret) : `short: ${r.ret} of ${pages} pages`;
          break;
        }
        if (i >= options.warmup) {
          c.getNs.push(r.getNs);
          c.putNs.push(r.putNs);
        }
      }
      if (!c.error) {
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
