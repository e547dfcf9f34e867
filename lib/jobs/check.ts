// `guplab check`: the semantics probes here, or in a VM booted with every
// memory kind they pin (the full guest, unless the user chose the memory).
import path from 'node:path';
import { checkJunit } from '../check/junit.js';
import { checkPassed, loadCheckReport, runCheck } from '../check/run.js';
import { guestMounts } from '../contract.js';
import { DeviceMissingError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { vmRun } from '../vm/run.js';
import { bootTarget, fullGuestUnlessChosen, reportVm, type VmBase } from './vm.js';

/** kselftest's exit status when nothing could be tested (KSFT_SKIP). */
export const EXIT_SKIP = 4;

/**
 * Runs the probes on this machine's kernel, KTAP on stdout; returns the exit
 * code as kselftest does: 0 passed, 1 failed, 4 every case skipped or no
 * device (then a `1..0 # SKIP` plan that says why).
 */
export function checkHere(only: readonly string[], jsonFile?: string, junitFile?: string): number {
  let report;
  try {
    report = runCheck({ only, mounts: guestMounts(), onLine: (line) => console.log(line) });
  } catch (err) {
    if (!(err instanceof DeviceMissingError)) throw err;
    console.log(`KTAP version 1\n1..0 # SKIP ${err.message.replace(/\s*\n\s*/g, ' ')}`);
    return EXIT_SKIP;
  }
  if (jsonFile) writeFileAtomic(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  if (junitFile) writeFileAtomic(junitFile, checkJunit(report));
  const cases = report.probes.flatMap((p) => p.cases);
  if (cases.length > 0 && cases.every((c) => c.status === 'skip')) return EXIT_SKIP;
  return checkPassed(report) ? 0 : 1;
}

/** Boots the kernel and runs the probes there; the JSON report comes back to jsonFile. */
export async function checkInVm(only: readonly string[], vm: VmBase, jsonFile: string, junitFile?: string): Promise<number> {
  const file = path.resolve(jsonFile);
  const guest = fullGuestUnlessChosen(vm);
  const result = await vmRun({
    ...guest,
    target: bootTarget(guest),
    job: { steps: [{ kind: 'check', only: [...only], report: path.basename(file) }] },
    outDir: path.dirname(file),
  });
  const code = reportVm(result);
  // A failed probe still leaves a whole report (status 1); a crashed guest leaves none.
  if (code === 0 || (result.status === 1 && result.problems.length === 0)) {
    if (junitFile) writeFileAtomic(junitFile, checkJunit(loadCheckReport(file)));
    process.stderr.write(`guplab: wrote ${file}${junitFile ? ` and ${junitFile}` : ''}\n`);
  }
  return code;
}
