// Runs the consumer suite on this kernel, no module and no VM needed: each
// consumer on each backing, judged against CONSUMER_EXPECTATIONS, reported
// as KTAP and as a check report (lib/check/report.ts) with `suite:
// "consumers"`. What this machine lacks (io_uring off, no O_DIRECT, no
// hugetlb pages, RLIMIT_MEMLOCK too low) is a skip with its reason, never an
// answer.
import { closeSync, constants, existsSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENV } from '../contract.js';
import { expectationFor, runningVersion } from '../check/expectations.js';
import { CHECK_SCHEMA_VERSION, sameAnswer, type Answer, type CaseResult, type CheckReport, type ProbeResult } from '../check/report.js';
import { ktapCase, ktapText } from '../check/run.js';
import { anonHugeKb, mapAnonymous, mapFile, mapHugetlb, mapMemfd, mapSecret, type Mapping } from '../mapping.js';
import { hostArch, type Arch } from '../vm/paths.js';
import { CONSUMER_EXPECTATIONS } from './expectations.js';
import {
  formatBytes,
  fileFsName,
  fsTypeOf,
  ioUringDisabled,
  ioUringSetupReason,
  kernelConfig,
  memlockFacts,
  memlockReason,
  procMemForce,
  thpEnabled,
  type MemlockFacts,
  type ProcMemForce,
} from './host.js';
import { answerOf, consumersAddon, type ConsumerRun, type NativeConsumers } from './native.js';
import {
  BACKING_KINDS,
  CONSUMER_IDS,
  CONSUMERS,
  DIRTY_TRACKED_FS,
  caseName,
  gupCallOn,
  isConsumerId,
  PROBE_BYTES,
  SMALL_BYTES,
  type BackingKind,
  type ConsumerId,
  type GupCall,
} from './table.js';

/** The consumer suite's report: a check report whose probes are consumers and whose cases are backings. */
export interface ConsumerReport extends CheckReport {
  suite: 'consumers';
  /** The first working directory (the O_DIRECT source's) and its type. */
  dir: string;
  fs: string;
  /** Every folder the file cases ran on, each named after its filesystem (fileFsName: ext4, xfs, ext4-dax). */
  files?: { dir: string; fs: string }[];
  /** Per consumer, the GUP call it makes on this kernel (table.ts). */
  calls: Partial<Record<ConsumerId, GupCall>>;
  cpuModel: string;
}

export interface ConsumerOptions {
  /** Consumer ids to run (default all). */
  only?: readonly string[];
  /** Folders for the file backings, one pair of file cases each; the first also holds the O_DIRECT source (default: the working directory). */
  dirs?: readonly string[];
  /** Folder on tmpfs (default /dev/shm). */
  tmpfs?: string;
  onLine?: (line: string) => void;
  /** The locked-memory facts (default: this process's). */
  memlock?: MemlockFacts;
}

/** What a case saw, before judging. */
type Outcome = { answer: Answer } | { skip: string };

