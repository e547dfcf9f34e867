// `guplab bisect`: where did a probe case's answer change?
//
// Over packaged releases: the archive's releases of one arch between an old
// and a new one (lib/kernels/archive.ts order), binary search, one boot per step,
// each step printed. For a user's kernel tree: one boot of --kernel-image
// that answers git bisect run (0: answers like the old kernel, 1: like the
// new one, 125: cannot be booted or the case cannot run: git's skip).
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { UsageError } from '../util/args.js';
import os from 'node:os';
import path from 'node:path';
import { loadCheckReport, renderAnswer } from '../check/run.js';
import { compareKernels, type ArchiveKernel } from '../kernels/archive.js';
import type { Arch } from '../vm/arch.js';
import { fullGuest } from '../vm/guest.js';
import { resolveArchiveKernel } from '../kernels/kernel.js';
import { archiveIndex } from '../kernels/archive.js';
import { vmRun } from '../vm/run.js';
import { resolveBootTarget } from '../kernels/resolve.js';
import type { KernelRequest } from '../kernels/target.js';

/** "probe/case", e.g. longterm-variants/pin_user_pages_unlocked. */
export interface ProbeCase {
  probe: string;
  case: string;
}

export function parseProbeCase(value: string): ProbeCase {
  const i = value.indexOf('/');
  if (i <= 0 || i === value.length - 1)
    throw new UsageError(`--case ${value}: expected PROBE/CASE, e.g. longterm-variants/pin_user_pages_unlocked (guplab check --list names the probes)`);
  return { probe: value.slice(0, i), case: value.slice(i + 1) };
}

/** What one boot answered: the observed answer, or why there is none. */
export type Answer = { observed: string } | { skip: string };

