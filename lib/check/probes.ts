// The semantics probes: each sets up memory, makes GUP calls through the
// module and formats what the kernel answered. What the answer should be
// lives in expectations.ts, as data.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, fsyncSync, openSync, readFileSync, readSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { API_NAMES, apiInfo, isPinApi, isRemoteApi, type ApiName, type FlagName } from '../abi.js';
import type { GupDevice, PageFacts, PinOptions, PinResult } from '../device.js';
import { expectKernelWarning, guestEnv, type GuestMount } from '../contract.js';
import { hugetlbPools, mapAnonymous, mapDevice, mapFile, mapHugetlb, mapMemfd, mapSecret, type Mapping } from '../mapping.js';
import { addon } from '../native.js';
import { pinCounters } from '../vmstat.js';
import type { Answer } from './report.js';

export interface ProbeContext {
  dev: GupDevice;
  /** Filesystems mounted for the run ($GUPLAB_MOUNTS in the VM). */
  mounts: GuestMount[];
  /** A folder on tmpfs for scratch files. */
  tmpfs: string;
}

/** What a case saw: an answer, or why it could not run here. */
export type Outcome = Answer | { skip: string };

/** One case's outcome. */
export type Observation = { case: string; answer: Answer } | { case: string; skip: string };

export interface Probe {
  id: string;
  title: string;
  run(ctx: ProbeContext): Observation[];
}

const PAGE = 4096;
const HUGE = 2 << 20;
let fileSeq = 0;

function observe(name: string, outcome: Outcome): Observation {
  return 'skip' in outcome ? { case: name, skip: outcome.skip } : { case: name, answer: outcome };
}

/** Calls `api` like a kernel caller would, declaring a WARN the kernel is known to give. */
function call(ctx: ProbeContext, api: ApiName, address: bigint, nrPages: number, flags: FlagName[], options: PinOptions = {}): PinResult {
  if (ctx.dev.warns(api, flags)) expectKernelWarning('at mm/gup.c', `guplab check: ${api} with ${flags.join('|')}`);
  return ctx.dev.pin(api, address, nrPages, { ...options, flags, ...(isRemoteApi(api) ? { pid: process.pid } : {}) });
}

/** Runs `each` for every API in `apis`, or records it as absent on this kernel. */
function perApi(ctx: ProbeContext, apis: readonly ApiName[], prefix: string, each: (api: ApiName) => Outcome): Observation[] {
  const exported = ctx.dev.info().apis;
  return apis.map((api) => observe(`${prefix}${api}`, exported.includes(api) ? each(api) : { skip: `${api} is not exported by this kernel` }));
}

function using<T>(m: Mapping, body: (m: Mapping) => T): T {
  try {
    return body(m);
  } finally {
    m.close();
  }
}

/** Releases a held set after `body`, whatever happens; a call that took nothing answers its return value. */
function holding(ctx: ProbeContext, r: PinResult, body: (handle: number) => Answer): Answer {
  if (r.ret <= 0 || !r.handle) return { ret: r.ret };
  try {
    return body(r.handle);
  } finally {
    ctx.dev.release(r.handle);
  }
}

/** Every API the ABI names (a new one is probed without a change here): the faulting ones first, fast_only last, as reports list them. */
const ALL: readonly ApiName[] = [...API_NAMES.filter((api) => !api.endsWith('_fast_only')), ...API_NAMES.filter((api) => api.endsWith('_fast_only'))];
// From the ABI's table (through the addon), read when a probe runs: listing the probes needs no addon.
const FAULTING = (): ApiName[] => ALL.filter((api) => apiInfo(api).path !== 'fast_only');
const PINNING = (): ApiName[] => ALL.filter((api) => isPinApi(api));
const FAST_ONLY = (): ApiName[] => ALL.filter((api) => apiInfo(api).path === 'fast_only');

/**
 * Whether the range's pages are mapped, from pagemap: smaps' Rss leaves out
 * the shared zeropage that a read fault maps, so it cannot tell.
 */
function faulted(m: Mapping): string {
  let present = 0;
  for (let off = 0; off < m.length; off += PAGE) if (m.pfn(off) !== 0n) present++;
  const pages = m.length / PAGE;
  return present === 0 ? 'nothing faulted' : present === pages ? 'faulted in' : `${present} of ${pages} faulted`;
}

function skipAll(name: string, reason: string): Observation[] {
  return [{ case: name, skip: reason }];
}

const partial: Probe = {
  id: 'partial',
  title: 'a range that runs into an unmapped or PROT_NONE page: the mapped prefix, then the error',
  run: (ctx) => [
    ...perApi(ctx, ALL, 'unmapped/', (api) =>
      using(mapAnonymous(8 * PAGE, { populate: true, holeAfter: true }), (m) => {
        const first = call(ctx, api, m.address, 16, []);
        const rest = call(ctx, api, m.address + BigInt(8 * PAGE), 8, []);
        return { ret: first.ret, then: rest.ret };
      }),
    ),
    ...perApi(ctx, ALL, 'protnone/', (api) =>
      using(mapAnonymous(16 * PAGE, { populate: true }), (m) => {
        m.protect('none', 8 * PAGE, 8 * PAGE);
        const first = call(ctx, api, m.address, 16, []);
        const rest = call(ctx, api, m.address + BigInt(8 * PAGE), 8, []);
        return { ret: first.ret, then: rest.ret };
      }),
    ),
  ],
};

const forceCow: Probe = {
  id: 'force-cow',
  title: 'FOLL_WRITE on a read-only private mapping, and FOLL_FORCE breaking COW',
  run: (ctx) => {
    const file = `${ctx.tmpfs}/guplab-force-${process.pid}`;
    return [
      ...perApi(ctx, FAULTING(), 'write-readonly/', (api) =>
        using(mapAnonymous(PAGE, { populate: true }), (m) => {
          m.protect('r');
          return { ret: call(ctx, api, m.address, 1, ['write']).ret };
        }),
      ),
      ...perApi(ctx, FAULTING(), 'force-anon/', (api) =>
        using(mapAnonymous(PAGE, { populate: true }), (m) => {
          m.write(0, 0x41);
          m.protect('r');
          const before = m.pfn(0);
          // Another reference, held: before 5.19 the answer turns on page_count(), and without
          // this one it would turn on whether a per-CPU LRU pagevec still holds the fresh page.
          const other = call(ctx, 'get_user_pages_fast', m.address, 1, [], { hold: true });
          return holding(ctx, other, () => {
            const r = call(ctx, api, m.address, 1, ['write', 'force'], { hold: true, facts: true });
            return holding(ctx, r, () => ({ ret: r.ret, note: r.facts?.[0]?.pfn === before ? 'same page' : 'new page' }));
          });
        }),
      ),
      ...perApi(ctx, FAULTING(), 'force-file/', (api) => {
        using(mapFile(file, PAGE, { create: true, populate: true }), (f) => f.write(0, 0x46));
        return using(mapFile(file, PAGE, { shared: false, prot: 'r', populate: 'read' }), (m) => {
          // The page cache page's pfn from pagemap: the module's pfnBefore is
          // a GUP-fast lookup of this process, which *_remote does not do.
          const before = m.pfn(0);
          const r = call(ctx, api, m.address, 1, ['write', 'force'], { hold: true, facts: true });
          return holding(ctx, r, (handle) => {
            const facts = r.facts?.[0];
            const copy = facts && facts.pfn !== before && facts.kinds.includes('anon');
            // The pinned copy holds the file's data; a write through the pin
            // reaches this mapping but not the file.
            const sawFileData = ctx.dev.readPinned(handle, 0)[0] === 0x46;
            ctx.dev.writePinned(handle, 0, 0, Uint8Array.of(0x58));
            const mappingSees = m.read(0)[0] === 0x58;
            const fileIntact = readFileSync(file)[0] === 0x46;
            return {
              ret: r.ret,
              note: `${copy ? 'new anon copy' : 'page cache page'}${sawFileData && mappingSees ? '' : ' (data mismatch)'}, file ${fileIntact ? 'intact' : 'changed'}`,
            };
          });
        });
      }),
    ];
  },
};

const daxLongterm: Probe = {
  id: 'dax-longterm',
  title: 'FOLL_LONGTERM on a file of a DAX filesystem (fsdax on emulated pmem)',
  run: (ctx) => {
    const out: Observation[] = [];
    for (const fs of ['ext4', 'xfs'] as const) {
      const mount = ctx.mounts.find((m) => m.fs === fs && m.dax);
      if (!mount) {
        // The runner says why when the kernel cannot do DAX ($GUPLAB_NO_DAX); else the mount was not asked for.
        out.push(
          ...skipAll(
            `${fs}/*`,
            `no DAX ${fs} mount: ${guestEnv().noDax ?? `guplab check --vm mounts one where the kernel can do DAX (--pmem 128M --dax ${fs})`}`,
          ),
        );
        continue;
      }
      for (const [mode, flags] of [
        ['plain', ['write']],
        ['longterm', ['write', 'longterm']],
      ] as const) {
        out.push(
          ...perApi(ctx, ALL, `${fs}/${mode}/`, (api) =>
            using(mapFile(`${mount.path}/probe-${process.pid}-${fileSeq++}`, 16 * PAGE, { create: true, populate: true }), (m) => ({
              ret: call(ctx, api, m.address, 16, [...flags]).ret,
            })),
          ),
        );
      }
    }
    return out;
  },
};

const longtermVariants: Probe = {
  id: 'longterm-variants',
  title: 'FOLL_LONGTERM through the *_unlocked and *_remote variants',
  run: (ctx) =>
    perApi(ctx, ['get_user_pages_unlocked', 'pin_user_pages_unlocked', 'get_user_pages_remote', 'pin_user_pages_remote'], '', (api) =>
      using(mapAnonymous(16 * PAGE, { populate: true }), (m) => ({ ret: call(ctx, api, m.address, 16, ['longterm']).ret })),
    ),
};

