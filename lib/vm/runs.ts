// The kernel x arch runs the test tiers boot, in one place: the Makefile,
// scripts/test.sh and `guplab test-vm --runs` name a set, never a copy.
import { UsageError } from '../util/args.js';

export const RUN_SETS = {
  /** make test (README, CI): the newest stable line on both arches and the newest line, every feature once. */
  test: '6.12:x86_64,7.3:x86_64,6.12:arm64',
  /** make test-full: the two Debian stable lines and the newest on x86_64, the stable ones on arm64. */
  full: '6.1:x86_64,6.12:x86_64,7.3:x86_64,6.1:arm64,6.12:arm64',
  /** make test-vm-lines: the other lines with headers (5.10 needs its bullseye build root). */
  lines: '5.10:x86_64,7.2:x86_64,5.10:arm64,7.3:arm64',
} as const;

export type RunSet = keyof typeof RUN_SETS;

/**
 * Kernel test files a set runs on its first run only: what they check does
 * not depend on the kernel (the module's ioctl validation and the group's
 * rules, the benchmark engine's statistics), and under TCG they are the
 * longest files (about 50 s and 35 s a guest). make test runs them once;
 * make test-full, everywhere.
 */
export const ONCE_PER_SET: Partial<Record<RunSet, readonly string[]>> = {
  test: ['test/kernel/bench.test.ts', 'test/kernel/hardening.test.ts'],
};

/** The test files a --runs value runs on its first run only ([] for pairs or a set without). */
export function onceTests(value: string): string[] {
  return [...(ONCE_PER_SET[value.trim() as RunSet] ?? [])];
}

/** A --runs value: a set's name (test, full, lines) or KERNEL:ARCH pairs, as pairs. */
export function expandRuns(value: string): string {
  const v = value.trim();
  if (v in RUN_SETS) return RUN_SETS[v as RunSet];
  if (!v.includes(':') && !v.includes('.'))
    throw new UsageError(`unknown run set "${v}": use ${Object.keys(RUN_SETS).join(', ')} or KERNEL:ARCH pairs such as 6.12:x86_64,6.12:arm64`);
  return v;
}
