// Consumer timings on this machine's own CPU, no module and no emulation:
// io_uring register+unregister (the long-term pin and unpin), O_DIRECT 4K
// reads into fresh and warm buffers, process_vm_readv, and the faultin
// path of MADV_POPULATE_WRITE. The loop is C (native/consumers.cc), timed
// per syscall; rounds use fresh buffers, and lib/bench/stats.ts gives the
// medians and their bootstrap CIs. Figures are printed, never asserted.
import { ENV } from '../contract.js';
import { closeSync, constants, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import Table from 'cli-table3';
import { environment, provenance, type Environment, type Provenance } from '../bench/environment.js';
import { summarize, type Summary } from '../bench/stats.js';
import { fmt } from '../bench/table.js';
import { anonHugeKb, mapAnonymous, type Mapping } from '../mapping.js';
import { fsTypeOf, ioUringDisabled, ioUringSetupReason, memlockFacts, memlockReason, underHypervisor, type MemlockFacts } from './host.js';
import { consumersAddon, type ConsumerRun, type NativeConsumers } from './native.js';
import { KIB, MIB } from './table.js';

export const CONSUMER_BENCH_SCHEMA_VERSION = 1;
/** Fewest timed calls per case and round (a slow case still gets a median per round). */
export const MIN_ITERATIONS = 10;

export const BENCH_PATHS = ['io_uring-register', 'odirect-read', 'process_vm_readv', 'madv-populate-write', 'vmsplice'] as const;
export type BenchPath = (typeof BENCH_PATHS)[number];

export interface ConsumerBenchCase {
  /** "io_uring-register/THP/16M", "odirect-read/4K/4K/fresh". */
  id: string;
  path: BenchPath;
  backing: '4K' | 'THP';
  sizeBytes: number;
  pages: number;
  /** fresh: the buffer's pages dropped (MADV_DONTNEED, untimed) before each call, so the call faults them in; warm: present. */
  mode: 'fresh' | 'warm';
  status: 'ok' | 'skip' | 'refused';
  /** Why it did not run (skip) or what the kernel answered (refused: "-EFAULT"). */
  reason?: string;
  /** ns per page of one call (io_uring: register + unregister). */
  nsPerPage?: Summary;
  /** io_uring: the register (pin) and unregister (unpin) parts. */
  pinNsPerPage?: Summary;
  unpinNsPerPage?: Summary;
  /** Every sample, ns per page, with its round. */
  samples?: { values: number[]; rounds: number[] };
}

export interface ConsumerBenchResult {
  schemaVersion: number;
  kind: 'consumer-bench';
  /** Where the samples were taken; accelerator "none" on the host (no emulator between the code and the CPU). */
  environment: Omit<Environment, 'accelerator'> & { accelerator: string; hypervisor: boolean };
  provenance: Provenance;
  spec: ConsumerBenchSpec;
  cases: ConsumerBenchCase[];
  wallMs: number;
}

export interface ConsumerBenchSpec {
  paths: BenchPath[];
  /** io_uring sizes (bytes). */
  sizes: number[];
  rounds: number;
  /** Calls per case and round aimed at this much time (ms), within MIN_ITERATIONS..maxIterations. */
  targetMs: number;
  maxIterations: number;
  /** Folder for the O_DIRECT source file. */
  dir: string;
}

/** "64K", "2M", "4K". */
export const sizeLabel = (bytes: number): string => (bytes >= MIB && bytes % MIB === 0 ? `${bytes / MIB}M` : `${bytes / KIB}K`);

export const DEFAULT_BENCH_SIZES = [64 * KIB, 256 * KIB, MIB, 2 * MIB, 4 * MIB, 16 * MIB, 64 * MIB];

export function defaultBenchSpec(): ConsumerBenchSpec {
  return { paths: [...BENCH_PATHS], sizes: [...DEFAULT_BENCH_SIZES], rounds: 5, targetMs: 30, maxIterations: 200, dir: process.cwd() };
}

/** The cases of a spec, in order: the plan, before anything runs. Pure. */
export function benchPlan(spec: ConsumerBenchSpec): Omit<ConsumerBenchCase, 'status'>[] {
  const out: Omit<ConsumerBenchCase, 'status'>[] = [];
  const add = (p: BenchPath, backing: '4K' | 'THP', sizeBytes: number, mode: 'fresh' | 'warm'): void => {
    const size = sizeLabel(sizeBytes);
    out.push({ id: `${p}/${backing}/${size}${p === 'odirect-read' ? `/${mode}` : ''}`, path: p, backing, sizeBytes, pages: sizeBytes / 4096, mode });
  };
  for (const p of spec.paths) {
    if (p === 'io_uring-register') {
      for (const s of spec.sizes) add(p, '4K', s, 'warm');
      for (const s of spec.sizes.filter((x) => x >= 2 * MIB && x % (2 * MIB) === 0)) add(p, 'THP', s, 'warm');
    } else if (p === 'odirect-read') {
      add(p, '4K', 4 * KIB, 'fresh');
      add(p, '4K', 4 * KIB, 'warm');
    } else if (p === 'process_vm_readv') {
      for (const s of [64 * KIB, 2 * MIB, 16 * MIB]) add(p, '4K', s, 'warm');
      for (const s of [2 * MIB, 16 * MIB]) add(p, 'THP', s, 'warm');
    } else if (p === 'madv-populate-write') {
      add(p, '4K', 2 * MIB, 'fresh');
      add(p, 'THP', 2 * MIB, 'fresh');
    } else add(p, '4K', 64 * KIB, 'warm');
  }
  return out;
}

interface Bench {
  c: NativeConsumers;
  memlock: MemlockFacts;
  uring?: { fd: number } | { skip: string };
  direct?: { fd: number; file: string } | { skip: string };
}

function buffer(backing: '4K' | 'THP', bytes: number): Mapping | { skip: string } {
  const m = mapAnonymous(bytes, { thp: backing === 'THP' ? 'on' : 'off', populate: 'write' });
  if (backing === 'THP' && anonHugeKb(m) === 0) {
    m.close();
    return { skip: 'no THP was allocated for the buffer (transparent_hugepage/enabled)' };
  }
  return m;
}

/** One timed run of a case on a fresh buffer; the native run, or why not. */
function once(b: Bench, k: Omit<ConsumerBenchCase, 'status'>, m: Mapping, iterations: number, local: Mapping | undefined): ConsumerRun | { skip: string } {
  switch (k.path) {
    case 'io_uring-register': {
      if (!b.uring) {
        try {
          b.uring = { fd: b.c.uringSetup(1) };
        } catch (err) {
          b.uring = { skip: ioUringSetupReason((err as { code?: string }).code ?? 'error', ioUringDisabled()) };
        }
      }
      if ('skip' in b.uring) return b.uring;
      return b.c.uringRegister(b.uring.fd, m.address, k.sizeBytes, iterations);
    }
    case 'odirect-read': {
      if (!b.direct || 'skip' in b.direct) return b.direct ?? { skip: 'no O_DIRECT source' };
      return b.c.directRead(b.direct.fd, m.address, k.sizeBytes, 0, iterations, k.mode === 'fresh');
    }
    case 'process_vm_readv':
      return b.c.processVm(process.pid, local!.address, m.address, k.sizeBytes, false, iterations);
    case 'madv-populate-write':
      return b.c.populate(m.address, k.sizeBytes, true, iterations, true);
    case 'vmsplice':
      return b.c.vmsplice(m.address, k.sizeBytes, iterations);
  }
}

function directSource(dir: string): { fd: number; file: string } | { skip: string } {
  const file = path.join(dir, `.guplab-consumer-bench-${process.pid}.src`);
  const fd = openSync(file, 'w', 0o600);
  writeSync(fd, Buffer.alloc(MIB, 0x5a));
  fsyncSync(fd);
  closeSync(fd);
  try {
    return { fd: openSync(file, constants.O_RDONLY | constants.O_DIRECT), file };
  } catch (err) {
    rmSync(file, { force: true });
    return {
      skip: `open(O_DIRECT) on ${fsTypeOf(dir)} (${dir}): ${(err as { code?: string }).code ?? 'error'}: pass --dir on a filesystem that takes O_DIRECT`,
    };
  }
}

/** Runs the consumer benchmark here; `progress` gets one line per case. */
export function runConsumerBench(
  spec: ConsumerBenchSpec,
  progress: (line: string) => void = () => undefined,
  memlock: MemlockFacts = memlockFacts(),
): ConsumerBenchResult {
  const t0 = Date.now();
  const b: Bench = { c: consumersAddon(), memlock };
  if (spec.paths.includes('odirect-read')) b.direct = directSource(path.resolve(spec.dir));
  const env = environment();
  const result: ConsumerBenchResult = {
    schemaVersion: CONSUMER_BENCH_SCHEMA_VERSION,
    kind: 'consumer-bench',
    environment: { ...env, accelerator: process.env[ENV.accel] ?? 'none', hypervisor: underHypervisor() },
    provenance: provenance(),
    spec,
    cases: [],
    wallMs: 0,
  };
  try {
    for (const k of benchPlan(spec)) {
      const c = measure(b, k, spec);
      result.cases.push(c);
      progress(`${c.id}: ${c.status === 'ok' ? `${fmt(c.nsPerPage!.median)} ns/page (n ${c.nsPerPage!.n})` : `${c.status}: ${c.reason}`}`);
    }
  } finally {
    if (b.uring && 'fd' in b.uring) closeSync(b.uring.fd);
    if (b.direct && 'fd' in b.direct) {
      closeSync(b.direct.fd);
      rmSync(b.direct.file, { force: true });
    }
  }
  result.wallMs = Date.now() - t0;
  return result;
}

function measure(b: Bench, k: Omit<ConsumerBenchCase, 'status'>, spec: ConsumerBenchSpec): ConsumerBenchCase {
  if (k.path === 'io_uring-register') {
    const why = memlockReason(k.sizeBytes, b.memlock);
    if (why) return { ...k, status: 'skip', reason: why };
  }
  const values: number[] = [];
  const pin: number[] = [];
  const unpin: number[] = [];
  const rounds: number[] = [];
  for (let round = 0; round < spec.rounds; round++) {
    const m = buffer(k.backing, k.sizeBytes);
    if ('skip' in m) return { ...k, status: 'skip', reason: m.skip };
    const local = k.path === 'process_vm_readv' ? mapAnonymous(k.sizeBytes, { populate: 'write' }) : undefined;
    try {
      // One call to warm up and to size the round (its time is not kept).
      const probe = once(b, k, m, 1, local);
      if ('skip' in probe) return { ...k, status: 'skip', reason: probe.skip };
      if (probe.errno) return { ...k, status: 'refused', reason: `-${probe.code ?? probe.errno}` };
      const each = (probe.ns[0] ?? 0) + (probe.ns2[0] ?? 0);
      const iterations = Math.max(MIN_ITERATIONS, Math.min(spec.maxIterations, Math.round((spec.targetMs * 1e6) / Math.max(each, 1))));
      const r = once(b, k, m, iterations, local) as ConsumerRun;
      if (r.errno) return { ...k, status: 'refused', reason: `-${r.code ?? r.errno}` };
      for (let i = 0; i < r.done; i++) {
        const a = r.ns[i] ?? 0;
        const u = r.ns2[i] ?? 0;
        values.push((a + u) / k.pages);
        if (r.ns2.length) {
          pin.push(a / k.pages);
          unpin.push(u / k.pages);
        }
        rounds.push(round);
      }
    } finally {
      m.close();
      local?.close();
    }
  }
  return {
    ...k,
    status: 'ok',
    nsPerPage: summarize(values, rounds),
    ...(pin.length ? { pinNsPerPage: summarize(pin, rounds), unpinNsPerPage: summarize(unpin, rounds) } : {}),
    samples: { values, rounds },
  };
}

/** The result as a terminal table, with a header that says where the figures come from. */
export function consumerBenchTable(r: ConsumerBenchResult): string {
  const env = r.environment;
  const where = `${env.release} ${env.arch}, accelerator ${env.accelerator}${env.accelerator === 'none' ? ` (this CPU itself${env.hypervisor ? ', under a hypervisor' : ''})` : ''}, ${env.cpuModel}, ${env.cpus} CPUs`;
  const head = ['consumer', 'backing', 'size', 'mode', 'ns/page', 'CI95 median', 'p5-p95', 'pin / unpin ns/page', 'n'];
  const table = new Table({ head, colAligns: head.map((_, i) => (i < 4 ? 'left' : 'right')), style: { head: [], border: [], compact: true } });
  for (const c of r.cases) {
    const dims = [c.path, c.backing, sizeLabel(c.sizeBytes), c.mode];
    if (c.status !== 'ok' || !c.nsPerPage) {
      table.push([...dims, { colSpan: 5, content: c.status === 'refused' ? `kernel answered ${c.reason}` : `not run: ${c.reason}` }]);
      continue;
    }
    const s = c.nsPerPage;
    table.push([
      ...dims,
      fmt(s.median),
      `${fmt(s.ci95[0])}-${fmt(s.ci95[1])}`,
      `${fmt(s.p5)}-${fmt(s.p95)}`,
      c.pinNsPerPage && c.unpinNsPerPage ? `${fmt(c.pinNsPerPage.median)} / ${fmt(c.unpinNsPerPage.median)}` : '-',
      String(s.n),
    ]);
  }
  return `guplab consumers bench: ${r.cases.length} cases, ${r.spec.rounds} rounds (a fresh buffer each), ~${r.spec.targetMs} ms of calls per case and round, each syscall timed alone in C (CLOCK_MONOTONIC); medians with bootstrap 95% CIs\n${where}\n${table.toString()}\nio_uring: IORING_REGISTER_BUFFERS (pin_user_pages*, FOLL_WRITE|FOLL_LONGTERM) + IORING_UNREGISTER_BUFFERS of one prefaulted buffer; odirect-read: one 4K O_DIRECT pread, fresh = the buffer dropped before each read; madv-populate-write: MADV_DONTNEED then MADV_POPULATE_WRITE (the faultin path)\n${r.cases.length} cases in ${(r.wallMs / 1000).toFixed(0)} s`;
}
