import { appendFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Tells the VM runner that the kernel is about to WARN on purpose (a flag
 * combination the kernel answers through WARN_ON_ONCE): dmesg lines that
 * match `pattern` are then reported but not counted as failures. Outside
 * the VM this does nothing.
 */
export function expectKernelWarning(pattern: string, reason: string): void {
  const out = process.env.GUPLAB_VM_OUT;
  if (!out) return;
  appendFileSync(path.join(path.dirname(out), 'expected-warnings'), `${pattern}\t${reason}\n`);
}
