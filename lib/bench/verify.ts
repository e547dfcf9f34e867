// The optional integrity pass of `bench --verify`: after a case's timed loop
// in a round, one untimed call of the same API with page facts over the same
// buffer, as mm/gup_test.c checks after its benchmark loop. It asks: were the
// pages taken the buffer's own pages, were they pinned as asked (FOLL_PIN
// counted for pin_*, not for get_*), and did the timed loop leave no pin
// behind (every folio holds exactly the pins of this one call)?
import type { GupDevice, PageFacts } from '../device.js';
import { isRefaultCycle, isRemoteApi, type ApiName } from '../abi.js';
import type { Mapping } from '../mapping.js';
import { BACKINGS, release, type BackingContext } from './backings.js';
import type { BenchCase, VerifyResult } from './results.js';

/** folio_ref_count() of a small folio grows by this per FOLL_PIN (include/linux/mm.h). */
export const GUP_PIN_COUNTING_BIAS = 1024;

/** Failures kept per case: the first ones say enough. */
const MAX_FAILURES = 5;

export const VERIFY_CHECKS = {
  count: 'the call took every page asked for',
  same: 'each page taken is the page the buffer mapped before the call (pfn; FOLL_LONGTERM may migrate)',
  distinct: 'a prefaulted buffer maps a page of its own at every address (no pfn twice)',
  pinned:
    "pin_*: each folio counts exactly this call's pins (large: pincount; small: GUP_PIN_COUNTING_BIAS per pin in refcount): nothing left by the timed loop",
  notPinned: 'get_*: no FOLL_PIN counted on any folio (large: pincount 0; small: refcount below GUP_PIN_COUNTING_BIAS)',
  faultIn:
    'fault-in: a second call finds mapped the pages the first one faulted in (the shared zero page of a read fault, at several addresses, is mapped by a special PTE the lookup does not report)',
} as const;

/** One call over the buffer in batches the module accepts, facts of every page. */
function factsOf(dev: GupDevice, c: BenchCase, m: Mapping, pageSize: number): { facts: PageFacts[]; short?: string } {
  const api = c.api as ApiName;
  const per = Math.min(c.pages, dev.info().maxPages);
  const facts: PageFacts[] = [];
  for (let first = 0; first < c.pages; first += per) {
    const n = Math.min(per, c.pages - first);
    const r = dev.pin(api, m.address + BigInt(first * pageSize), n, { flags: c.flags, facts: true, ...(isRemoteApi(api) ? { pid: process.pid } : {}) });
    if (r.ret !== n) return { facts, short: `call at page ${first} answered ${r.ret} of ${n}` };
    facts.push(...(r.facts ?? []));
  }
  return { facts };
}

/** Folio of a page: its pfn rounded down to the folio's size. */
const folioOf = (f: PageFacts): bigint => (f.pfn >> BigInt(f.folioOrder)) << BigInt(f.folioOrder);

/** Checks the facts of one call; failures as "check: page i: what". */
export function judgeFacts(c: Pick<BenchCase, 'api' | 'flags' | 'prefault'>, facts: readonly PageFacts[], before?: readonly bigint[]): string[] {
  const fails: string[] = [];
  const fail = (check: keyof typeof VERIFY_CHECKS, i: number, what: string): void => {
    if (!fails.some((f) => f.startsWith(`${check}:`))) fails.push(`${check}: page ${i}: ${what}`);
  };
  const pin = c.api.startsWith('pin_');
  const longterm = c.flags.includes('longterm');
  const perFolio = new Map<bigint, number>();
  for (const f of facts) perFolio.set(folioOf(f), (perFolio.get(folioOf(f)) ?? 0) + 1);
  const seen = new Map<bigint, number>();
  facts.forEach((f, i) => {
    const was = before ? before[i] : f.pfnBefore;
    if (c.prefault || before) {
      if (!was) fail('same', i, 'no page was mapped there before the call');
      else if (was !== f.pfn && !longterm) fail('same', i, `took pfn 0x${f.pfn.toString(16)}, the buffer mapped 0x${was.toString(16)}`);
    }
    if (c.prefault) {
      const j = seen.get(f.pfn);
      if (j !== undefined) fail('distinct', i, `pfn 0x${f.pfn.toString(16)} also at page ${j}`);
      seen.set(f.pfn, i);
    }
    const large = f.pincount >= 0;
    if (pin) {
      const want = perFolio.get(folioOf(f)) ?? 1;
      if (large && f.pincount !== want) fail('pinned', i, `folio pincount ${f.pincount}, this call pinned ${want} of its pages`);
      // A small page taken at several addresses is the shared zero page (read fault-in): since 6.5 GUP counts no pins on it.
      const pins = Math.floor(f.refcount / GUP_PIN_COUNTING_BIAS);
      if (!large && pins !== want && !(want > 1 && !c.prefault && pins === 0))
        fail('pinned', i, `refcount ${f.refcount}: ${pins} pins counted, this call pinned ${want}`);
    } else {
      if (large && f.pincount !== 0) fail('notPinned', i, `folio pincount ${f.pincount}`);
      if (!large && f.refcount >= GUP_PIN_COUNTING_BIAS) fail('notPinned', i, `refcount ${f.refcount} >= ${GUP_PIN_COUNTING_BIAS}`);
    }
  });
  return fails;
}