const writableLongtermShared: Probe = {
  id: 'writable-longterm-shared',
  title: 'writable FOLL_LONGTERM pins of MAP_SHARED files: ext4/xfs vs tmpfs/memfd vs hugetlb',
  run: (ctx) => {
    const backings: [string, () => Mapping | string][] = [
      ...(['ext4', 'xfs'] as const).map((fs): [string, () => Mapping | string] => [
        fs,
        () => {
          const mount = ctx.mounts.find((m) => m.fs === fs && !m.dax);
          return mount
            ? mapFile(`${mount.path}/probe-${process.pid}-${fileSeq++}`, 16 * PAGE, { create: true, populate: true })
            : `no ${fs} mount (--fs ${fs})`;
        },
      ]),
      ['tmpfs', () => mapFile(`${ctx.tmpfs}/guplab-shared-${process.pid}-${fileSeq++}`, 16 * PAGE, { create: true, populate: true })],
      ['memfd', () => mapMemfd(16 * PAGE, { populate: true })],
      [
        'hugetlb',
        () => ((hugetlbPools().get(HUGE)?.free ?? 0) > 0 ? mapMemfd(HUGE, { hugetlb: '2M', populate: true }) : 'no free 2M huge pages (--hugepages N)'),
      ],
    ];
    const out: Observation[] = [];
    for (const [name, make] of backings) {
      for (const api of PINNING().filter((a) => apiInfo(a).path !== 'fast_only')) {
        if (!ctx.dev.info().apis.includes(api)) continue;
        const m = make();
        if (typeof m === 'string') {
          out.push({ case: `${name}/${api}`, skip: m });
          continue;
        }
        // Where the pages sit matters too: a LONGTERM pin migrates them out
        // of ZONE_MOVABLE first (boot-time huge pages may be there).
        const movable = name === 'hugetlb' && inMovable(ctx, m);
        out.push({
          case: `${name}${movable ? '-in-movable' : ''}/${api}`,
          answer: using(m, () => ({ ret: call(ctx, api, m.address, 16, ['write', 'longterm']).ret })),
        });
      }
    }
    return out;
  },
};

/** Maps 16 written pages, retrying until all sit in ZONE_MOVABLE (or gives up). */
function movableBuffer(ctx: ProbeContext): Mapping | undefined {
  for (let attempt = 0; attempt < 4; attempt++) {
    const m = mapAnonymous(16 * PAGE, { thp: 'off', populate: true });
    for (let i = 0; i < 16; i++) m.write(i * PAGE, 0x60 + i);
    const facts = ctx.dev.pin('get_user_pages_fast', m.address, 16, { facts: true }).facts ?? [];
    if (facts.length === 16 && facts.every((f) => f.zoneMovable)) return m;
    m.close();
  }
  return undefined;
}

/** Whether the first page of `m` sits in ZONE_MOVABLE. */
function inMovable(ctx: ProbeContext, m: Mapping): boolean {
  return ctx.dev.pin('get_user_pages_fast', m.address, 1, { facts: true }).facts?.[0]?.zoneMovable ?? false;
}

/** pagemap pfns of the 16 pages. */
function facts16(m: Mapping): bigint[] {
  return Array.from({ length: 16 }, (_, i) => m.pfn(i * PAGE));
}

function hasMovableZone(): boolean {
  const zoneinfo = readFileSync('/proc/zoneinfo', 'utf8');
  const managed = /zone\s+Movable[\s\S]*?managed\s+(\d+)/.exec(zoneinfo)?.[1];
  return Number(managed ?? 0) > 0;
}

const movableLongterm: Probe = {
  id: 'movable-longterm',
  title: 'FOLL_LONGTERM on ZONE_MOVABLE memory (small pages, a THP, a hugetlb page): migrated out, data intact',
  run: (ctx) => {
    if (!hasMovableZone()) return skipAll('*', 'no ZONE_MOVABLE: boot with movablecore= (guplab check --vm does)');
    const probe = (api: ApiName, flags: FlagName[]): Outcome => {
      const m = movableBuffer(ctx);
      if (!m) return { skip: 'buffer not in ZONE_MOVABLE' };
      return using(m, () => {
        const before = facts16(m);
        const r = call(ctx, api, m.address, 16, flags, { hold: true, facts: true });
        return holding(ctx, r, (handle) => {
          const facts = r.facts ?? [];
          const moved = facts.every((f, i) => f.pfn !== before[i] && !f.zoneMovable);
          const stayed = facts.every((f, i) => f.pfn === before[i] && f.zoneMovable);
          const intact = facts.every((_, i) => m.read(i * PAGE)[0] === 0x60 + i && ctx.dev.readPinned(handle, i)[0] === 0x60 + i);
          const where = moved ? 'migrated' : stayed ? 'stayed' : 'partly migrated';
          return { ret: r.ret, note: flags.includes('longterm') ? `${where}, data ${intact ? 'intact' : 'LOST'}` : where };
        });
      });
    };
    // Maps every free huge page (up to 8) and pins the first that sits in
    // ZONE_MOVABLE: after one migration the pool hands out a page from
    // elsewhere first, so a single page left later cases without one.
    const hugetlb = (api: ApiName): Outcome => {
      const free = Math.min(hugetlbPools().get(HUGE)?.free ?? 0, 8);
      if (free < 1) return { skip: 'no free 2M huge pages' };
      return using(mapMemfd(free * HUGE, { hugetlb: '2M', populate: true }), (m): Outcome => {
        const k = Array.from({ length: free }, (_, i) => i).find(
          (i) => ctx.dev.pin('get_user_pages_fast', m.address + BigInt(i * HUGE), 1, { facts: true }).facts?.[0]?.zoneMovable,
        );
        if (k === undefined) return { skip: `none of ${free} free huge pages in ZONE_MOVABLE` };
        const base = k * HUGE;
        for (let i = 0; i < 16; i++) m.write(base + i * PAGE, 0x90 + i);
        const before = m.pfn(base);
        const r = call(ctx, api, m.address + BigInt(base), 16, ['longterm'], { hold: true, facts: true });
        return holding(ctx, r, (handle) => {
          const where = r.facts?.[0]?.pfn !== before && !r.facts?.[0]?.zoneMovable ? 'migrated' : 'stayed';
          const intact = Array.from({ length: 16 }, (_, i) => i).every(
            (i) => m.read(base + i * PAGE)[0] === 0x90 + i && ctx.dev.readPinned(handle, i)[0] === 0x90 + i,
          );
          return { ret: r.ret, note: `${where}, data ${intact ? 'intact' : 'LOST'}` };
        });
      });
    };
    // A THP in ZONE_MOVABLE (movable allocations try the highest zone
    // first), 16 of its pages pinned long-term.
    const thp = (api: ApiName): Outcome => {
      for (let attempt = 0; attempt < 4; attempt++) {
        const m = mapAnonymous(HUGE, { thp: 'on', populate: true });
        const f = ctx.dev.pin('get_user_pages_fast', m.address, 1, { facts: true }).facts?.[0];
        if (f?.folioOrder !== 9 || !f.zoneMovable) {
          m.close();
          continue;
        }
        return using(m, () => {
          for (let i = 0; i < 16; i++) m.write(i * PAGE, 0xa0 + i);
          const before = m.pfn(0);
          const r = call(ctx, api, m.address, 16, ['longterm'], { hold: true, facts: true });
          return holding(ctx, r, (handle) => {
            const where = r.facts?.[0]?.pfn !== before && !r.facts?.[0]?.zoneMovable ? 'migrated' : 'stayed';
            const intact = Array.from({ length: 16 }, (_, i) => i).every(
              (i) => m.read(i * PAGE)[0] === 0xa0 + i && ctx.dev.readPinned(handle, i)[0] === 0xa0 + i,
            );
            return { ret: r.ret, note: `${where}, data ${intact ? 'intact' : 'LOST'}` };
          });
        });
      }
      return { skip: 'no THP in ZONE_MOVABLE for the buffer' };
    };
    return [
      ...perApi(ctx, ['pin_user_pages_fast'], 'no-longterm/', (api) => probe(api, [])),
      ...perApi(
        ctx,
        PINNING().filter((a) => apiInfo(a).path !== 'fast_only'),
        'thp/',
        thp,
      ),
      ...perApi(ctx, PINNING(), '', (api) => probe(api, ['longterm'])),
      // From 6.2 the unlocked and remote pins reach the same hugetlb code as the others.
      ...perApi(
        ctx,
        PINNING().filter((a) => apiInfo(a).path !== 'fast_only'),
        'hugetlb/',
        hugetlb,
      ),
    ];
  },
};

