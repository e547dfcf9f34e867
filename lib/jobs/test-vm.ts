// `guplab test-vm`: the kernel test suite, then the semantics check, in one
// boot per kernel:arch, in the full guest (vm/guest.ts fullGuest); then the
// kernel matrix of the check reports, without more boots.
import path from 'node:path';
import { rmSync } from 'node:fs';
import { checkJunit } from '../check/junit.js';
import { loadCheckReport } from '../check/run.js';
import { UsageError } from '../util/args.js';
import { pool } from '../util/pool.js';
import { writeFileAtomic } from '../util/atomic.js';
import { fullGuest } from '../vm/guest.js';
import type { Arch } from '../vm/paths.js';
import { vmRun, type VmRunResult } from '../vm/run.js';
import { checkFileFor, matrixFromFiles } from './matrix.js';
import { reportVm, sideBySide } from './vm.js';

export interface TestVmRun {
  kernel: string;
  arch: Arch;
}

/** "6.1:x86_64,6.12:arm64" -> runs; an arch-less entry takes the host's. */
export function parseRuns(text: string, defaultArch: Arch): TestVmRun[] {
  return text.split(',').map((entry) => {
    const [kernel, arch = defaultArch] = entry.trim().split(':');
    if (!kernel) throw new UsageError(`empty kernel in --runs "${text}": use KERNEL:ARCH pairs, e.g. 6.1:x86_64,6.12:arm64`);
    if (arch !== 'x86_64' && arch !== 'arm64') throw new UsageError(`unknown arch "${arch}" in --runs: use x86_64 or arm64`);
    return { kernel, arch };
  });
}

export interface TestVmOptions {
  runs: readonly TestVmRun[];
  out: string;
  /** Guests booted at once. */
  jobs: number;
  timeoutSec: number;
  /** Test paths for vitest, relative to the project. */
  tests: string[];
}

export async function testVm(o: TestVmOptions): Promise<number> {
  rmSync(o.out, { recursive: true, force: true });
  const started = Date.now();
  const results = await pool(o.runs, o.jobs, async (r): Promise<VmRunResult> => {
    const name = `${r.kernel} ${r.arch}`;
    return vmRun({
      kernel: r.kernel,
      arch: r.arch,
      ...fullGuest(),
      job: { steps: [{ kind: 'tests', paths: o.tests, junit: `junit-tests-${r.kernel}-${r.arch}.xml` }, { kind: 'check', only: [], report: path.basename(checkFileFor(o.out, r.kernel, r.arch)) }] },
      timeoutSec: o.timeoutSec,
      outDir: path.resolve(o.out),
      ...(o.jobs > 1 ? sideBySide(name) : {}),
    });
  });
  let worst = 0;
  for (const result of results) {
    const code = reportVm(result);
    if (code !== 0 && worst === 0) worst = code;
  }
  const wall = ((Date.now() - started) / 1000).toFixed(0);
  process.stderr.write(`guplab: test-vm: ${results.map((r) => `${r.release} ${r.arch} ${(r.wallMs / 1000).toFixed(0)} s (exit ${r.status ?? '-'})`).join(', ')}; wall ${wall} s with ${o.jobs} guest(s) at a time\n`);
  if (worst !== 0) return worst;
  // The check reports as JUnit XML too, beside the kernel tests' own.
  for (const r of o.runs) {
    const file = checkFileFor(o.out, r.kernel, r.arch);
    writeFileAtomic(path.join(o.out, `junit-check-${r.kernel}-${r.arch}.xml`), checkJunit(loadCheckReport(file)));
  }
  return matrixFromFiles(o.runs.map((r) => checkFileFor(o.out, r.kernel, r.arch)), { out: o.out, changedOnly: true });
}