/**
 * A fault-in buffer: the first call's facts judged as any call's (less the
 * pfn-before check: nothing was mapped), and the second call must find
 * mapped the pages the first took. A page the first call took at several
 * addresses is the shared zero page of a read fault: mapped by a special
 * PTE, which the module's GUP-fast-only lookup does not report (pfn 0).
 */
export function judgeFaultIn(c: Pick<BenchCase, 'api' | 'flags' | 'prefault'>, first: readonly PageFacts[], second: readonly PageFacts[]): string[] {
  const fails = judgeFacts(c, first).filter((f) => !f.startsWith('same:'));
  const count = new Map<bigint, number>();
  for (const f of first) count.set(f.pfn, (count.get(f.pfn) ?? 0) + 1);
  const moved = second.findIndex((f, i) => {
    const took = first[i]?.pfn;
    if (took === undefined || f.pfnBefore === took || c.flags.includes('longterm')) return false;
    return !(f.pfnBefore === 0n && (count.get(took) ?? 0) > 1);
  });
  if (moved >= 0)
    fails.push(`faultIn: page ${moved}: first call took pfn 0x${first[moved]?.pfn.toString(16)}, now mapped 0x${second[moved]?.pfnBefore.toString(16)}`);
  return fails;
}

function checksFor(c: BenchCase): string[] {
  const keys: (keyof typeof VERIFY_CHECKS)[] = [
    'count',
    'same',
    ...(c.prefault ? (['distinct'] as const) : (['faultIn'] as const)),
    c.api.startsWith('pin_') ? 'pinned' : 'notPinned',
  ];
  return keys.map((k) => `${k}: ${VERIFY_CHECKS[k]}`);
}

/** Adds one verification (this round's) to the case's verify result. */
function record(c: BenchCase, pages: number, fails: string[]): void {
  const v: VerifyResult = (c.verify ??= { ok: true, pages: 0, checks: checksFor(c), failures: [] });
  v.pages += pages;
  for (const f of fails) if (v.failures.length < MAX_FAILURES && !v.failures.includes(f)) v.failures.push(f);
  v.ok = v.failures.length === 0;
}

/**
 * The untimed pass after a case's loop in one round: on the round's shared
 * buffer (prefaulted), or on one fresh buffer faulted in by a first call and
 * read back by a second (fault-in).
 */
export function verifyCase(dev: GupDevice, c: BenchCase, shared: Mapping | undefined, ctx: BackingContext): void {
  if (c.api === 'hmm_range_fault' || isRefaultCycle(c.api)) {
    c.verify ??= {
      ok: true,
      pages: 0,
      checks: [],
      failures: [],
      skipped: `${c.api} takes no pages (a mirror holds no pin and no reference): nothing to check`,
    };
    return;
  }
  const pageSize = dev.info().pageSize;
  const m = shared ?? BACKINGS[c.backing].map(c.sizeBytes, false, ctx);
  try {
    const first = factsOf(dev, c, m, pageSize);
    if (first.short) record(c, first.facts.length, [`count: ${first.short}`]);
    else if (shared) record(c, first.facts.length, judgeFacts(c, first.facts));
    else {
      const second = factsOf(dev, c, m, pageSize);
      if (second.short) record(c, first.facts.length, [`faultIn: second call: ${second.short}`]);
      else record(c, first.facts.length, judgeFaultIn(c, first.facts, second.facts));
    }
  } finally {
    if (!shared) release(m);
  }
}
