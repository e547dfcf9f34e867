// `guplab kernels`: what Debian's archive offers per arch (from its
// indexes), which releases guplab can use, and what is in the cache.
import { archiveIndex, kernelsTable, type ArchiveKernel } from '../kernels/archive.js';
import type { Arch } from '../vm/arch.js';
import { hostSuite, isCachedKernel } from '../kernels/kernel.js';

export interface KernelsOptions {
  arches: readonly Arch[];
  /** Every release, not one line per series. */
  all?: boolean;
  refresh?: boolean;
  log: (msg: string) => void;
}

export function listKernels(opts: KernelsOptions): { text: string; kernels: ArchiveKernel[] } {
  const { index } = archiveIndex(opts.log, { refresh: opts.refresh ?? false });
  const kernels = index.kernels.filter((k) => opts.arches.includes(k.arch));
  if (!opts.all) return { text: `${kernelsTable(kernels, opts.arches, isCachedKernel, hostSuite())}\n(archive index of ${index.updated})`, kernels };
  const rows = kernels.map(
    (k) =>
      `${k.arch.padEnd(7)} ${k.release.padEnd(26)} ${k.version.padEnd(22)} ${k.suite.padEnd(18)} ${[k.unbuildable ? `image only (--no-module${k.noModules ? ', no modules' : ''})` : '', isCachedKernel(k.release) ? 'cached' : ''].filter(Boolean).join(', ')}`,
  );
  return { text: rows.join('\n'), kernels };
}
