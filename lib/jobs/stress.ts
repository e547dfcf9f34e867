// The host side of `guplab stress` (lib/commands/stress.ts): builds the C
// stress program with the host's gcc, boots each kernel with guplab.ko and
// runs the guest job's stress step there (lib/stress/guest.ts, which reloads
// the module from $GUPLAB_KO, set by the runner).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../util/root.js';
import { vmRun } from '../vm/run.js';
import { resolveBootTarget } from '../kernels/resolve.js';

export interface StressOptions {
  kernel: string;
  profile: 'full' | 'ci';
  seed: number;
  timeout: number;
}

/** full: `make stress`; ci: what `make test` runs (same fuzz volume, shorter races, smaller kill). */
export const PROFILES = {
  full: { guest: { fuzzCalls: 100000, fuzzThreads: 4, raceSeconds: 60, killPages: 1000000, killRounds: 10 }, memMiB: 5120 },
  ci: { guest: { fuzzCalls: 100000, fuzzThreads: 4, raceSeconds: 15, killPages: 262144, killRounds: 4 }, memMiB: 2048 },
} as const;

export function buildStressBinary(): string {
  const out = path.join(projectRoot, 'build', 'stress', 'guplab-stress');
  mkdirSync(path.dirname(out), { recursive: true });
  execFileSync('gcc', ['-O2', '-g', '-Wall', '-Wextra', '-Werror', '-pthread', '-o', out, path.join(projectRoot, 'tools', 'stress', 'guplab-stress.c')], {
    stdio: 'inherit',
  });
  return out;
}

export async function runStress(opts: StressOptions): Promise<number> {
  const prof = PROFILES[opts.profile];
  buildStressBinary();
  let worst = 0;
  for (const k of opts.kernel.split(',')) {
    const result = await vmRun({
      target: resolveBootTarget({ kernel: k }, (m) => process.stderr.write(`guplab: ${m}\n`)),
      memMiB: prof.memMiB,
      timeoutSec: opts.timeout,
      job: { steps: [{ kind: 'stress', profile: { ...prof.guest, seed: opts.seed } }] },
    });
    const secs = (result.wallMs / 1000).toFixed(0);
    process.stderr.write(
      `guplab: stress on ${result.release} (${result.accel.toUpperCase()}, ${prof.memMiB} MiB guest): exit ${result.status ?? '-'}, wall ${secs} s\n`,
    );
    for (const p of result.problems) process.stderr.write(`guplab: stress FAILED: ${p}\n`);
    if (result.problems.length || result.status !== 0) {
      process.stderr.write(`--- console tail ---\n${result.console.split('\n').slice(-40).join('\n')}\n`);
      worst = 1;
    }
  }
  return worst;
}
