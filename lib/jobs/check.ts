// `guplab check`: the semantics probes here, or in a VM booted with every
// memory kind they pin (the full guest, unless the user chose the memory).
import path from 'node:path';
import { checkPassed, runCheck } from '../check/run.js';
import { guestMounts } from '../contract.js';
import { writeFileAtomic } from '../util/atomic.js';
import { hostArch } from '../vm/paths.js';
import { vmRun } from '../vm/run.js';
import { fullGuestUnlessChosen, reportVm, type VmBase } from './vm.js';

/** Runs the probes on this machine's kernel, KTAP on stdout; returns the exit code. */
export function checkHere(only: readonly string[], jsonFile?: string): number {
  const report = runCheck({ only, mounts: guestMounts(), onLine: (line) => console.log(line) });
  if (jsonFile) writeFileAtomic(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  return checkPassed(report) ? 0 : 1;
}

/** The report file a VM check writes when none is named: results/check-KERNEL-ARCH.json. */
export const defaultCheckFile = (vm: VmBase): string => path.resolve('results', `check-${vm.kernel ?? '6.1'}-${vm.arch ?? hostArch()}.json`);

/** Boots the kernel and runs the probes there; the JSON report comes back to jsonFile. */
export async function checkInVm(only: readonly string[], vm: VmBase, jsonFile = defaultCheckFile(vm)): Promise<number> {
  const file = path.resolve(jsonFile);
  const result = await vmRun({
    ...fullGuestUnlessChosen(vm),
    job: { steps: [{ kind: 'check', only: [...only], report: path.basename(file) }] },
    outDir: path.dirname(file),
  });
  const code = reportVm(result);
  // A failed probe still leaves a whole report (status 1); a crashed guest leaves none.
  if (code === 0 || (result.status === 1 && result.problems.length === 0)) process.stderr.write(`guplab: wrote ${file}\n`);
  return code;
}
