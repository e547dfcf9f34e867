// --kernel / --arch / --kernel-image resolved into a BootTarget, once per
// boot: the one place that turns what a user asked for into what boots.
import { UsageError } from '../util/args.js';
import { hostArch } from '../vm/paths.js';
import { debugLine } from './debugkernel.js';
import { DEFAULT_KERNEL, ensureKernel } from './kernel.js';
import type { BootTarget, Kernel, KernelRequest } from './target.js';
import { userKernel } from './userkernel.js';

/**
 * Fetches (or finds in the cache) the kernel a request names. `module`
 * (default true): guplab.ko will be built for it, so an image-only line is
 * refused here, before anything is downloaded.
 */
export function resolveBootTarget(req: KernelRequest, log: (msg: string) => void, opts: { module?: boolean } = {}): BootTarget {
  if (Boolean(req.kernelImage) !== Boolean(req.kernelBuild))
    throw new UsageError('--kernel-image and --kernel-build go together: the image to boot and the build tree (or headers) to build guplab.ko against');
  if (req.kernelImage && req.kernelBuild)
    return { kernel: userKernel(req.kernelImage, req.kernelBuild, req.arch, log), origin: 'user', asked: `${req.kernelImage} (build ${req.kernelBuild})` };
  const asked = req.kernel ?? DEFAULT_KERNEL;
  return targetOf(ensureKernel(asked, req.arch ?? hostArch(), log, { module: opts.module ?? true }), asked);
}

/** The target of a kernel a job resolved for its own needs (selftests, fidelity: the kernel and its source together). */
export function targetOf(kernel: Kernel, asked: string): BootTarget {
  return { kernel, origin: debugLine(asked) === undefined ? 'debian' : 'debug', asked };
}
