// Inside the guest of `guplab fidelity`: gup_test and guplab's BENCH on
// the same work, pair by pair. Per round and case, one gup_test process
// (its own buffer, prefaulted by a write to each page, -r repeats) and one
// BENCH of the same number of iterations on a buffer of the same size and
// backing, prefaulted the same way, timed 'pass' as gup_test times; the two
// sides of a pair run back to back, in an order that alternates by round
// (ABBA), so that a change of the host's load falls on both. One JSON line
// per pair on stdout; the host judges (lib/selftests/fidelity.ts).
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { GupDevice } from '../device.js';
import { mapAnonymous, smapsReport, type Mapping } from '../mapping.js';
import { gupTestArgs, parseGupTestTimes, type FidelityCase, type FidelityPair } from './fidelity.js';

export interface FidelityGuestJob {
  gupTest: string;
  cases: FidelityCase[];
  repeats: number;
  rounds: number;
}

const thpFaults = (): number => Number(/^thp_fault_alloc (\d+)$/m.exec(readFileSync('/proc/vmstat', 'utf8'))?.[1] ?? 0);

/** Where gup_test's THP buffer starts inside a huge page, and so guplab's: see thpLikeGupTest(). */
const GUP_TEST_THP_OFFSET = 1 << 20;

/**
 * A buffer laid out as gup_test's THP buffer is: gup_test maps its
 * MADV_HUGEPAGE buffer wherever mmap() puts it, which is not 2 MiB aligned,
 * so the two huge pages its ends fall in are 4K pages (15 of 16 THPs for
 * 32 MiB, as its thp_fault_alloc count shows every round). Here the buffer
 * starts 1 MiB into a huge page, between two MADV_NOHUGEPAGE margins: a
 * margin is a VMA of its own, and a huge page never spans two VMAs
 * (thp_vma_suitable_order()), so both ends fault 4K pages. Prefaulted as
 * gup_test's buffer is, by a store of a zero to each page: a store, not
 * touch('write')'s read and write back, whose read fault would map the huge
 * zero page and whose write would then split it into 4K pages.
 */
function thpLikeGupTest(bytes: number): { m: Mapping; at: bigint } {
  const margin = GUP_TEST_THP_OFFSET;
  const m = mapAnonymous(bytes + 2 * margin, { thp: 'on' });
  try {
    m.advise('nohugepage', 0, margin);
    m.advise('nohugepage', margin + bytes, margin);
    const view = m.bytes();
    for (let off = margin; off < margin + bytes; off += 4096) view[off] = 0;
  } catch (err) {
    m.close();
    throw err;
  }
  return { m, at: m.at(margin) };
}

async function guplabSide(
  dev: GupDevice,
  c: FidelityCase,
  repeats: number,
  floor: boolean,
): Promise<Pick<FidelityPair, 'guplab' | 'guplabThpKiB' | 'floorNs'>> {
  const bytes = c.sizeMiB << 20;
  const pages = bytes / 4096;
  const small = (): { m: Mapping; at: bigint } => {
    const m = mapAnonymous(bytes, { thp: 'off', populate: true });
    return { m, at: m.address };
  };
  const { m, at } = c.backing === 'THP' ? thpLikeGupTest(bytes) : small();
  try {
    // The repeats as iterations of one BENCH call: back to back in the kernel, as gup_test's
    // ioctls are with nothing but its own few instructions between them (see gupTestSide).
    const request = { flags: c.flags.split('+') as ('write' | 'longterm')[], pagesPerCall: c.ppc, iterations: repeats, timing: 'pass' as const };
    const run = await dev.bench(c.api, at, pages, request);
    const out: Pick<FidelityPair, 'guplab' | 'guplabThpKiB' | 'floorNs'> = { guplab: { status: run.status, getNs: run.getNs, putNs: run.putNs } };
    if (c.backing === 'THP') out.guplabThpKiB = smapsReport(at, bytes).anonHugeKb;
    if (floor) {
      const empty = await dev.bench(c.api, at, pages, { ...request, empty: true, iterations: 5 });
      if (empty.status === 0) out.floorNs = empty.getNs.map((g, i) => g + (empty.putNs[i] ?? 0));
    }
    return out;
  } finally {
    m.close();
  }
}

/**
 * gup_test's repeats, its output into a file, not a pipe: 6.12's gup_test
 * writes a line per repeat (ksft_print_msg()), which through a pipe wakes
 * this process, on the same CPU, between two repeats. Measured under TCG
 * (6.12, THP, get_user_pages_fast): its later repeats' put then took 17-22
 * ns/page, against 14 with a file; the switch of address space on that CPU
 * (the TLB emptied) is what fits, not traced.
 */
function gupTestSide(job: FidelityGuestJob, c: FidelityCase): Pick<FidelityPair, 'gupTest' | 'gupTestThpKiB' | 'gupTestError'> {
  const before = thpFaults();
  const file = '/tmp/guplab-fidelity-gup_test.out';
  const fd = openSync(file, 'w');
  let text: string;
  try {
    execFileSync(job.gupTest, gupTestArgs(c, job.repeats), { stdio: ['ignore', fd, fd] });
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const out = readFileSync(file, 'utf8');
    return { gupTest: [], gupTestError: `${(err as Error).message.split('\n')[0]}${out ? `: ${out.trim().split('\n').slice(-2).join(' | ')}` : ''}` };
  } finally {
    closeSync(fd);
  }
  const times = parseGupTestTimes(text).filter((t) => t.cmd === c.cmd && !t.truncated);
  return { gupTest: times.map((t) => ({ getUs: t.getUs, putUs: t.putUs })), ...(c.backing === 'THP' ? { gupTestThpKiB: (thpFaults() - before) * 2048 } : {}) };
}

export async function runFidelityGuest(job: FidelityGuestJob, emit: (pair: FidelityPair) => void): Promise<void> {
  const dev = GupDevice.open();
  try {
    for (let round = 0; round < job.rounds; round++) {
      for (const [i, c] of job.cases.entries()) {
        process.stderr.write(`fidelity: round ${round + 1}/${job.rounds} case ${i + 1}/${job.cases.length}\n`);
        const gupTestFirst = (round + i) % 2 === 0;
        const a = gupTestFirst ? gupTestSide(job, c) : undefined;
        const g = await guplabSide(dev, c, job.repeats, round === 0);
        const b = a ?? gupTestSide(job, c);
        emit({ round, case: i, order: gupTestFirst ? 'gupTestFirst' : 'guplabFirst', ...b, ...g });
      }
    }
  } finally {
    dev.close();
  }
}

/** `bin/guplab-fidelity-guest.js JOB.json` (lib/jobs/fidelity.ts's guest script): the pairs as JSON lines on stdout. */
export async function main(): Promise<void> {
  const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as FidelityGuestJob;
  await runFidelityGuest(job, (p) => process.stdout.write(`${JSON.stringify(p)}\n`));
}