const pinCount: Probe = {
  id: 'pin-count',
  title: 'pin counting: FOLL_PIN bias on small folios, pincount on large ones, counters balance',
  run: (ctx) => {
    const counters = pinCounters();
    const measure = (m: Mapping, api: ApiName, pages: number): { answer: Answer; stable: boolean } => {
      const base = ctx.dev.pin('get_user_pages_fast', m.address, 1, { facts: true }).facts?.[0];
      const r = ctx.dev.pin(api, m.address, pages, { hold: true, facts: true });
      const held = r.facts?.[0];
      if (!base || !held || !r.handle) return { answer: { ret: r.ret }, stable: true };
      ctx.dev.release(r.handle);
      const after = ctx.dev.pin('get_user_pages_fast', m.address, 1, { facts: true }).facts?.[0];
      // Each facts read sees one extra reference: the reading call's own.
      const delta = held.refcount - (base.refcount - 1);
      const restored = after?.refcount === base.refcount ? 'restored' : 'NOT restored';
      const note = base.folioOrder > 0 ? `+${delta} refs, pincount ${Math.max(held.pincount, 0)}, ${restored}` : `+${delta} refs, ${restored}`;
      return { answer: { ret: r.ret, note }, stable: after?.refcount === base.refcount };
    };
    // A page just faulted in sits in a per-CPU LRU batch that holds a
    // reference of its own until drained (seen once in CI on 6.1 arm64:
    // "+0 refs, NOT restored"). Measure again on the same page; once out
    // of the batch it stays out. A count that never settles is reported.
    const refDelta = (m: Mapping, api: ApiName, pages: number): Answer => {
      let last = measure(m, api, pages);
      for (let attempt = 1; attempt < 4 && !last.stable; attempt++) last = measure(m, api, pages);
      return last.answer;
    };
    const out: Observation[] = [];
    for (const api of ['pin_user_pages_fast', 'get_user_pages_fast'] as const) {
      out.push({ case: `small/${api.slice(0, 3)}`, answer: using(mapAnonymous(PAGE, { thp: 'off', populate: true }), (m) => refDelta(m, api, 1)) });
    }
    for (const api of ['pin_user_pages_fast', 'get_user_pages_fast'] as const) {
      out.push(
        using(mapAnonymous(HUGE, { thp: 'on', populate: true }), (m): Observation => {
          const order = ctx.dev.pin('get_user_pages_fast', m.address, 1, { facts: true }).facts?.[0]?.folioOrder ?? 0;
          const name = `large/${api.slice(0, 3)}`;
          return order === 9 ? { case: name, answer: refDelta(m, api, 512) } : { case: name, skip: 'no THP for the buffer (transparent_hugepage=never?)' };
        }),
      );
    }
    const now = pinCounters();
    const balanced = now.acquired - counters.acquired === now.released - counters.released;
    out.push({
      case: 'vmstat',
      answer: { note: balanced ? 'balanced' : `acquired +${now.acquired - counters.acquired}, released +${now.released - counters.released}` },
    });
    return out;
  },
};

const cowFork: Probe = {
  id: 'cow-fork',
  title: 'COW after fork with a pinned (and with a FOLL_GET) anonymous page',
  run: (ctx) => {
    const pinned = using(mapAnonymous(PAGE, { thp: 'off', populate: true }), (m) => {
      m.write(0, 0x41);
      const r = ctx.dev.pin('pin_user_pages_fast', m.address, 1, { flags: ['write'], hold: true, facts: true });
      return holding(ctx, r, (handle) => {
        const pfn = r.facts?.[0]?.pfn;
        const [childPfn, childByte] = m.forkRun([
          { op: 'pfn', offset: 0 },
          { op: 'read', offset: 0 },
        ]).results;
        ctx.dev.writePinned(handle, 0, 0, Uint8Array.of(0x43));
        const note = [
          childPfn !== pfn && childByte === 0x41n ? 'child got a copy' : 'child shares the page',
          m.pfn(0) === pfn ? 'parent kept the pinned page' : 'parent lost the pinned page',
          m.read(0)[0] === 0x43 ? 'pin writes reach the parent' : 'pin writes do not reach the parent',
        ].join('; ');
        return { ret: r.ret, note };
      });
    });
    const got = using(mapAnonymous(PAGE, { thp: 'off', populate: true }), (m) => {
      m.write(0, 0x41);
      const r = ctx.dev.pin('get_user_pages_fast', m.address, 1, { hold: true, facts: true });
      return holding(ctx, r, (handle) => {
        const pfn = r.facts?.[0]?.pfn;
        const [childPfn] = m.forkRun([{ op: 'pfn', offset: 0 }]).results;
        m.write(0, 0x5a);
        const stale = ctx.dev.readPinned(handle, 0)[0] === 0x41;
        const note = [
          childPfn === pfn ? 'shared at fork' : 'copied at fork',
          m.pfn(0) !== pfn ? 'parent copied on write' : 'parent wrote in place',
          stale ? 'the held page went stale' : 'the held page is current',
        ].join('; ');
        return { ret: r.ret, note };
      });
    });
    return [
      { case: 'pinned', answer: pinned },
      { case: 'got', answer: got },
    ];
  },
};