/** Boots the target once and runs the one probe; the case's observed answer, or a reason to skip. */
export async function answerOf(request: KernelRequest, pc: ProbeCase, opts: { timeoutSec: number; log: (msg: string) => void }): Promise<Answer> {
  const out = mkdtempSync(path.join(os.tmpdir(), 'guplab-bisect-'));
  try {
    // A kernel that cannot be fetched or found is a skip, like a boot that gives no answer.
    const target = resolveBootTarget({ ...request, arch: request.arch ?? 'x86_64' }, opts.log);
    const result = await vmRun({
      target,
      ...fullGuest(),
      job: { steps: [{ kind: 'check', only: [pc.probe], report: 'check.json' }] },
      timeoutSec: opts.timeoutSec,
      outDir: out,
      output: process.stderr,
      log: opts.log,
    });
    const file = path.join(out, 'check.json');
    if (!existsSync(file)) return { skip: `no check report (${result.problems.join('; ') || `exit ${result.status ?? '-'}`})` };
    const report = loadCheckReport(file);
    const probe = report.probes.find((p) => p.id === pc.probe);
    if (!probe) return { skip: `probe ${pc.probe} did not run: the probes are ${report.probes.map((p) => p.id).join(', ')}` };
    if (probe.error) return { skip: `probe ${pc.probe} failed: ${probe.error}` };
    const c = probe.cases.find((x) => x.case === pc.case);
    if (!c) return { skip: `case ${pc.case} not in probe ${pc.probe}: its cases are ${probe.cases.map((x) => x.case).join(', ')}` };
    if (c.status === 'skip') return { skip: `case skipped: ${c.skip ?? ''}` };
    // A WARN or oops the probe did not expect fails the run, but the answer still counts.
    return { observed: c.answer ? renderAnswer(c.answer) : '' };
  } catch (err) {
    return { skip: err instanceof Error ? err.message.split('\n')[0]! : String(err) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export interface BisectStep {
  release: string;
  answer: Answer;
  verdict: 'old' | 'new' | 'skip';
}

export interface BisectResult {
  pc: ProbeCase;
  oldAnswer: string;
  newAnswer: string;
  steps: BisectStep[];
  /** The first release that answers like the new one, and the last one before it that answers like the old. */
  firstNew?: string;
  lastOld?: string;
  /** Releases between them that could not be judged. */
  skipped: string[];
}

const show = (a: Answer): string => ('observed' in a ? a.observed : `skip (${a.skip})`);

/**
 * Binary search over the archive's usable releases of `arch` from `oldSpec`
 * to `newSpec` (both ends booted first: their answers must differ). A release
 * answering neither like the old nor... anything but the old answer counts as
 * new; one that cannot be judged is skipped and its neighbour tried.
 */
export async function bisectReleases(opts: {
  pc: ProbeCase;
  oldSpec: string;
  newSpec: string;
  arch: Arch;
  timeoutSec: number;
  log: (msg: string) => void;
  print: (line: string) => void;
}): Promise<BisectResult> {
  const { pc, arch, log, print } = opts;
  const oldK = resolveArchiveKernel(opts.oldSpec, arch, log).kernel;
  const newK = resolveArchiveKernel(opts.newSpec, arch, log).kernel;
  if (compareKernels(oldK, newK) >= 0) throw new Error(`--old ${oldK.release} is not older than --new ${newK.release}: swap them`);
  const { index } = archiveIndex(log);
  const between: ArchiveKernel[] = index.kernels
    .filter((k) => k.arch === arch && !k.unbuildable && compareKernels(k, oldK) >= 0 && compareKernels(k, newK) <= 0)
    .sort(compareKernels);
  // Two builds of one upstream version (+deb12, +deb13) answer alike: keep one.
  const list = between.filter((k, i) => k === oldK || k === newK || !between.some((o, j) => j > i && o.upstream === k.upstream));
  print(`bisect ${pc.probe}/${pc.case} on ${arch}: ${list.length} usable releases from ${oldK.release} to ${newK.release}`);
  const result = await bisectSearch(
    list.map((k) => ({ release: k.release, label: `${k.release} (${k.suite})` })),
    (release) => answerOf({ kernel: release, arch }, pc, { timeoutSec: opts.timeoutSec, log }),
    print,
  );
  return { pc, ...result };
}

/**
 * The search itself, over releases oldest first, given a way to get each
 * one's answer: both ends first (they must differ), then the middle of the
 * untried ones; an answer other than the old one counts as new, a release
 * that gives none is skipped and its neighbours tried.
 */
export async function bisectSearch(
  list: readonly { release: string; label: string }[],
  answer: (release: string) => Promise<Answer>,
  print: (line: string) => void,
): Promise<Omit<BisectResult, 'pc'>> {
  const steps: BisectStep[] = [];
  const boot = async (i: number, label: string): Promise<Answer> => {
    const t0 = Date.now();
    const a = await answer(list[i]!.release);
    print(`${label} ${list[i]!.label}: ${show(a)} [${((Date.now() - t0) / 1000).toFixed(0)} s]`);
    return a;
  };
  const first = list[0]!;
  const last = list.at(-1)!;
  const oldA = await boot(0, 'old ');
  const newA = await boot(list.length - 1, 'new ');
  if (!('observed' in oldA) || !('observed' in newA)) throw new Error(`cannot bisect: ${!('observed' in oldA) ? first.release : last.release} gave no answer`);
  if (oldA.observed === newA.observed) throw new Error(`${first.release} and ${last.release} both answer ${oldA.observed}: nothing to bisect`);
  steps.push({ release: first.release, answer: oldA, verdict: 'old' }, { release: last.release, answer: newA, verdict: 'new' });
  let lo = 0;
  let hi = list.length - 1;
  const skipped = new Set<number>();
  while (hi - lo > 1) {
    // The middle untried release; skipped ones are stepped over.
    const open = [...Array(hi - lo - 1).keys()].map((i) => lo + 1 + i).filter((i) => !skipped.has(i));
    if (!open.length) break;
    const mid = open[Math.floor((open.length - 1) / 2)]!;
    const a = await boot(mid, `step ${steps.length - 1}:`);
    const verdict = !('observed' in a) ? 'skip' : a.observed === oldA.observed ? 'old' : 'new';
    steps.push({ release: list[mid]!.release, answer: a, verdict });
    if (verdict === 'skip') skipped.add(mid);
    else if (verdict === 'old') lo = mid;
    else hi = mid;
  }
  const result = {
    oldAnswer: oldA.observed,
    newAnswer: newA.observed,
    steps,
    firstNew: list[hi]!.release,
    lastOld: list[lo]!.release,
    skipped: [...skipped].filter((i) => i > lo && i < hi).map((i) => list[i]!.release),
  };
  print(
    `first release answering like ${last.release} (${newA.observed}): ${result.firstNew}; last answering like ${first.release} (${oldA.observed}): ${result.lastOld}` +
      (result.skipped.length ? `; not judged in between: ${result.skipped.join(', ')}` : '') +
      ` (${steps.length} boots)`,
  );
  return result;
}

/**
 * The `git bisect run` step: boots a user kernel once, runs the case and
 * returns the exit code git expects: 0 old answer, 1 new (any other answer
 * when --new-answer is not given), 125 skip (no boot, no answer, or an
 * answer that is neither of two given ones).
 */
export async function bisectRunStep(opts: {
  target: KernelRequest;
  pc: ProbeCase;
  oldAnswer: string;
  newAnswer?: string;
  timeoutSec: number;
  log: (msg: string) => void;
  print: (line: string) => void;
}): Promise<0 | 1 | 125> {
  const answer = await answerOf(opts.target, opts.pc, { timeoutSec: opts.timeoutSec, log: opts.log });
  const what = opts.target.kernelImage ?? opts.target.kernel ?? '?';
  if (!('observed' in answer)) {
    opts.print(`${what}: skip (125): ${answer.skip}`);
    return 125;
  }
  if (answer.observed === opts.oldAnswer) {
    opts.print(`${what}: ${answer.observed}: old (0)`);
    return 0;
  }
  if (opts.newAnswer === undefined || answer.observed === opts.newAnswer) {
    opts.print(`${what}: ${answer.observed}: new (1)`);
    return 1;
  }
  opts.print(`${what}: ${answer.observed}: neither ${opts.oldAnswer} nor ${opts.newAnswer}: skip (125)`);
  return 125;
}
