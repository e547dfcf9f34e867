// `guplab fidelity`: gup_test's in-kernel benchmark and guplab's BENCH on
// the same work, in one boot: the out-of-tree gup_test.ko and guplab.ko
// side by side, in pairs of rounds; each case's ratio with its CI, judged
// (exit 1 when a case is outside 5% with a CI that excludes 1).
import { ENV } from '../contract.js';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../util/root.js';
import { writeFileAtomic } from '../util/atomic.js';
import { hostArch } from '../vm/arch.js';
import { DEFAULT_KERNEL } from '../kernels/kernel.js';
import { preflight, vmRun } from '../vm/run.js';
import { targetOf } from '../kernels/resolve.js';
import { FIDELITY_WARMUP, fidelityCases, fidelityExitCode, fidelityMarkdown, judgeFidelity, type FidelityPair } from '../selftests/fidelity.js';
import type { FidelityGuestJob } from '../selftests/fidelity-guest.js';
import { prepareSelftests } from './selftests.js';
import { reportVm, type VmBase } from './vm.js';

const log = (msg: string): void => {
  process.stderr.write(`guplab: ${msg}\n`);
};

function quote(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`;
}

/**
 * The guest script: gup_test.ko loaded, then the pairs (fidelity-guest.ts):
 * per round and case, gup_test and guplab's BENCH back to back on buffers
 * of the same size, backing and prefault, in alternating order.
 */
export function fidelityScript(opts: { module: string; job: FidelityGuestJob }): string {
  // The job travels inside the script (the guest job file), not as a host file read through the host-root share.
  const job = '/tmp/guplab-fidelity-job.json';
  return [
    'set -u',
    `out="$${ENV.out}"`,
    `cat > ${job} <<'GUPLAB_FIDELITY_JOB'`,
    JSON.stringify(opts.job),
    'GUPLAB_FIDELITY_JOB',
    'grep -q " /sys/kernel/debug " /proc/mounts || mount -t debugfs debugfs /sys/kernel/debug',
    `insmod ${quote(opts.module)} || exit 3`,
    'cat /sys/devices/system/clocksource/clocksource0/current_clocksource > "$out/clocksource" 2>/dev/null',
    // Both sides on one vCPU, the last, so that no repeat of either moves to another vCPU (each has its
    // own emulated TLB) between two of the same case.
    `taskset -c "$(($(nproc) - 1))" node ${quote(path.join(projectRoot, 'bin', 'guplab-fidelity-guest.js'))} ${job} > "$out/pairs.jsonl" || exit 4`,
    'exit 0',
    '',
  ].join('\n');
}

export async function fidelityInVm(vm: VmBase, o: { out: string; repeats: number; rounds: number; sizeMiB: number }): Promise<number> {
  const arch = vm.arch ?? hostArch();
  preflight(vm);
  const prep = prepareSelftests(vm.kernel ?? DEFAULT_KERNEL, arch, { requireModule: true });
  const cases = fidelityCases(o.sizeMiB);
  const tag = `${prep.kernel.release}-${arch}`;
  const out = path.resolve(o.out);
  const runDir = path.join(out, `fidelity-${tag}.d`);
  mkdirSync(runDir, { recursive: true });
  const job: FidelityGuestJob = { gupTest: path.join(prep.binDir, 'gup_test'), cases, repeats: o.repeats, rounds: o.rounds };
  // Both sides' buffers, each at most once at a time, in a 2 GiB guest or more; THP needs no reserved pages.
  const result = await vmRun({
    ...vm,
    target: targetOf(prep.kernel, prep.boot),
    job: { steps: [{ kind: 'script', name: 'fidelity', text: fidelityScript({ module: prep.module!, job }) }] },
    outDir: runDir,
    log,
    timingClock: true,
    memMiB: Math.max(vm.memMiB ?? 2048, 2048, 1024 + 2 * o.sizeMiB),
  });
  const code = reportVm(result);
  const read = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  const pairs = read(path.join(runDir, 'pairs.jsonl'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FidelityPair);
  const rows = judgeFidelity(cases, pairs);
  const clocksource = read(path.join(runDir, 'clocksource')).trim() || 'unknown';
  const md = fidelityMarkdown(rows, result.accel);
  const header = `# Fidelity: ${prep.kernel.release} ${arch} ${result.accel.toUpperCase()} (QEMU ${result.qemuVersion}, clocksource ${clocksource}), gup_test.ko from ${prep.source.name} ${prep.source.version}, ${o.sizeMiB} MiB, ${o.rounds} rounds of ${o.repeats} gup_test repeats / guplab iterations per case (the first ${FIDELITY_WARMUP} not counted), paired, both on one CPU\n\n`;
  writeFileAtomic(path.join(out, `fidelity-${tag}.md`), header + md);
  writeFileAtomic(
    path.join(out, `fidelity-${tag}.json`),
    `${JSON.stringify({ schema: 'guplab-fidelity/3', release: prep.kernel.release, arch, accelerator: result.accel, qemuVersion: result.qemuVersion, clocksource, source: prep.source, repeats: o.repeats, rounds: o.rounds, sizeMiB: o.sizeMiB, warmup: FIDELITY_WARMUP, timing: 'pass', rows, pairs }, null, 2)}\n`,
  );
  console.log(header + md);
  if (code !== 0) return code;
  if (pairs.length < cases.length * o.rounds) {
    log(`fidelity: ${pairs.length} of ${cases.length * o.rounds} pairs came back: the guest stopped early`);
    return 1;
  }
  return fidelityExitCode(rows);
}