const reasonOf = (err: unknown): string => (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');

/**
 * Judges one observation: the first expectation row for this case on this
 * kernel. A file on a filesystem the rows do not cover is a skip that says
 * what was seen (no row, so no verdict), not an "unexpected". Pure.
 */
export function judgeConsumer(id: ConsumerId, name: string, outcome: Outcome, version: string, arch: Arch): CaseResult {
  if ('skip' in outcome) return { case: name, status: 'skip', skip: outcome.skip };
  const row = expectationFor(CONSUMER_EXPECTATIONS[id], name, version, arch);
  if (!row) {
    const fs = /^file-(.+?)(-private)?$/.exec(name)?.[1];
    if (fs && !(DIRTY_TRACKED_FS as readonly string[]).includes(fs)) {
      const ret = outcome.answer.ret;
      return {
        case: name,
        status: 'skip',
        skip: `no expectation for a file on ${fs} (rows cover ${DIRTY_TRACKED_FS.join(', ')}); observed ${ret === undefined ? '-' : ret}: pass --dir on one of those`,
      };
    }
    return { case: name, status: 'unexpected', answer: outcome.answer };
  }
  return { case: name, status: sameAnswer(row.answer, outcome.answer) ? 'ok' : 'fail', answer: outcome.answer, expected: row.answer, source: row.source };
}

/** The run's shared state: files, the io_uring fd, what is missing here. */
interface Context {
  c: NativeConsumers;
  dir: string;
  fs: string;
  tmpfs: string;
  /** The file backings: one file per folder, its cases named after the folder's filesystem. */
  files: { dir: string; fs: string; mapFile: string }[];
  sourceFile: string;
  tmpfsFile: string;
  memlock: MemlockFacts;
  uring?: { fd: number } | { skip: string };
  direct?: { fd: number } | { skip: string };
  populate?: { skip: string } | { ok: true };
  scratch?: Mapping;
  /** /proc/PID/mem's FOLL_FORCE policy, where the command line or the config says it. */
  force?: { policy: ProcMemForce; from: string } | undefined;
}

/** A fresh mapping of one backing, populated the way a program would have it, or why it cannot be had here. */
function backing(kind: BackingKind, ctx: Context, file?: Context['files'][number]): Mapping | { skip: string } {
  try {
    switch (kind) {
      case 'anon':
        return mapAnonymous(PROBE_BYTES, { thp: 'off', populate: 'write' });
      case 'thp': {
        const m = mapAnonymous(PROBE_BYTES, { thp: 'on', populate: 'write' });
        if (anonHugeKb(m) === 0) {
          m.close();
          return { skip: `no THP was allocated (transparent_hugepage/enabled is ${thpEnabled() ?? 'absent'}; MADV_HUGEPAGE asked)` };
        }
        return m;
      }
      case 'memfd':
        return mapMemfd(PROBE_BYTES, { populate: 'write' });
      case 'tmpfs':
        return mapFile(ctx.tmpfsFile, PROBE_BYTES, { create: true, populate: 'write' });
      case 'file':
        return mapFile(file!.mapFile, PROBE_BYTES, { populate: 'write' });
      case 'file-private':
        return mapFile(file!.mapFile, PROBE_BYTES, { shared: false, populate: 'read' });
      case 'hugetlb':
        return mapHugetlb(PROBE_BYTES, { populate: 'write' });
      case 'secretmem':
        try {
          return mapSecret(PROBE_BYTES, { populate: 'write' });
        } catch (err) {
          if ((err as { code?: string }).code !== 'EAGAIN') throw err;
          return {
            skip: `secretmem: mmap: EAGAIN: memfd_secret() memory is locked memory, charged against RLIMIT_MEMLOCK${ctx.memlock.limitBytes === undefined ? '' : ` (${formatBytes(ctx.memlock.limitBytes)})`}: raise it (ulimit -l) or run as root`,
          };
        }
      case 'guard': {
        const m = mapAnonymous(PROBE_BYTES, { thp: 'off' });
        try {
          m.advise('guardInstall');
        } catch (err) {
          m.close();
          return { skip: `MADV_GUARD_INSTALL refused (guard regions are 6.13+): ${reasonOf(err)}` };
        }
        return m;
      }
      case 'protnone': {
        const m = mapAnonymous(PROBE_BYTES, { thp: 'off', populate: 'write' });
        m.protect('none');
        return m;
      }
      case 'readonly':
        return mapAnonymous(PROBE_BYTES, { thp: 'off', prot: 'r' });
    }
  } catch (err) {
    return { skip: `${kind}: ${reasonOf(err)}` };
  }
}

function uring(ctx: Context): { fd: number } | { skip: string } {
  if (!ctx.uring) {
    try {
      ctx.uring = { fd: ctx.c.uringSetup(1) };
    } catch (err) {
      ctx.uring = { skip: ioUringSetupReason((err as { code?: string }).code ?? 'error', ioUringDisabled()) };
    }
  }
  return ctx.uring;
}

function direct(ctx: Context): { fd: number } | { skip: string } {
  // tmpfs takes O_DIRECT from 6.6 ("tmpfs: trivial support for direct IO",
  // e88e0d366f9c) but reads by copying (shmem_file_read_iter): no GUP to ask.
  if (!ctx.direct && ctx.fs === 'tmpfs')
    ctx.direct = {
      skip: `the O_DIRECT source is on tmpfs (${ctx.dir}), which copies O_DIRECT reads (shmem_file_read_iter) instead of pinning the buffer: pass --dir on a block filesystem (ext4, xfs)`,
    };
  if (!ctx.direct) {
    try {
      ctx.direct = { fd: openSync(ctx.sourceFile, constants.O_RDONLY | constants.O_DIRECT) };
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'error';
      ctx.direct = {
        skip: `open(O_DIRECT) on ${ctx.fs} (${ctx.dir}): ${code}: this filesystem refuses O_DIRECT (tmpfs before 6.6 does); pass --dir on one that takes it`,
      };
    }
  }
  return ctx.direct;
}

function populateWorks(ctx: Context): { skip: string } | { ok: true } {
  if (!ctx.populate) {
    const m = mapAnonymous(64 * 1024, { thp: 'off' });
    try {
      const r = ctx.c.populate(m.address, m.length, false, 1);
      ctx.populate =
        r.code === 'EINVAL'
          ? { skip: 'madvise(MADV_POPULATE_READ) on plain anonymous memory: EINVAL: this kernel predates MADV_POPULATE_READ/WRITE (5.14)' }
          : { ok: true };
    } finally {
      m.close();
    }
  }
  return ctx.populate;
}

const answer = (r: ConsumerRun): Outcome => ({ answer: { ret: answerOf(r) } });

/** Calls one consumer on a fresh mapping; throws only for a failure that is not the kernel's answer. */
function callConsumer(id: ConsumerId, m: Mapping, ctx: Context): Outcome {
  const c = ctx.c;
  switch (id) {
    case 'io_uring-register': {
      const u = uring(ctx);
      if ('skip' in u) return u;
      const why = memlockReason(PROBE_BYTES, ctx.memlock);
      if (why) return { skip: why };
      const r = c.uringRegister(u.fd, m.address, PROBE_BYTES, 1);
      if (r.code === 'ENOMEM' && !ctx.memlock.ipcLock)
        return {
          skip: `ENOMEM: io_uring's locked-memory charge (user-wide) is past RLIMIT_MEMLOCK: ${memlockReason(Number.MAX_SAFE_INTEGER, ctx.memlock) ?? ''}`,
        };
      return answer(r);
    }
    case 'odirect-read': {
      const d = direct(ctx);
      if ('skip' in d) return d;
      return answer(c.directRead(d.fd, m.address, PROBE_BYTES, 0, 1));
    }
    case 'vmsplice':
      return answer(c.vmsplice(m.address, SMALL_BYTES, 1));
    case 'process_vm_readv':
    case 'process_vm_writev': {
      ctx.scratch ??= mapAnonymous(SMALL_BYTES, { populate: 'write' });
      return answer(c.processVm(process.pid, ctx.scratch.address, m.address, SMALL_BYTES, id === 'process_vm_writev', 1));
    }
    case 'proc-mem-read':
    case 'proc-mem-write':
      if (ctx.force?.policy === 'never')
        return { skip: `/proc/PID/mem never passes FOLL_FORCE here (${ctx.force.from}): the probes ask what a debugger's FOLL_FORCE reaches` };
      try {
        return answer(c.procMem(m.address, SMALL_BYTES, id === 'proc-mem-write', 1, true));
      } catch (err) {
        return { skip: `/proc/self/mem: ${reasonOf(err)}` };
      }
    case 'madv-populate-read':
    case 'madv-populate-write': {
      const p = populateWorks(ctx);
      if ('skip' in p) return p;
      return answer(c.populate(m.address, PROBE_BYTES, id === 'madv-populate-write', 1));
    }
  }
}

/** io_uring past RLIMIT_MEMLOCK: one page over the limit, run only where the limit applies. */
function memlockCase(ctx: Context): Outcome {
  const u = uring(ctx);
  if ('skip' in u) return u;
  if (ctx.memlock.ipcLock)
    return {
      skip: 'this process has CAP_IPC_LOCK, so io_uring charges it no locked memory and there is no limit to cross (run without it: setpriv --bounding-set=-ipc_lock, or as a user)',
    };
  if (ctx.memlock.limitBytes === undefined) return { skip: 'RLIMIT_MEMLOCK is unlimited here: no limit to cross' };
  const bytes = ctx.memlock.limitBytes + 4096;
  if (bytes > 1 << 30) return { skip: `RLIMIT_MEMLOCK is ${ctx.memlock.limitBytes} bytes: too large to cross in a probe` };
  const m = mapAnonymous(bytes, { thp: 'off' });
  try {
    return answer(ctx.c.uringRegister(u.fd, m.address, bytes, 1));
  } finally {
    m.close();
  }
}

function writeData(file: string, bytes: number): void {
  const fd = openSync(file, 'w', 0o600);
  try {
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7 + 13) & 0xff;
    for (let off = 0; off < bytes; off += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - off));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The KTAP subtest header lines of one consumer. */
function header(id: ConsumerId, call: GupCall | undefined, force: Context['force']): string[] {
  const c = CONSUMERS.find((x) => x.id === id)!;
  const lines = [c.title, `${c.syscall} -> ${call ? `${call.call}(${call.flags})` : 'no GUP call read for this kernel'}`];
  if (id.startsWith('proc-mem'))
    lines.push(
      `/proc/PID/mem force policy: ${force ? `${force.policy} (${force.from}): /proc/self/mem is ${force.policy === 'always' ? '' : 'not '}forced, the tracer's access is ${force.policy === 'never' ? 'not ' : ''}forced` : 'unknown (no proc_mem.force_override=, no readable kernel config)'}`,
    );
  return lines;
}

/** Runs the suite here and returns the report; KTAP lines go to onLine as they come. */
export function runConsumers(options: ConsumerOptions = {}): ConsumerReport {
  const emit = options.onLine ?? (() => undefined);
  const unknown = (options.only ?? []).filter((id) => !isConsumerId(id));
  if (unknown.length) throw new RangeError(`unknown consumer(s) ${unknown.join(', ')}: choose from ${CONSUMER_IDS.join(', ')}`);
  const ids = CONSUMER_IDS.filter((id) => !options.only?.length || options.only.includes(id));
  const dirs = (options.dirs?.length ? options.dirs : [process.cwd()]).map((d) => path.resolve(d));
  const missing = dirs.filter((d) => !existsSync(d));
  if (missing.length) throw new RangeError(`--dir ${missing.join(',')}: no such folder: name folders that exist (their filesystems name the file cases)`);
  const dir = dirs[0]!;
  const tmpfs = options.tmpfs ?? '/dev/shm';
  const tag = `guplab-consumers-${process.pid}`;
  const files = dirs.map((d) => ({ dir: d, fs: fileFsName(d), mapFile: path.join(d, `.${tag}.map`) }));
  const twice = files.find((f, i) => files.findIndex((g) => g.fs === f.fs) !== i);
  if (twice) throw new RangeError(`--dir: two folders on ${twice.fs}: their file cases would share one name; give one folder per filesystem`);
  const ctx: Context = {
    c: consumersAddon(),
    dir,
    fs: fsTypeOf(dir),
    tmpfs,
    files,
    sourceFile: path.join(dir, `.${tag}.src`),
    tmpfsFile: path.join(tmpfs, tag),
    memlock: options.memlock ?? memlockFacts(),
  };
  let procVersion = '';
  try {
    procVersion = readFileSync('/proc/version', 'utf8');
  } catch {
    // the release string is all there is
  }
  const release = os.release();
  const version = runningVersion(release, procVersion);
  let cmdline = '';
  try {
    cmdline = readFileSync('/proc/cmdline', 'utf8');
  } catch {
    // no command line to read
  }
  ctx.force = procMemForce(cmdline, kernelConfig(release));
  const arch = hostArch();
  const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';
  const report: ConsumerReport = {
    schemaVersion: CHECK_SCHEMA_VERSION,
    suite: 'consumers',
    release,
    version,
    arch,
    accelerator: process.env[ENV.accel] ?? 'none',
    // A guest of an image-only line: the matrix marks the module's rows "no headers" beside these.
    ...(process.env[ENV.imageOnly] ? { imageOnly: process.env[ENV.imageOnly] } : {}),
    dir,
    fs: ctx.fs,
    files: files.map((f) => ({ dir: f.dir, fs: f.fs })),
    cpuModel,
    calls: {},
    probes: [],
    totals: { ok: 0, fail: 0, skip: 0, unexpected: 0 },
  };
  emit('KTAP version 1');
  emit(
    `# guplab consumers on ${release} (${version}) ${arch} (${report.accelerator === 'none' ? 'no emulation' : report.accelerator}, no module), ${cpuModel}; files on ${files.map((f) => `${f.fs} (${f.dir})`).join(', ')}`,
  );
  emit(`1..${ids.length}`);
  const made: string[] = [];
  try {
    for (const f of files) {
      writeData(f.mapFile, PROBE_BYTES);
      made.push(f.mapFile);
    }
    writeData(ctx.sourceFile, PROBE_BYTES);
    made.push(ctx.sourceFile);
    made.push(ctx.tmpfsFile);
    for (const [i, id] of ids.entries()) {
      const call = gupCallOn(id, version);
      if (call) report.calls[id] = call;
      const result: ProbeResult = { id, title: CONSUMERS.find((x) => x.id === id)!.title, cases: [] };
      emit('    KTAP version 1');
      emit(`    # Subtest: ${id}`);
      for (const line of header(id, call, ctx.force)) emit(`    # ${ktapText(line)}`);
      try {
        const cases = BACKING_KINDS.flatMap((kind): { kind: BackingKind; file?: Context['files'][number]; name: string }[] =>
          kind === 'file' || kind === 'file-private' ? files.map((f) => ({ kind, file: f, name: caseName(kind, f.fs) })) : [{ kind, name: kind }],
        );
        for (const { kind, file, name } of cases) {
          const m = backing(kind, ctx, file);
          let outcome: Outcome;
          if ('skip' in m) outcome = m;
          else {
            try {
              outcome = callConsumer(id, m, ctx);
            } finally {
              m.close();
            }
          }
          result.cases.push(judgeConsumer(id, name, outcome, version, arch));
        }
        if (id === 'io_uring-register') result.cases.push(judgeConsumer(id, 'memlock', memlockCase(ctx), version, arch));
      } catch (err) {
        result.error = reasonOf(err);
      }
      if (result.error) emit(`    # error: ${ktapText(result.error)}`);
      emit(`    1..${result.cases.length}`);
      for (const [j, c] of result.cases.entries()) {
        report.totals[c.status]++;
        for (const line of ktapCase(j + 1, c)) emit(`    ${line}`);
      }
      const failed = result.error !== undefined || result.cases.some((c) => c.status === 'fail' || c.status === 'unexpected');
      const skipped = result.cases.length > 0 && result.cases.every((c) => c.status === 'skip');
      emit(`${failed ? 'not ok' : 'ok'} ${i + 1} ${id}${skipped ? ` # SKIP ${(result.cases[0]?.skip ?? '').replace(/\s+/g, ' ')}` : ''}`);
      report.probes.push(result);
    }
  } finally {
    if (ctx.uring && 'fd' in ctx.uring) closeSync(ctx.uring.fd);
    if (ctx.direct && 'fd' in ctx.direct) closeSync(ctx.direct.fd);
    ctx.scratch?.close();
    for (const f of made) rmSync(f, { force: true });
  }
  const t = report.totals;
  emit(`# totals: ok ${t.ok}, fail ${t.fail}, unexpected ${t.unexpected}, skip ${t.skip}`);
  return report;
}