const userfaultfd: Probe = {
  id: 'userfaultfd',
  title: 'userfaultfd: the unlocked variant waits for the handler, the locked one without a locked pointer fails',
  run: (ctx) => {
    const m = mapAnonymous(2 * PAGE);
    let handler;
    try {
      handler = new (addon().FaultHandler)(m.address, m.length, 0x5a);
    } catch (err) {
      m.close();
      return skipAll('*', `userfaultfd unavailable: ${(err as Error).message}`);
    }
    try {
      const locked: Answer = { ret: call(ctx, 'get_user_pages', m.address, 1, []).ret };
      const faultsBefore = handler.faults;
      const r = call(ctx, 'get_user_pages_unlocked', m.address + BigInt(PAGE), 1, [], { hold: true });
      const unlocked = holding(ctx, r, (handle) => {
        // The handler counts a fault after its UFFDIO_COPY returns, which
        // can be after the woken GUP call has returned here: give the
        // count a moment (6.12 CI run: "1, without the handler" once). The
        // fill byte can only have come from the handler's copy.
        const deadline = Date.now() + 2000;
        while (handler.faults <= faultsBefore && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        const resolved = handler.faults > faultsBefore && ctx.dev.readPinned(handle, 0)[0] === 0x5a;
        return { ret: r.ret, note: resolved ? 'after the handler resolved the fault' : 'without the handler' };
      });
      return [
        { case: 'get_user_pages', answer: locked },
        { case: 'get_user_pages_unlocked', answer: unlocked },
      ];
    } finally {
      handler.stop();
      m.close();
    }
  },
};

const fastOnly: Probe = {
  id: 'fast-only',
  title: '*_fast_only on pages not yet faulted (no fault taken) and on present pages',
  run: (ctx) => [
    ...perApi(ctx, FAST_ONLY(), 'unfaulted/', (api) =>
      using(mapAnonymous(16 * PAGE, { thp: 'off' }), (m) => {
        const r = call(ctx, api, m.address, 16, []);
        return { ret: r.ret, note: faulted(m) === 'nothing faulted' ? 'nothing faulted' : 'pages faulted' };
      }),
    ),
    ...perApi(ctx, FAST_ONLY(), 'present/', (api) =>
      using(mapAnonymous(16 * PAGE, { populate: true }), (m) => ({ ret: call(ctx, api, m.address, 16, []).ret })),
    ),
  ],
};

/** KPF_LRU (include/uapi/linux/kernel-page-flags.h): the page is on an LRU list. */
const KPF_LRU = 5n;

/**
 * Whether each of the mapping's first `pages` pages is on an LRU list, per
 * pagemap and /proc/kpageflags (which read flags, never the page: a
 * secretmem page is off the direct map); undefined without root.
 */
export function onLru(m: Mapping, pages: number): boolean[] | undefined {
  const pfns = Array.from({ length: pages }, (_, i) => m.pfn(i * PAGE));
  if (pfns.some((pfn) => pfn === 0n)) return undefined;
  let fd: number;
  try {
    fd = openSync('/proc/kpageflags', 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(8);
    return pfns.map((pfn) => {
      if (readSync(fd, buf, 0, 8, pfn * 8n) !== 8) throw new Error(`/proc/kpageflags has no entry for pfn ${pfn}`);
      return ((buf.readBigUInt64LE(0) >> KPF_LRU) & 1n) === 1n;
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * memfd_secret pages, pinned by every API. The fast and fast_only APIs run
 * twice: on a fresh folio, still in the per-CPU LRU batch with no PG_lru
 * (what page_is_secretmem() missed until 65291dcfcf89), and on one after
 * move_pages() drained every CPU's batch (do_pages_move(): lru_cache_disable(),
 * 5.13+; migrate_prep() before). The LRU state each case stands on is read
 * from /proc/kpageflags, never assumed; a case whose state cannot be made
 * is skipped, saying why. No case reads through a pin.
 */
const secretmem: Probe = {
  id: 'secretmem',
  title: 'memfd_secret memory: every API fails, on a fresh folio and on one after the LRU batch drained',
  run: (ctx) => {
    let probe: Mapping;
    try {
      probe = mapSecret(PAGE);
    } catch (err) {
      return skipAll('*', `memfd_secret unavailable: ${(err as Error).message}`);
    }
    probe.close();
    const lockless = [...FAST(), ...FAST_ONLY()];
    const fresh = (api: ApiName): Outcome => {
      // A populate that fills the batch drains it: take another mapping, a few times.
      for (let tries = 0; tries < 4; tries++) {
        const m = mapSecret(4 * PAGE, { populate: true });
        try {
          const lru = onLru(m, 4);
          if (!lru) return { skip: 'PG_lru cannot be read (pagemap pfns and /proc/kpageflags need root): a fresh folio cannot be told from a drained one' };
          if (lru.some(Boolean)) continue;
          return { ret: call(ctx, api, m.address, 4, []).ret };
        } finally {
          m.close();
        }
      }
      return { skip: 'every fresh folio was on the LRU already (the per-CPU batch kept draining)' };
    };
    const drained = (api: ApiName): Outcome =>
      using(mapSecret(4 * PAGE, { populate: true }), (m) => {
        const moved = m.movePage(0, 0);
        if (moved.ret < 0 && moved.errno === 'ENOSYS') return { skip: 'no move_pages (a kernel without NUMA) to drain the LRU batch' };
        const lru = onLru(m, 4);
        if (!lru) return { skip: 'PG_lru cannot be read (pagemap pfns and /proc/kpageflags need root): a drained folio cannot be told from a fresh one' };
        if (!lru.every(Boolean)) return { skip: `move_pages did not drain the batch: PG_lru ${lru.map(Number).join('')}` };
        return { ret: call(ctx, api, m.address, 4, []).ret };
      });
    return [
      ...perApi(
        ctx,
        ALL.filter((api) => !lockless.includes(api)),
        '',
        (api) => using(mapSecret(4 * PAGE, { populate: true }), (m) => ({ ret: call(ctx, api, m.address, 4, []).ret })),
      ),
      ...perApi(ctx, lockless, 'fresh/', fresh),
      ...perApi(ctx, lockless, 'drained/', drained),
    ];
  },
};

const huge: Probe = {
  id: 'huge',
  title: 'hugetlb and THP: every subpage of a 2 MiB folio',
  run: (ctx) => {
    const apis: ApiName[] = ['pin_user_pages_fast', 'get_user_pages_unlocked', 'pin_user_pages'];
    const describe = (m: Mapping, api: ApiName): Answer => {
      const r = call(ctx, api, m.address, 512, [], { facts: true });
      const orders = [...new Set((r.facts ?? []).map((f) => f.folioOrder))].join('/');
      return r.ret > 0 ? { ret: r.ret, note: `order ${orders}` } : { ret: r.ret };
    };
    const hugetlbFree = (hugetlbPools().get(HUGE)?.free ?? 0) > 0;
    return [
      ...(hugetlbFree
        ? perApi(ctx, apis, 'hugetlb/', (api) => using(mapMemfd(HUGE, { hugetlb: '2M', populate: true }), (m) => describe(m, api)))
        : skipAll('hugetlb/*', 'no free 2M huge pages (--hugepages N)')),
      ...perApi(ctx, apis, 'thp/', (api) => using(mapAnonymous(HUGE, { thp: 'on', populate: true }), (m) => describe(m, api))),
    ];
  },
};

const PIN_FAULTING = (): ApiName[] => PINNING().filter((api) => apiInfo(api).path !== 'fast_only');

/** The shared zeropage's pfn, from pagemap after a read fault on a fresh private page (0n without root). */
function zeroPfn(): bigint {
  return using(mapAnonymous(PAGE, { thp: 'off' }), (m) => {
    m.touch('read');
    return m.pfn(0);
  });
}

/** What a pinned page is, in the words the expectations use. */
function pageKind(f: PageFacts | undefined, zero: bigint): string {
  if (!f) return 'no facts';
  if (f.pfn === zero) return 'zeropage';
  if (f.kinds.includes('anon')) return 'anon copy';
  if (f.kinds.includes('shmem') || f.kinds.includes('file')) return 'page cache page';
  return `other page (${f.kinds.join('+') || 'no kind'})`;
}

const cowRoPin: Probe = {
  id: 'cow-ro-pin',
  title:
    'read-only FOLL_PIN and FOLL_PIN|FOLL_LONGTERM in COW mappings (the zeropage, a MAP_PRIVATE file page): which page is pinned, and does it see the process write afterwards',
  run: (ctx) => {
    const zero = zeroPfn();
    if (zero === 0n) return skipAll('*', 'pagemap shows no pfns (not root?): the zeropage cannot be recognised');
    const file = `${ctx.tmpfs}/guplab-cow-${process.pid}-${fileSeq++}`;
    using(mapFile(file, PAGE, { create: true, populate: true }), (f) => f.write(0, 0x46));
    // Pins one page read-only, checks it holds what the process sees, then
    // the process writes its mapping: a coherent pin sees the write.
    const pinThenWrite = (api: ApiName, m: Mapping, flags: FlagName[], before: number): Answer => {
      const r = call(ctx, api, m.address, 1, flags, { hold: true, facts: true });
      return holding(ctx, r, (handle) => {
        const what = pageKind(r.facts?.[0], zero);
        const sameData = ctx.dev.readPinned(handle, 0)[0] === before && m.read(0)[0] === before;
        m.write(0, 0x77);
        const after = ctx.dev.readPinned(handle, 0)[0];
        const seen = after === 0x77 ? 'coherent' : after === before ? 'stale' : `changed to ${after}`;
        return { ret: r.ret, note: `${what}${sameData ? '' : ' (data mismatch)'}; ${seen} after the write` };
      });
    };
    const out: Observation[] = [];
    for (const [mode, flags] of [
      ['ro', []],
      ['ro-longterm', ['longterm']],
    ] as [string, FlagName[]][]) {
      out.push(
        ...perApi(ctx, PIN_FAULTING(), `zeropage/${mode}/`, (api) =>
          using(mapAnonymous(PAGE, { thp: 'off' }), (m) => {
            m.touch('read');
            return pinThenWrite(api, m, flags, 0);
          }),
        ),
        ...perApi(ctx, PIN_FAULTING(), `file/${mode}/`, (api) =>
          using(mapFile(file, PAGE, { shared: false, populate: 'read' }), (m) => pinThenWrite(api, m, flags, 0x46)),
        ),
      );
    }
    // The zeropage's reference count under a pin and a get (each facts
    // read counts the reading call's own reference, as in pin-count).
    for (const api of ['pin_user_pages', 'get_user_pages'] as const) {
      out.push({
        case: `zeropage-refs/${api.slice(0, 3)}`,
        answer: using(mapAnonymous(PAGE, { thp: 'off' }), (m) => {
          m.touch('read');
          const base = ctx.dev.pin('get_user_pages', m.address, 1, { facts: true }).facts?.[0];
          const r = ctx.dev.pin(api, m.address, 1, { hold: true, facts: true });
          return holding(ctx, r, () => {
            const held = r.facts?.[0];
            if (!base || !held) return { ret: r.ret, note: 'no facts' };
            return { ret: r.ret, note: `${pageKind(held, zero)}, +${held.refcount - (base.refcount - 1)} refs` };
          });
        }),
      });
    }
    return out;
  },
};

/** All 16 pages of one kind, or "mixed". */
function kinds16(facts: readonly PageFacts[] | undefined): string {
  const kinds = new Set((facts ?? []).map((f) => (f.kinds.includes('anon') ? 'anon copies' : 'page cache pages')));
  return kinds.size === 1 ? [...kinds][0]! : 'mixed';
}

const writableLongtermFamily: Probe = {
  id: 'writable-longterm-family',
  title:
    'the rest of the writable-longterm family on ext4/xfs: read-only longterm of MAP_SHARED, write pins without longterm (direct I/O), write+longterm and read-only longterm of MAP_PRIVATE',
  run: (ctx) => {
    const out: Observation[] = [];
    const modes: [string, boolean, FlagName[]][] = [
      ['shared-ro-longterm', true, ['longterm']],
      ['shared-write', true, ['write']],
      ['private-write-longterm', false, ['write', 'longterm']],
      ['private-ro-longterm', false, ['longterm']],
    ];
    for (const fs of ['ext4', 'xfs'] as const) {
      const mount = ctx.mounts.find((m) => m.fs === fs && !m.dax);
      if (!mount) {
        out.push(...skipAll(`${fs}/*`, `no ${fs} mount (--fs ${fs})`));
        continue;
      }
      for (const [mode, shared, flags] of modes) {
        out.push(
          ...perApi(ctx, PIN_FAULTING(), `${fs}/${mode}/`, (api) => {
            const path = `${mount.path}/family-${process.pid}-${fileSeq++}`;
            using(mapFile(path, 16 * PAGE, { create: true, populate: true }), (f) => f.write(0, 0x46));
            return using(mapFile(path, 16 * PAGE, { shared, populate: 'read' }), (m) => {
              const r = call(ctx, api, m.address, 16, flags, { hold: true, facts: true });
              return holding(ctx, r, () => (shared ? { ret: r.ret } : { ret: r.ret, note: kinds16(r.facts) }));
            });
          }),
        );
      }
    }
    return out;
  },
};

/** A page-aligned address at or above the end of user space on this arch (5-level and 52-bit layouts included). */
function aboveUserSpace(): bigint {
  return process.arch === 'arm64' ? 1n << 52n : (1n << 56n) - BigInt(PAGE);
}

const addressEdges: Probe = {
  id: 'address-edges',
  title: 'a range above the user address space: refused up front by GUP-fast, by the vma walk otherwise; *_fast_only hid the error before 6.3',
  run: (ctx) => perApi(ctx, ALL, 'above-top/', (api) => ({ ret: call(ctx, api, aboveUserSpace(), 1, []).ret })),
};

const forceHugetlb: Probe = {
  id: 'force-hugetlb',
  title: 'FOLL_FORCE|FOLL_WRITE on a read-only private hugetlb mapping (the ptrace path into huge pages)',
  run: (ctx) => {
    if ((hugetlbPools().get(HUGE)?.free ?? 0) < 1) return skipAll('*', 'no free 2M huge pages (--hugepages N)');
    return perApi(ctx, FAULTING(), '', (api) =>
      using(mapHugetlb(HUGE, { shared: false, populate: true }), (m) => {
        m.write(0, 0x48);
        m.protect('r');
        const before = m.pfn(0);
        const r = call(ctx, api, m.address, 1, ['write', 'force'], { hold: true, facts: true });
        return holding(ctx, r, () => ({ ret: r.ret, note: r.facts?.[0]?.pfn === before ? 'same page' : 'new page' }));
      }),
    );
  },
};

const forceProtnone: Probe = {
  id: 'force-protnone',
  title: 'FOLL_FORCE reads of PROT_NONE memory, and GUP on guard regions (MADV_GUARD_INSTALL, 6.13+)',
  run: (ctx) => {
    const out: Observation[] = [
      ...perApi(ctx, ALL, 'force-read/', (api) =>
        using(mapAnonymous(PAGE, { thp: 'off', populate: true }), (m) => {
          m.write(0, 0x5a);
          const before = m.pfn(0);
          m.protect('none');
          const r = call(ctx, api, m.address, 1, ['force'], { hold: true, facts: true });
          return holding(ctx, r, (handle) => ({
            ret: r.ret,
            note: `${r.facts?.[0]?.pfn === before ? 'same page' : 'new page'}, ${ctx.dev.readPinned(handle, 0)[0] === 0x5a ? 'data read' : 'other data'}`,
          }));
        }),
      ),
    ];
    // Guard regions: a kernel without them answers EINVAL to the madvise,
    // which is itself the (judged) answer there.
    for (const [mode, flags] of [
      ['guard', []],
      ['guard-force', ['force']],
    ] as [string, FlagName[]][]) {
      out.push(
        ...perApi(ctx, ALL, `${mode}/`, (api) =>
          using(mapAnonymous(2 * PAGE, { thp: 'off', populate: true }), (m): Answer => {
            try {
              m.advise('guardInstall', 0, PAGE);
            } catch (err) {
              return { note: `no guard regions (madvise: ${(err as NodeJS.ErrnoException).code ?? 'error'})` };
            }
            return { ret: call(ctx, api, m.address, 1, flags).ret };
          }),
        ),
      );
    }
    return out;
  },
};

const FAST = (): ApiName[] => ALL.filter((api) => apiInfo(api).path === 'fast');
const SLOW = (): ApiName[] => FAULTING().filter((api) => apiInfo(api).path !== 'fast');

const nowaitNofault: Probe = {
  id: 'nowait-nofault',
  title:
    'FOLL_NOWAIT and FOLL_NOFAULT (the VM_FAULT_RETRY thread): GUP-fast, unfaulted anonymous memory, a page-cache page dropped with POSIX_FADV_DONTNEED (MADV_RANDOM), a userfaultfd-missing page (does the handler ever see a message?), UFFD_USER_MODE_ONLY',
  run: (ctx) => {
    const unfaulted = (api: ApiName, flags: FlagName[]): Answer =>
      using(mapAnonymous(16 * PAGE, { thp: 'off' }), (m) => {
        const r = call(ctx, api, m.address, 16, flags);
        return { ret: r.ret, note: faulted(m) };
      });
    // FOLL_NOFAULT came in 5.16: where the kernel has no such flag, its
    // cases are not applicable (the module would refuse the name).
    const hasNofault = ctx.dev.info().flags.includes('nofault');
    const nofaultAbsent = (name: string): Observation[] => skipAll(`${name}/*`, `no FOLL_NOFAULT on ${ctx.dev.info().release} (5.16+)`);
    const out: Observation[] = [
      ...perApi(ctx, FAST_ONLY().concat(FAST()), 'nowait-fast/', (api) =>
        using(mapAnonymous(16 * PAGE, { thp: 'off', populate: true }), (m) => ({ ret: call(ctx, api, m.address, 16, ['nowait']).ret })),
      ),
      ...perApi(ctx, SLOW(), 'nowait-unfaulted/', (api) => unfaulted(api, ['nowait'])),
      ...(hasNofault ? perApi(ctx, ALL, 'nofault-unfaulted/', (api) => unfaulted(api, ['nofault'])) : nofaultAbsent('nofault-unfaulted')),
    ];
    // A file page dropped from the page cache (fdatasync, POSIX_FADV_DONTNEED,
    // checked empty with mincore()), then asked for unfaulted: the fault must
    // read it from disk. tmpfs pages cannot be dropped: ext4 or xfs only.
    // The mapping is MADV_RANDOM: with fault read-ahead the FOLL_NOWAIT
    // answer is a race between the read and filemap_fault()'s folio_trylock()
    // (0 or 16 pages, both seen in one boot under TCG), not a kernel answer.
    const disk = ctx.mounts.find((mount) => (mount.fs === 'ext4' || mount.fs === 'xfs') && !mount.dax);
    const dropped = (api: ApiName, flags: FlagName[]): Outcome => {
      if (!disk) return { skip: 'no ext4 or xfs mount (--fs ext4): a tmpfs page cannot be dropped' };
      const path = `${disk.path}/dropped-${process.pid}-${fileSeq++}`;
      using(mapFile(path, 16 * PAGE, { create: true, populate: true }), (f) => f.write(0, 0x44, 16 * PAGE));
      const resident = addon().dropCache(path);
      if (resident) return { skip: `${resident} of 16 pages stayed in the page cache after POSIX_FADV_DONTNEED` };
      return using(mapFile(path, 16 * PAGE), (m) => {
        m.advise('random');
        const r = call(ctx, api, m.address, 16, flags);
        return { ret: r.ret, note: faulted(m) };
      });
    };
    out.push(...perApi(ctx, SLOW(), 'nowait-dropped-random/', (api) => dropped(api, ['nowait'])));
    out.push(...(hasNofault ? perApi(ctx, ALL, 'nofault-dropped-random/', (api) => dropped(api, ['nofault'])) : nofaultAbsent('nofault-dropped-random')));
    // userfaultfd-missing pages, one per case, no page ever resolved: a
    // handler that counted a fault would have been sent a message.
    for (const [mode, flags, apis, userModeOnly] of [
      ['nowait-uffd', ['nowait'], SLOW(), false],
      ['nofault-uffd', ['nofault'], FAULTING(), false],
      ['uffd-user-mode-only', [], SLOW(), true],
    ] as [string, FlagName[], ApiName[], boolean][]) {
      if (flags.includes('nofault') && !hasNofault) {
        out.push(...nofaultAbsent(mode));
        continue;
      }
      const m = mapAnonymous(apis.length * PAGE, { thp: 'off' });
      let handler;
      try {
        handler = new (addon().FaultHandler)(m.address, m.length, 0x5a, userModeOnly);
      } catch (err) {
        m.close();
        out.push(...skipAll(`${mode}/*`, `userfaultfd unavailable: ${(err as Error).message}`));
        continue;
      }
      try {
        let page = 0;
        out.push(
          ...perApi(ctx, apis, `${mode}/`, (api) => {
            const before = handler.faults;
            const r = call(ctx, api, m.address + BigInt(page++ * PAGE), 1, flags);
            return { ret: r.ret, note: handler.faults === before ? 'no message to the handler' : 'the handler resolved it' };
          }),
        );
      } finally {
        handler.stop();
        m.close();
      }
    }
    return out;
  },
};

const KSM = '/sys/kernel/mm/ksm';

/** Two identical private pages merged by ksmd (polled through pagemap, which takes no reference), or why not. */
function mergedPair(): Mapping | string {
  const m = mapAnonymous(2 * PAGE, { thp: 'off', populate: true });
  m.write(0, 0x4b, PAGE);
  m.write(PAGE, 0x4b, PAGE);
  m.advise('mergeable');
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const a = m.pfn(0);
    if (a !== 0n && a === m.pfn(PAGE)) return m;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  m.close();
  return 'ksmd did not merge two identical pages within 20 s';
}

const ksm: Probe = {
  id: 'ksm',
  title: 'a KSM-merged page under a read-only FOLL_PIN and a FOLL_GET',
  run: (ctx) => {
    if (!existsSync(`${KSM}/run`)) return skipAll('*', 'no KSM in this kernel (CONFIG_KSM)');
    // ksmd made fast for the probe (scan everything, no sleep), then put back.
    // smart_scan (5e924ff54d08, 6.7; on by default) skips pages that did not merge for a
    // growing number of scans: with it on, 6.12's ksmd merged the first two
    // pairs only, and each later case waited out its 20 s and skipped (7.3
    // merged all six). Off for the probe, where the kernel has it.
    const knobs = ['run', 'pages_to_scan', 'sleep_millisecs', ...(existsSync(`${KSM}/smart_scan`) ? ['smart_scan'] : [])];
    const saved = knobs.map((k) => readFileSync(`${KSM}/${k}`, 'utf8').trim());
    try {
      writeFileSync(`${KSM}/pages_to_scan`, '10000');
      writeFileSync(`${KSM}/sleep_millisecs`, '1');
      if (knobs.includes('smart_scan')) writeFileSync(`${KSM}/smart_scan`, '0');
      writeFileSync(`${KSM}/run`, '1');
    } catch (err) {
      return skipAll('*', `cannot start ksmd: ${(err as Error).message}`);
    }
    try {
      const each = (api: ApiName): Outcome => {
        const m = mergedPair();
        if (typeof m === 'string') return { skip: m };
        return using(m, () => {
          const merged = m.pfn(0);
          const r = call(ctx, api, m.address, 1, [], { hold: true, facts: true });
          return holding(ctx, r, () => {
            const f = r.facts?.[0];
            const what =
              f?.pfn === merged
                ? f.kinds.includes('ksm')
                  ? 'the KSM page'
                  : 'the merged page, not KSM?'
                : f?.kinds.includes('anon')
                  ? 'an anon copy'
                  : 'another page';
            return { ret: r.ret, note: `${what}; the twin ${m.pfn(PAGE) === merged ? 'still merged' : 'unmerged'}` };
          });
        });
      };
      return [...perApi(ctx, PIN_FAULTING(), 'pin-ro/', each), ...perApi(ctx, ['get_user_pages_fast', 'get_user_pages'], 'get/', each)];
    } finally {
      knobs.forEach((k, i) => {
        try {
          writeFileSync(`${KSM}/${k}`, saved[i] ?? '');
        } catch {
          // best effort
        }
      });
    }
  },
};

/** The VmFlags line of the smaps entry starting at `address`. */
function vmFlags(address: bigint): string[] {
  const smaps = readFileSync('/proc/self/smaps', 'utf8');
  const start = address.toString(16);
  const entry = smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/).find((e) => e.startsWith(`${start}-`));
  return (
    /^VmFlags:(.*)$/m
      .exec(entry ?? '')?.[1]
      ?.trim()
      .split(/\s+/) ?? []
  );
}

const pfnmap: Probe = {
  id: 'pfnmap',
  title: "GUP on a VM_IO | VM_PFNMAP mapping (the module's own pages through remap_pfn_range): every API, plain, write, FOLL_FORCE, FOLL_LONGTERM",
  run: (ctx) => {
    // The setup itself, checked before any case: a mapping that is not
    // VM_IO | VM_PFNMAP would answer a different question.
    const flags = using(mapDevice(1), (m) => vmFlags(m.address));
    if (!flags.includes('io') || !flags.includes('pf'))
      return skipAll('*', `the device mapping is not VM_IO | VM_PFNMAP (VmFlags: ${flags.join(' ') || 'none found'})`);
    const each = (api: ApiName, flagSet: FlagName[]): Answer =>
      using(mapDevice(4), (m) => {
        for (let i = 0; i < 4; i++) m.write(i * PAGE, 0x70 + i);
        const r = call(ctx, api, m.address, 4, flagSet, { hold: true, facts: true });
        // A page taken from a PFN map would be a finding: say what it was.
        return holding(ctx, r, () => ({ ret: r.ret, note: `took ${r.facts?.[0]?.kinds.join('+') || 'a page of no kind'}` }));
      });
    const sets: [string, FlagName[], readonly ApiName[]][] = [
      ['read', [], ALL],
      ['write', ['write'], ALL],
      ['force', ['force'], ALL],
      ['write-force', ['write', 'force'], ALL],
      ['longterm', ['longterm'], PINNING()],
      ['write-longterm', ['write', 'longterm'], PINNING()],
    ];
    return sets.flatMap(([name, flagSet, apis]) => perApi(ctx, apis, `${name}/`, (api) => each(api, flagSet)));
  },
};

/**
 * The CMA areas reserved at boot, as pfn ranges, from the kernel log
 * (mm/cma.c: "cma: Reserved N MiB at 0x..." on 6.1 and 7.3, "... on node N"
 * on 6.12). A module cannot read a page's migratetype
 * (get_pfnblock_flags_mask() is not exported), so where a page sits is
 * told by its pfn.
 */
function cmaAreas(): { from: bigint; to: bigint }[] {
  const fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  const areas: { from: bigint; to: bigint }[] = [];
  const buf = Buffer.alloc(8192);
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') break;
        if (code === 'EPIPE') continue; // records overwritten while reading
        throw err;
      }
      const m = /cma: Reserved (\d+) MiB at (0x[0-9a-f]+)/.exec(buf.toString('utf8', 0, n));
      if (m) {
        const from = BigInt(m[2]!) / BigInt(PAGE);
        areas.push({ from, to: from + (BigInt(m[1]!) << 20n) / BigInt(PAGE) });
      }
    }
  } finally {
    closeSync(fd);
  }
  return areas;
}

function cmaTotalKb(): number {
  return Number(/^CmaTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
}

const cmaLongterm: Probe = {
  id: 'cma-longterm',
  title: 'FOLL_LONGTERM on a THP and on a hugetlb page in CMA (outside ZONE_MOVABLE): migrated, refused, or -EFAULT with a WARN',
  run: (ctx) => {
    if (cmaTotalKb() === 0) {
      return skipAll(
        '*',
        `no CMA memory on ${ctx.dev.info().release}: it needs CONFIG_CMA (Debian's amd64 6.1 and 6.12 have none) and a CMA area (amd64 7.x has none by default): --append cma=1400M --mem 2560 --hugepages 16`,
      );
    }
    const areas = cmaAreas();
    if (areas.length === 0) return skipAll('*', 'no "cma: Reserved N MiB at ADDR" line in the kernel log to place the CMA area');
    const inCma = (pfn: bigint): boolean => areas.some((a) => pfn >= a.from && pfn < a.to);
    // The page allocator serves movable memory from CMA first only while CMA
    // holds more than half of a zone's free pages (__rmqueue()); with a
    // small area (arm64's default 64 MiB) no THP lands there.
    const hint =
      'boot with a CMA area larger than half the free memory, e.g. guplab check --vm --only cma-longterm --mem 3072 --hugepages 16 --append cma=1800M';
    const pinned = (api: ApiName, m: Mapping, base: number, fill: number): Answer => {
      for (let i = 0; i < 16; i++) m.write(base + i * PAGE, fill + i);
      const before = m.pfn(base);
      const r = call(ctx, api, m.address + BigInt(base), 16, ['longterm'], { hold: true, facts: true });
      return holding(ctx, r, (handle) => {
        const pfn = r.facts?.[0]?.pfn ?? 0n;
        const where = pfn === before ? 'stayed' : inCma(pfn) ? 'moved within CMA' : 'migrated';
        const intact = Array.from({ length: 16 }, (_, i) => i).every(
          (i) => m.read(base + i * PAGE)[0] === fill + i && ctx.dev.readPinned(handle, i)[0] === fill + i,
        );
        return { ret: r.ret, note: `${where}, data ${intact ? 'intact' : 'LOST'}` };
      });
    };
    const thp = (api: ApiName): Outcome => {
      const misses: Mapping[] = [];
      try {
        // Keeps the THPs that missed CMA mapped, so the next ones come from elsewhere.
        for (let attempt = 0; attempt < 24; attempt++) {
          const m = mapAnonymous(HUGE, { thp: 'on', populate: true });
          const f = ctx.dev.pin('get_user_pages_fast', m.address, 1, { facts: true }).facts?.[0];
          if (f?.folioOrder === 9 && inCma(f.pfn) && !f.zoneMovable) return using(m, () => pinned(api, m, 0, 0xb0));
          misses.push(m);
        }
        return { skip: `no THP in CMA in 24 tries: ${hint}` };
      } finally {
        for (const m of misses) m.close();
      }
    };
    const hugetlb = (api: ApiName): Outcome => {
      const free = Math.min(hugetlbPools().get(HUGE)?.free ?? 0, 8);
      if (free < 2) return { skip: 'fewer than 2 free 2M huge pages (--hugepages N)' };
      return using(mapMemfd(free * HUGE, { hugetlb: '2M', populate: true }), (m): Outcome => {
        const k = Array.from({ length: free }, (_, i) => i).find((i) => {
          const f = ctx.dev.pin('get_user_pages_fast', m.address + BigInt(i * HUGE), 1, { facts: true }).facts?.[0];
          return f !== undefined && inCma(f.pfn) && !f.zoneMovable;
        });
        if (k === undefined) return { skip: `none of ${free} free huge pages in CMA: ${hint}` };
        return pinned(api, m, k * HUGE, 0xc0);
      });
    };
    const apis = PINNING().filter((a) => apiInfo(a).path !== 'fast_only');
    return [...perApi(ctx, apis, 'thp/', thp), ...perApi(ctx, apis, 'hugetlb/', hugetlb)];
  },
};

/** What the holder of a pin reads of its first page through ACCESS: the byte, or the errno code the module refuses with. */
function holderReads(ctx: ProbeContext, handle: number): string {
  try {
    return `0x${ctx.dev.readPinned(handle, 0)[0]?.toString(16)}`;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** A hardware-poisoned page: a pin taken before, then every faulting API and hmm_range_fault on it. */
const hwpoison: Probe = {
  id: 'hwpoison',
  title:
    'a hardware-poisoned page (MADV_HWPOISON -> memory_failure()): a pin taken before, then each faulting API with and without FOLL_HWPOISON, and hmm_range_fault',
  run: (ctx) => {
    // The poisoned page is out of service until reboot: never on a machine guplab did not boot.
    if (guestEnv().inVm !== true) return skipAll('hwpoison', 'MADV_HWPOISON takes a page out of service until reboot: run it in a guplab VM (check --vm)');
    return using(mapAnonymous(PAGE, { thp: 'off', populate: true }), (m) => {
      m.write(0, 0x41);
      const before = ctx.dev.pin('pin_user_pages_fast', m.address, 1, { flags: ['write'], hold: true });
      const out: Observation[] = [];
      try {
        const p = m.poison();
        const poisoned = `madvise ${p.errno || 'ok'}; ${p.sigbus ? `SIGBUS ${p.code}` : 'no SIGBUS'}`;
        out.push({ case: 'pinned-before', answer: { ret: before.ret, note: `${poisoned}; holder reads ${holderReads(ctx, before.handle ?? 0)}` } });
      } finally {
        if (before.handle) ctx.dev.release(before.handle);
      }
      // The process never touches the page again: its access would be a SIGBUS.
      const hasFlag = ctx.dev.info().flags.includes('hwpoison');
      for (const api of FAULTING()) {
        out.push(...perApi(ctx, [api], '', (a) => ({ ret: call(ctx, a, m.address, 1, []).ret })));
        out.push(
          ...perApi(ctx, [api], 'hwpoison/', (a) =>
            !hasFlag
              ? { skip: 'this kernel has no FOLL_HWPOISON' }
              : ctx.dev.warns(a, ['hwpoison'])
                ? { skip: `${a} answers FOLL_HWPOISON through WARN_ON_ONCE (INFO warn flags)` }
                : { ret: call(ctx, a, m.address, 1, ['hwpoison']).ret },
          ),
        );
      }
      let mirrored: Answer;
      try {
        const mirror = ctx.dev.mirror(m.address, 1);
        ctx.dev.release(mirror.handle);
        mirrored = { note: 'mirrored' };
      } catch (err) {
        mirrored = { note: (err as NodeJS.ErrnoException).code ?? String(err) };
      }
      out.push({ case: 'hmm_range_fault', answer: mirrored });
      return out;
    });
  },
};

/**
 * The four ways kernel code holds user memory, each on its own page and
 * under the same events: direct I/O (FOLL_PIN), RDMA (FOLL_PIN |
 * FOLL_LONGTERM), an ODP mirror (no reference: hmm_range_fault() and an
 * mmu_interval_notifier) and a plain FOLL_GET reference. Each answer says
 * what the process sees afterwards against what the holder reads through
 * ACCESS (coherent or stale), and for the mirror the first invalidation
 * reason it got (or every reason, for the events from msync on).
 */
const MODELS = ['dio', 'rdma', 'odp', 'ref'] as const;
type Model = (typeof MODELS)[number];

interface ModelHold {
  handle: number;
  /** The holder's view of byte 0 (ACCESS), or the errno that refused it. */
  read(): string;
  /** Writes byte 0 through the holder; '' or the errno that refused it. */
  write(value: number): string;
  firstEvent(): string;
  /** The mirror's invalidation reasons, each once, in the order they came ('' for the other models). */
  events(): string;
}

function holdModel(ctx: ProbeContext, model: Model, m: Mapping): ModelHold {
  const held = tryHoldModel(ctx, model, m);
  if (typeof held === 'number') throw new Error(`${model}: the hold answered ${held}`);
  return held;
}

/** The model's hold on page 0 of `m`, or the GUP return value that refused it. */
function tryHoldModel(ctx: ProbeContext, model: Model, m: Mapping): ModelHold | number {
  let handle: number;
  if (model === 'odp') {
    handle = ctx.dev.mirror(m.address, 1, { write: true }).handle;
  } else {
    const api: ApiName = model === 'ref' ? 'get_user_pages_fast' : 'pin_user_pages_fast';
    const flags: FlagName[] = model === 'rdma' ? ['write', 'longterm'] : ['write'];
    const r = ctx.dev.pin(api, m.address, 1, { flags, hold: true });
    if (r.ret !== 1 || !r.handle) {
      if (r.handle) ctx.dev.release(r.handle);
      return r.ret;
    }
    handle = r.handle;
  }
  const errno = (f: () => void): string => {
    try {
      f();
      return '';
    } catch (err) {
      return (err as NodeJS.ErrnoException).code ?? String(err);
    }
  };
  return {
    handle,
    read: () => {
      let byte = 0;
      const e = errno(() => (byte = ctx.dev.readPinned(handle, 0)[0] ?? 0));
      return e || `0x${byte.toString(16)}`;
    },
    write: (value) => errno(() => ctx.dev.writePinned(handle, 0, 0, Uint8Array.of(value))),
    firstEvent: () => (model === 'odp' ? (ctx.dev.mirrorState(handle).log[0]?.event ?? 'none') : ''),
    events: () => (model === 'odp' ? [...new Set(ctx.dev.mirrorState(handle).log.map((e) => e.event))].join(', ') || 'none' : ''),
  };
}

/** One event under one model: the note says what the process and the holder see afterwards. */
function modelCase(ctx: ProbeContext, model: Model, event: string): Answer {
  const file = event === 'truncate' ? `${ctx.tmpfs}/models-${process.pid}-${fileSeq++}` : '';
  const m = file ? mapFile(file, PAGE, { create: true }) : mapAnonymous(PAGE, { thp: 'off', populate: true });
  let unmapped = false;
  try {
    m.write(0, 0x41);
    const held = holdModel(ctx, model, m);
    try {
      const parts: string[] = [];
      switch (event) {
        case 'munmap':
          m.close();
          unmapped = true;
          parts.push(`holder reads ${held.read()}`);
          break;
        case 'dontneed':
          m.advise('dontneed');
          parts.push(`process reads 0x${m.read(0)[0]?.toString(16)}`, `holder reads ${held.read()}`);
          break;
        case 'mprotect': {
          m.protect('r');
          const refused = held.write(0x43);
          parts.push(refused ? `holder write refused ${refused}` : `holder write ${m.read(0)[0] === 0x43 ? 'reaches' : 'misses'} the process`);
          parts.push(`holder reads ${held.read()}`);
          break;
        }
        case 'fork-write':
          m.forkRun([{ op: 'read', offset: 0 }]);
          m.write(0, 0x42);
          parts.push(`process reads 0x${m.read(0)[0]?.toString(16)}`, `holder reads ${held.read()}`);
          break;
        case 'truncate':
          truncateSync(file, 0);
          truncateSync(file, PAGE);
          parts.push(`process reads 0x${m.read(0)[0]?.toString(16)}`, `holder reads ${held.read()}`);
          break;
        default:
          throw new Error(`unknown event ${event}`);
      }
      const first = held.firstEvent();
      if (first) parts.push(`first invalidation ${first}`);
      return { note: parts.join('; ') };
    } finally {
      ctx.dev.release(held.handle);
    }
  } finally {
    if (!unmapped) m.close();
    if (file) rmSync(file, { force: true });
  }
}

const MODEL_EVENTS = ['munmap', 'dontneed', 'mprotect', 'fork-write', 'truncate'] as const;
/** Events that need more than a page of anonymous memory, and may skip. */
const MODEL_EVENTS_MM = ['msync', 'pageout', 'thp-split', 'migrate'] as const;
type ModelEventMm = (typeof MODEL_EVENTS_MM)[number];

const SPLIT_HUGE_PAGES = '/sys/kernel/debug/split_huge_pages';

/** What the process and the holder read, and the mirror's invalidations, as the first cases note them. */
function readBoth(m: Mapping, held: ModelHold): string[] {
  const parts = [`process reads 0x${m.read(0)[0]?.toString(16)}`, `holder reads ${held.read()}`];
  const events = held.events();
  if (events) parts.push(`invalidations ${events}`);
  return parts;
}

/**
 * Where each model's hold and the memory's data end up under writeback,
 * reclaim, a THP split and NUMA migration. The setup skips when the guest
 * lacks what the event needs (an ext4 disk, a THP, debugfs, a second node).
 */
function modelCaseMm(ctx: ProbeContext, model: Model, event: ModelEventMm): Outcome {
  switch (event) {
    case 'msync':
    case 'pageout': {
      const disk = ctx.mounts.find((mount) => mount.fs === 'ext4' && !mount.dax);
      if (!disk) return { skip: 'no ext4 mount (check --vm mounts one; vm --fs ext4)' };
      const file = `${disk.path}/models-${process.pid}-${fileSeq++}`;
      try {
        return using(mapFile(file, PAGE, { create: true }), (m): Outcome => {
          // A clean page of 0x41 on disk before the hold.
          m.write(0, 0x41);
          m.sync();
          const held = tryHoldModel(ctx, model, m);
          if (typeof held === 'number') return { note: `hold refused ${held}` };
          try {
            // The process dirties the page, msync(MS_SYNC) writes it back: folio_mkclean().
            if (event === 'msync') m.write(0, 0x42);
            m.sync();
            if (event === 'msync') return { note: readBoth(m, held).join('; ') };
            m.advise('pageout');
            const mapped = m.pfn(0) !== 0n ? 'process still maps it' : 'process pte gone';
            const cached = m.resident(0, PAGE) === 1 ? 'page cache keeps it' : 'page reclaimed';
            return { note: [mapped, cached, ...readBoth(m, held)].join('; ') };
          } finally {
            ctx.dev.release(held.handle);
          }
        });
      } finally {
        rmSync(file, { force: true });
      }
    }
    case 'thp-split': {
      if (!existsSync(SPLIT_HUGE_PAGES) && guestEnv().inVm === true) {
        try {
          execFileSync('mount', ['-t', 'debugfs', 'debugfs', '/sys/kernel/debug'], { stdio: 'ignore' });
        } catch {
          // existsSync below says why
        }
      }
      if (!existsSync(SPLIT_HUGE_PAGES)) return { skip: `no ${SPLIT_HUGE_PAGES} (debugfs, CONFIG_TRANSPARENT_HUGEPAGE)` };
      return using(mapAnonymous(HUGE, { thp: 'on', populate: true }), (m): Outcome => {
        const order = (): number | undefined => ctx.dev.pin('get_user_pages_fast', m.address, 1, { facts: true }).facts?.[0]?.folioOrder;
        if (order() !== 9) return { skip: 'no THP for the range (transparent_hugepage, memory)' };
        m.write(0, 0x41);
        const held = holdModel(ctx, model, m);
        try {
          // split_huge_pages_pid(): can_split_folio() then split_folio() of each THP in the range.
          try {
            writeFileSync(SPLIT_HUGE_PAGES, `${process.pid},0x${m.address.toString(16)},0x${(m.address + BigInt(HUGE)).toString(16)}`);
          } catch (err) {
            return { skip: `${SPLIT_HUGE_PAGES} refused a pid range: ${(err as NodeJS.ErrnoException).code} (5.13+)` };
          }
          return { note: [`folio order ${order()}`, ...readBoth(m, held)].join('; ') };
        } finally {
          ctx.dev.release(held.handle);
        }
      });
    }
    case 'migrate': {
      const online = (() => {
        try {
          return readFileSync('/sys/devices/system/node/online', 'utf8').trim();
        } catch {
          return '0';
        }
      })();
      if (!/[-,]/.test(online))
        return { skip: `one NUMA node (${online}): boot a two-node guest (guplab vm run --numa 2 --fs ext4 -- node bin/guplab.js check --only models)` };
      return using(mapAnonymous(PAGE, { thp: 'off', populate: true }), (m): Outcome => {
        m.write(0, 0x41);
        const held = holdModel(ctx, model, m);
        try {
          const from = m.movePage(0).status;
          const nodes = online.split(',').flatMap((r) => {
            const [a, b = a] = r.split('-').map(Number);
            return Array.from({ length: b! - a! + 1 }, (_, i) => a! + i);
          });
          const to = nodes.find((n) => n !== from);
          if (from < 0 || to === undefined) return { skip: `move_pages finds the page on ${from} of nodes ${online}` };
          const r = m.movePage(0, to);
          const after = m.movePage(0).status;
          const moved = after === to ? 'moved' : after === from ? 'stayed' : `status ${after}`;
          return { note: [`move_pages ${r.errno || r.ret}; ${moved}`, ...readBoth(m, held)].join('; ') };
        } finally {
          ctx.dev.release(held.handle);
        }
      });
    }
  }
}

const models: Probe = {
  id: 'models',
  title:
    'the four ways a driver holds user memory (DIO pin, RDMA long-term pin, ODP mirror, FOLL_GET reference) under munmap, MADV_DONTNEED, mprotect, fork + write, truncate of a tmpfs file, msync of an ext4 file, MADV_PAGEOUT after writeback, a THP split (debugfs split_huge_pages) and move_pages to another NUMA node',
  run: (ctx) => [
    ...MODEL_EVENTS.flatMap((event) => MODELS.map((model): Observation => ({ case: `${event}/${model}`, answer: modelCase(ctx, model, event) }))),
    ...MODEL_EVENTS_MM.flatMap((event) => MODELS.map((model) => observe(`${event}/${model}`, modelCaseMm(ctx, model, event)))),
  ],
};

// ------------------------------------------------------- pageout-pinned

/** KPF_SWAPCACHE (include/uapi/linux/kernel-page-flags.h): the page is in the swap cache. */
const KPF_SWAPCACHE = 13n;

/** A /proc/kpageflags word of a pfn (root only); undefined when it cannot be read. */
function kpageflags(pfn: bigint): bigint | undefined {
  let fd: number;
  try {
    fd = openSync('/proc/kpageflags', 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(8);
    return readSync(fd, buf, 0, 8, pfn * 8n) === 8 ? buf.readBigUInt64LE(0) : undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * What /proc/self/pagemap says of the page at `address`
 * (Documentation/admin-guide/mm/pagemap.rst: bit 63 present, 62 swapped,
 * 0-54 the pfn, or the swap type and offset): 'swap entry' when the pte
 * holds one, else present or not.
 */
function pteState(address: bigint): { present: boolean; swapped: boolean } {
  const fd = openSync('/proc/self/pagemap', 'r');
  try {
    const buf = Buffer.alloc(8);
    if (readSync(fd, buf, 0, 8, (address / BigInt(PAGE)) * 8n) !== 8) throw new Error(`/proc/self/pagemap has no entry for 0x${address.toString(16)}`);
    const entry = buf.readBigUInt64LE(0);
    return { present: ((entry >> 63n) & 1n) === 1n, swapped: ((entry >> 62n) & 1n) === 1n };
  } finally {
    closeSync(fd);
  }
}

/** The active swap areas, from /proc/swaps (its first line is a header). */
function activeSwaps(): string[] {
  try {
    return readFileSync('/proc/swaps', 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[0] ?? '')
      .filter(Boolean);
  } catch {
    return [];
  }
}

/** Size of the swapfile the probe makes in a guest: room for far more than the pages it pages out. */
const PROBE_SWAP_MIB = 16;
/** Where a guest's mkswap and swapon are (the guest root is the host's Debian, whose PATH may lack sbin). */
const SBIN_PATH = `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`;

/**
 * Swap for MADV_PAGEOUT of anonymous memory. The system's when it has
 * some; else, in a guplab VM only, a swapfile on the guest's ext4 disk
 * (written out in full, mkswap, swapon), turned off and removed by the
 * returned teardown. A string says why there is none.
 */
function probeSwap(ctx: ProbeContext): { teardown: () => void } | string {
  if (activeSwaps().length) return { teardown: () => undefined };
  const howTo = `guplab check --vm makes a ${PROBE_SWAP_MIB} MiB swapfile on its ext4 disk; elsewhere swapon a swap device or file`;
  if (guestEnv().inVm !== true) return `no swap (/proc/swaps lists none): MADV_PAGEOUT of anonymous memory needs swap: ${howTo}`;
  const disk = ctx.mounts.find((mount) => mount.fs === 'ext4' && !mount.dax);
  if (!disk) return `no swap, and no ext4 mount for a swapfile (guplab vm run --fs ext4): ${howTo}`;
  const file = `${disk.path}/guplab-swap-${process.pid}`;
  const run = (cmd: string, args: string[]): void => {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PATH: SBIN_PATH } });
  };
  try {
    // Written in full and synced: swapon refuses a file with holes.
    const fd = openSync(file, 'w', 0o600);
    try {
      const chunk = Buffer.alloc(1 << 20);
      for (let i = 0; i < PROBE_SWAP_MIB; i++) writeSync(fd, chunk);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    run('mkswap', [file]);
    run('swapon', [file]);
  } catch (err) {
    rmSync(file, { force: true });
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    return `no swap: a swapfile on ${disk.path} could not be turned on (${e.stderr?.toString().trim() || e.code || e.message}): ${howTo}`;
  }
  return {
    teardown: () => {
      try {
        run('swapoff', [file]);
      } finally {
        rmSync(file, { force: true });
      }
    },
  };
}

/**
 * Puts the page at offset 0 on an LRU list if it is still in a per-CPU
 * batch: madvise_cold_or_pageout_pte_range() skips a page without PG_lru,
 * and madvise_pageout()'s lru_add_drain() drains this CPU's batch only.
 * move_pages() to the page's own node drains every CPU's (lru_cache_disable(),
 * 5.13+; migrate_prep() before) and moves nothing. Undefined when the page
 * is on the LRU, else why not.
 */
function onLruForPageout(m: Mapping): string | undefined {
  const lru = onLru(m, 1);
  if (!lru) return 'PG_lru cannot be read (pagemap pfns and /proc/kpageflags need root): MADV_PAGEOUT skips a page off the LRU';
  if (lru[0]) return undefined;
  const node = m.movePage(0).status;
  const moved = m.movePage(0, node >= 0 ? node : 0);
  if (moved.ret < 0 && moved.errno === 'ENOSYS') return 'the page is in a per-CPU LRU batch and there is no move_pages (a kernel without NUMA) to drain it';
  return onLru(m, 1)?.[0] ? undefined : 'move_pages did not drain the per-CPU LRU batch: the page stayed off the LRU';
}

/** The pte's state after MADV_PAGEOUT, against the page a holder holds (when one does). */
function pageoutState(m: Mapping, held?: bigint): string {
  const pte = pteState(m.address);
  const where = pte.swapped ? 'swap entry' : !pte.present ? 'unmapped' : held === undefined || m.pfn(0) === held ? 'mapped' : 'mapped to another page';
  if (held === undefined) return where;
  const flags = kpageflags(held);
  if (flags === undefined) return `${where}, swap cache unknown`;
  return `${where}, ${((flags >> KPF_SWAPCACHE) & 1n) === 1n ? 'in' : 'not in'} swap cache`;
}

/**
 * One anonymous page (THP off), written 0x41, held by `api` with `flags`,
 * put on the LRU, then MADV_PAGEOUT. The note says where the pte went and
 * whether the held page is in the swap cache; then the process reads the
 * page (a read fault if it was unmapped) and writes 0x42: is it still the
 * held page after each, and does the holder read the write (ACCESS)?
 */
function pageoutHeld(ctx: ProbeContext, api: ApiName, flags: FlagName[]): Outcome {
  return using(mapAnonymous(PAGE, { thp: 'off', populate: true }), (m): Outcome => {
    m.write(0, 0x41);
    const r = call(ctx, api, m.address, 1, flags, { hold: true, facts: true });
    if (r.ret !== 1 || !r.handle) {
      if (r.handle) ctx.dev.release(r.handle);
      return { ret: r.ret };
    }
    try {
      const held = r.facts?.[0]?.pfn ?? 0n;
      if (held === 0n || m.pfn(0) !== held)
        return {
          skip: `the process does not map the held page before MADV_PAGEOUT (pagemap pfn 0x${m.pfn(0).toString(16)}, held 0x${held.toString(16)}; not root?)`,
        };
      const why = onLruForPageout(m);
      if (why) return { skip: why };
      m.advise('pageout');
      const state = pageoutState(m, held);
      const read = m.read(0)[0];
      const afterRead = m.pfn(0) === held ? 'same page' : 'another page';
      m.write(0, 0x42);
      const afterWrite = m.pfn(0) === held ? 'same page' : 'another page';
      const holder = ctx.dev.readPinned(r.handle, 0)[0];
      const seen = holder === 0x42 ? 'holder sees the write' : holder === 0x41 ? 'holder stale' : `holder reads 0x${holder?.toString(16)}`;
      return { ret: r.ret, note: `${state}; read: ${afterRead}${read === 0x41 ? '' : ` (reads 0x${read?.toString(16)})`}; write: ${afterWrite}; ${seen}` };
    } finally {
      ctx.dev.release(r.handle);
    }
  });
}

/**
 * A pinned anonymous page under MADV_PAGEOUT (issue 33): FOLL_PIN with
 * FOLL_WRITE, read-only and with FOLL_LONGTERM, and FOLL_GET for contrast,
 * beside an unheld page that shows that reclaim to swap works on this boot.
 * Every state is read (pagemap's swap bit and pfn, /proc/kpageflags),
 * never assumed; without swap every case is a skip that says how to get it.
 */
const pageoutPinned: Probe = {
  id: 'pageout-pinned',
  title:
    'a pinned anonymous page (FOLL_PIN write, read-only and LONGTERM; FOLL_GET for contrast) under MADV_PAGEOUT with swap: skipped or swapped out (pagemap, /proc/kpageflags), then read and written by the process: still the held page, and does the holder see the write; an unheld page is the control',
  run: (ctx) => {
    const swap = probeSwap(ctx);
    if (typeof swap === 'string') return skipAll('*', swap);
    try {
      const control = (): Outcome =>
        using(mapAnonymous(PAGE, { thp: 'off', populate: true }), (m): Outcome => {
          m.write(0, 0x41);
          const why = onLruForPageout(m);
          if (why) return { skip: why };
          m.advise('pageout');
          const state = pageoutState(m);
          return { note: `${state}; process reads 0x${m.read(0)[0]?.toString(16)}` };
        });
      return [
        observe('unpinned', control()),
        ...perApi(ctx, PIN_FAULTING(), 'pin/', (api) => pageoutHeld(ctx, api, ['write'])),
        ...perApi(ctx, ['pin_user_pages_fast', 'pin_user_pages'], 'pin-ro/', (api) => pageoutHeld(ctx, api, [])),
        ...perApi(ctx, ['pin_user_pages_fast', 'pin_user_pages'], 'pin-longterm/', (api) => pageoutHeld(ctx, api, ['write', 'longterm'])),
        ...perApi(ctx, ['get_user_pages_fast', 'get_user_pages'], 'get/', (api) => pageoutHeld(ctx, api, [])),
      ];
    } finally {
      swap.teardown();
    }
  },
};

export const PROBES: readonly Probe[] = [
  partial,
  forceCow,
  daxLongterm,
  longtermVariants,
  movableLongterm,
  writableLongtermShared,
  pinCount,
  cowFork,
  userfaultfd,
  fastOnly,
  secretmem,
  huge,
  cowRoPin,
  writableLongtermFamily,
  addressEdges,
  forceHugetlb,
  forceProtnone,
  nowaitNofault,
  ksm,
  pfnmap,
  cmaLongterm,
  models,
  pageoutPinned,
  hwpoison,
];
