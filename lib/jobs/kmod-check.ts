// `guplab kmod-check`: kmod/ built warning-free with W=1 (and sparse) against
// each kernel and arch.
import { checkModule, ensureKernel, expandKernelSpecs } from '../kernels/kernel.js';
import type { Arch } from '../vm/paths.js';

/** Prints one line per kernel and arch ("all": every series the archive has); returns the exit code (1 when any build had diagnostics). */
export function kmodCheck(kernels: readonly string[], arches: readonly Arch[]): number {
  const log = (msg: string): void => {
    process.stderr.write(`guplab: ${msg}\n`);
  };
  let failed = 0;
  for (const arch of arches) {
    for (const version of expandKernelSpecs(kernels, arch, log)) {
      const result = checkModule(ensureKernel(version, arch, log));
      const tools = result.sparse ? 'W=1 C=1' : 'W=1 (sparse not installed)';
      if (result.diagnostics.length) failed++;
      console.log(`${result.diagnostics.length ? 'FAIL' : 'ok  '} ${result.release} ${arch} ${tools}${result.diagnostics.map((d) => `\n  ${d}`).join('')}`);
    }
  }
  return failed ? 1 : 0;
}
