// The semantics probes: each sets up memory, makes GUP calls through the
// module and formats what the kernel answered. What the answer should be
// lives in expectations.ts, as data.
import { readFileSync } from 'node:fs';
import { isRemoteApi, type ApiName, type FlagName } from '../abi.js';
import type { GupDevice, PinOptions, PinResult } from '../device.js';
import { errnoName } from '../errors.js';
import { expectKernelWarning, type GuestMount } from '../contract.js';
import { hugetlbPools, mapAnonymous, mapFile, mapMemfd, mapSecret, type Mapping } from '../mapping.js';
import { addon } from '../native.js';
import { pinCounters } from '../vmstat.js';

export interface ProbeContext {
  dev: GupDevice;
  /** Filesystems mounted for the run ($GUPLAB_MOUNTS in the VM). */
  mounts: GuestMount[];
  /** A folder on tmpfs for scratch files. */
  tmpfs: string;
}

/** One case's outcome: the formatted answer, or why it could not run here. */
export interface Observation {
  case: string;
  observed: string;
  skip?: string;
}

export interface Probe {
  id: string;
  title: string;
  run(ctx: ProbeContext): Observation[];
}

const PAGE = 4096;
const HUGE = 2 << 20;
let fileSeq = 0;

/** A GUP return value as the expectations write it: "16", "-EFAULT". */
export function fmt(ret: number): string {
  return ret >= 0 ? String(ret) : `-${errnoName(ret).replace(/^-/, '')}`;
}

/** Calls `api` like a kernel caller would, declaring a WARN the kernel is known to give. */
function call(ctx: ProbeContext, api: ApiName, address: bigint, nrPages: number, flags: FlagName[], options: PinOptions = {}): PinResult {
  if (ctx.dev.warns(api, flags)) expectKernelWarning('at mm/gup.c', `guplab check: ${api} with ${flags.join('|')}`);
  return ctx.dev.pin(api, address, nrPages, { ...options, flags, ...(isRemoteApi(api) ? { pid: process.pid } : {}) });
}

/** Runs `each` for every API in `apis`, or records it as absent on this kernel. */
function perApi(ctx: ProbeContext, apis: readonly ApiName[], prefix: string, each: (api: ApiName) => string): Observation[] {
  const exported = ctx.dev.info().apis;
  return apis.map((api) =>
    exported.includes(api)
      ? { case: `${prefix}${api}`, observed: each(api) }
      : { case: `${prefix}${api}`, observed: 'n/a', skip: `${api} is not exported by this kernel` },
  );
}

function using<T>(m: Mapping, body: (m: Mapping) => T): T {
  try {
    return body(m);
  } finally {
    m.close();
  }
}

/** Releases a held set after `body`, whatever happens. */
function holding<T>(ctx: ProbeContext, r: PinResult, body: (handle: number) => T): T | string {
  if (r.ret <= 0 || !r.handle) return fmt(r.ret);
  try {
    return body(r.handle);
  } finally {
    ctx.dev.release(r.handle);
  }
}

const ALL: readonly ApiName[] = [
  'get_user_pages_fast',
  'pin_user_pages_fast',
  'get_user_pages_unlocked',
  'pin_user_pages_unlocked',
  'get_user_pages',
  'pin_user_pages',
  'get_user_pages_remote',
  'pin_user_pages_remote',
  'get_user_pages_fast_only',
  'pin_user_pages_fast_only',
];
const FAULTING = ALL.filter((api) => !api.endsWith('_fast_only'));
const PINNING = ALL.filter((api) => api.startsWith('pin_'));
const FAST_ONLY = ALL.filter((api) => api.endsWith('_fast_only'));

function skipAll(name: string, reason: string): Observation[] {
  return [{ case: name, observed: 'n/a', skip: reason }];
}

const partial: Probe = {
  id: 'partial',
  title: 'a range that runs into an unmapped or PROT_NONE page: the mapped prefix, then the error',
  run: (ctx) => [
    ...perApi(ctx, ALL, 'unmapped/', (api) =>
      using(mapAnonymous(8 * PAGE, { populate: true, holeAfter: true }), (m) => {
        const first = call(ctx, api, m.address, 16, []);
        const rest = call(ctx, api, m.address + BigInt(8 * PAGE), 8, []);
        return `${fmt(first.ret)} then ${fmt(rest.ret)}`;
      }),
    ),
    ...perApi(ctx, ALL, 'protnone/', (api) =>
      using(mapAnonymous(16 * PAGE, { populate: true }), (m) => {
        m.protect('none', 8 * PAGE, 8 * PAGE);
        const first = call(ctx, api, m.address, 16, []);
        const rest = call(ctx, api, m.address + BigInt(8 * PAGE), 8, []);
        return `${fmt(first.ret)} then ${fmt(rest.ret)}`;
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
      ...perApi(ctx, FAULTING, 'write-readonly/', (api) =>
        using(mapAnonymous(PAGE, { populate: true }), (m) => {
          m.protect('r');
          return fmt(call(ctx, api, m.address, 1, ['write']).ret);
        }),
      ),
      ...perApi(ctx, FAULTING, 'force-anon/', (api) =>
        using(mapAnonymous(PAGE, { populate: true }), (m) => {
          m.write(0, 0x41);
          m.protect('r');
          const before = m.pfn(0);
          const r = call(ctx, api, m.address, 1, ['write', 'force'], { hold: true, facts: true });
          return holding(ctx, r, () => `${r.ret} ${r.facts?.[0]?.pfn === before ? 'same page' : 'new page'}`);
        }),
      ),
      ...perApi(ctx, FAULTING, 'force-file/', (api) => {
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
            return `${r.ret} ${copy ? 'new anon copy' : 'page cache page'}${sawFileData && mappingSees ? '' : ' (data mismatch)'}, file ${fileIntact ? 'intact' : 'changed'}`;
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
        out.push(...skipAll(`${fs}/*`, `no DAX ${fs} mount: guplab check --vm mounts one on x86_64 (--pmem 128M --dax ${fs}); arm64 guests have no emulated pmem`));
        continue;
      }
      for (const [mode, flags] of [['plain', ['write']], ['longterm', ['write', 'longterm']]] as const) {
        out.push(
          ...perApi(ctx, ALL, `${fs}/${mode}/`, (api) =>
            using(mapFile(`${mount.path}/probe-${process.pid}-${fileSeq++}`, 16 * PAGE, { create: true, populate: true }), (m) =>
              fmt(call(ctx, api, m.address, 16, [...flags]).ret),
            ),
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
      using(mapAnonymous(16 * PAGE, { populate: true }), (m) => fmt(call(ctx, api, m.address, 16, ['longterm']).ret)),
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
          return mount ? mapFile(`${mount.path}/probe-${process.pid}-${fileSeq++}`, 16 * PAGE, { create: true, populate: true }) : `no ${fs} mount (--fs ${fs})`;
        },
      ]),
      ['tmpfs', () => mapFile(`${ctx.tmpfs}/guplab-shared-${process.pid}-${fileSeq++}`, 16 * PAGE, { create: true, populate: true })],
      ['memfd', () => mapMemfd(16 * PAGE, { populate: true })],
      ['hugetlb', () => ((hugetlbPools().get(HUGE)?.free ?? 0) > 0 ? mapMemfd(HUGE, { hugetlb: '2M', populate: true }) : 'no free 2M huge pages (--hugepages N)')],
    ];
    const out: Observation[] = [];
    for (const [name, make] of backings) {
      for (const api of PINNING.filter((a) => !a.endsWith('_fast_only'))) {
        if (!ctx.dev.info().apis.includes(api)) continue;
        const m = make();
        if (typeof m === 'string') {
          out.push({ case: `${name}/${api}`, observed: 'n/a', skip: m });
          continue;
        }
        // Where the pages sit matters too: a LONGTERM pin migrates them out
        // of ZONE_MOVABLE first (boot-time huge pages may be there).
        const movable = name === 'hugetlb' && inMovable(ctx, m);
        out.push({ case: `${name}${movable ? '-in-movable' : ''}/${api}`, observed: using(m, () => fmt(call(ctx, api, m.address, 16, ['write', 'longterm']).ret)) });
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
  title: 'FOLL_LONGTERM on ZONE_MOVABLE memory: migrated out, data intact',
  run: (ctx) => {
    if (!hasMovableZone()) return skipAll('*', 'no ZONE_MOVABLE: boot with movablecore= (guplab check --vm does)');
    const probe = (api: ApiName, flags: FlagName[]): string => {
      const m = movableBuffer(ctx);
      if (!m) return 'n/a (buffer not in ZONE_MOVABLE)';
      return using(m, () => {
        const before = facts16(m);
        const r = call(ctx, api, m.address, 16, flags, { hold: true, facts: true });
        return holding(ctx, r, (handle) => {
          const facts = r.facts ?? [];
          const moved = facts.every((f, i) => f.pfn !== before[i] && !f.zoneMovable);
          const stayed = facts.every((f, i) => f.pfn === before[i] && f.zoneMovable);
          const intact = facts.every((_, i) => m.read(i * PAGE)[0] === 0x60 + i && ctx.dev.readPinned(handle, i)[0] === 0x60 + i);
          const where = moved ? 'migrated' : stayed ? 'stayed' : 'partly migrated';
          return flags.includes('longterm') ? `${r.ret} ${where}, data ${intact ? 'intact' : 'LOST'}` : `${r.ret} ${where}`;
        });
      });
    };
    const hugetlb = (api: ApiName): string => {
      if ((hugetlbPools().get(HUGE)?.free ?? 0) < 1) return 'n/a (no free 2M huge pages)';
      return using(mapMemfd(HUGE, { hugetlb: '2M', populate: true }), (m) => {
        if (!inMovable(ctx, m)) return 'n/a (huge page not in ZONE_MOVABLE)';
        for (let i = 0; i < 16; i++) m.write(i * PAGE, 0x90 + i);
        const before = m.pfn(0);
        const r = call(ctx, api, m.address, 16, ['longterm'], { hold: true, facts: true });
        return holding(ctx, r, (handle) => {
          const where = r.facts?.[0]?.pfn !== before && !r.facts?.[0]?.zoneMovable ? 'migrated' : 'stayed';
          const intact = Array.from({ length: 16 }, (_, i) => i).every((i) => m.read(i * PAGE)[0] === 0x90 + i && ctx.dev.readPinned(handle, i)[0] === 0x90 + i);
          return `${r.ret} ${where}, data ${intact ? 'intact' : 'LOST'}`;
        });
      });
    };
    return [
      ...perApi(ctx, ['pin_user_pages_fast'], 'no-longterm/', (api) => probe(api, [])),
      ...perApi(ctx, PINNING, '', (api) => probe(api, ['longterm'])),
      ...perApi(ctx, ['pin_user_pages_fast', 'pin_user_pages'], 'hugetlb/', hugetlb),
    ];
  },
};

const pinCount: Probe = {
  id: 'pin-count',
  title: 'pin counting: FOLL_PIN bias on small folios, pincount on large ones, counters balance',
  run: (ctx) => {
    const counters = pinCounters();
    const measure = (m: Mapping, api: ApiName, pages: number): { text: string; stable: boolean } => {
      const base = ctx.dev.pin('get_user_pages_fast', m.address, 1, { facts: true }).facts?.[0];
      const r = ctx.dev.pin(api, m.address, pages, { hold: true, facts: true });
      const held = r.facts?.[0];
      if (!base || !held || !r.handle) return { text: fmt(r.ret), stable: true };
      ctx.dev.release(r.handle);
      const after = ctx.dev.pin('get_user_pages_fast', m.address, 1, { facts: true }).facts?.[0];
      // Each facts read sees one extra reference: the reading call's own.
      const delta = held.refcount - (base.refcount - 1);
      const restored = after?.refcount === base.refcount ? 'restored' : 'NOT restored';
      const text = base.folioOrder > 0 ? `+${delta} refs, pincount ${Math.max(held.pincount, 0)}, ${restored}` : `+${delta} refs, ${restored}`;
      return { text, stable: after?.refcount === base.refcount };
    };
    // A page just faulted in sits in a per-CPU LRU batch that holds a
    // reference of its own until drained (seen once in CI on 6.1 arm64:
    // "+0 refs, NOT restored"). Measure again on the same page; once out
    // of the batch it stays out. A count that never settles is reported.
    const refDelta = (m: Mapping, api: ApiName, pages: number): string => {
      let last = measure(m, api, pages);
      for (let attempt = 1; attempt < 4 && !last.stable; attempt++) last = measure(m, api, pages);
      return last.text;
    };
    const out: Observation[] = [];
    for (const api of ['pin_user_pages_fast', 'get_user_pages_fast'] as const) {
      out.push({ case: `small/${api.slice(0, 3)}`, observed: using(mapAnonymous(PAGE, { thp: 'off', populate: true }), (m) => refDelta(m, api, 1)) });
    }
    for (const api of ['pin_user_pages_fast', 'get_user_pages_fast'] as const) {
      out.push(
        using(mapAnonymous(HUGE, { thp: 'on', populate: true }), (m): Observation => {
          const order = ctx.dev.pin('get_user_pages_fast', m.address, 1, { facts: true }).facts?.[0]?.folioOrder ?? 0;
          const name = `large/${api.slice(0, 3)}`;
          return order === 9 ? { case: name, observed: refDelta(m, api, 512) } : { case: name, observed: 'n/a', skip: 'no THP for the buffer (transparent_hugepage=never?)' };
        }),
      );
    }
    const now = pinCounters();
    const balanced = now.acquired - counters.acquired === now.released - counters.released;
    out.push({ case: 'vmstat', observed: balanced ? 'balanced' : `acquired +${now.acquired - counters.acquired}, released +${now.released - counters.released}` });
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
        return [
          childPfn !== pfn && childByte === 0x41n ? 'child got a copy' : 'child shares the page',
          m.pfn(0) === pfn ? 'parent kept the pinned page' : 'parent lost the pinned page',
          m.read(0)[0] === 0x43 ? 'pin writes reach the parent' : 'pin writes do not reach the parent',
        ].join('; ');
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
        return [
          childPfn === pfn ? 'shared at fork' : 'copied at fork',
          m.pfn(0) !== pfn ? 'parent copied on write' : 'parent wrote in place',
          stale ? 'the held page went stale' : 'the held page is current',
        ].join('; ');
      });
    });
    return [
      { case: 'pinned', observed: pinned },
      { case: 'got', observed: got },
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
      const locked = fmt(call(ctx, 'get_user_pages', m.address, 1, []).ret);
      const faultsBefore = handler.faults;
      const r = call(ctx, 'get_user_pages_unlocked', m.address + BigInt(PAGE), 1, [], { hold: true });
      const unlocked = holding(ctx, r, (handle) => {
        const resolved = handler.faults > faultsBefore && ctx.dev.readPinned(handle, 0)[0] === 0x5a;
        return `${r.ret} ${resolved ? 'after the handler resolved the fault' : 'without the handler'}`;
      });
      return [
        { case: 'get_user_pages', observed: locked },
        { case: 'get_user_pages_unlocked', observed: unlocked },
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
    ...perApi(ctx, FAST_ONLY, 'unfaulted/', (api) =>
      using(mapAnonymous(16 * PAGE, { thp: 'off' }), (m) => {
        const r = call(ctx, api, m.address, 16, []);
        return `${fmt(r.ret)}, ${m.backing().rssKb === 0 ? 'nothing faulted' : 'pages faulted'}`;
      }),
    ),
    ...perApi(ctx, FAST_ONLY, 'present/', (api) => using(mapAnonymous(16 * PAGE, { populate: true }), (m) => fmt(call(ctx, api, m.address, 16, []).ret))),
  ],
};

const secretmem: Probe = {
  id: 'secretmem',
  title: 'memfd_secret memory: every API fails',
  run: (ctx) => {
    let probe: Mapping;
    try {
      probe = mapSecret(PAGE);
    } catch (err) {
      return skipAll('*', `memfd_secret unavailable: ${(err as Error).message}`);
    }
    probe.close();
    return perApi(ctx, ALL, '', (api) => using(mapSecret(4 * PAGE, { populate: true }), (m) => fmt(call(ctx, api, m.address, 4, []).ret)));
  },
};

const huge: Probe = {
  id: 'huge',
  title: 'hugetlb and THP: every subpage of a 2 MiB folio',
  run: (ctx) => {
    const apis: ApiName[] = ['pin_user_pages_fast', 'get_user_pages_unlocked', 'pin_user_pages'];
    const describe = (m: Mapping, api: ApiName): string => {
      const r = call(ctx, api, m.address, 512, [], { facts: true });
      const orders = [...new Set((r.facts ?? []).map((f) => f.folioOrder))].join('/');
      return r.ret > 0 ? `${r.ret} pages of order ${orders}` : fmt(r.ret);
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
];
