// What a booted or built-against kernel is, as the cache hands it out: the
// shape every part of lib/vm shares, kept apart so that none of them has to
// import the cache (kernel.ts) for it.
import type { Arch } from '../vm/paths.js';

export interface Kernel {
  /** uname -r, e.g. 6.1.0-56-amd64. */
  release: string;
  /**
   * The upstream version its build tree's Makefile says, e.g. 6.1.192
   * (lib/kernels/upstream.ts); for an image-only kernel (`imageOnly`), the
   * archive's package version's (6.16.3-1~bpo13+1: 6.16.3).
   */
  upstream: string;
  /**
   * Why it has no headers (a Debian image whose linux-headers the archive
   * lost): it boots without guplab.ko only, and `buildDir` does not exist.
   */
  imageOnly?: string;
  arch: Arch;
  /** Folder the image and headers packages are unpacked into. */
  root: string;
  vmlinuz: string;
  modulesDir: string;
  buildDir: string;
  /** Where its guplab.ko builds are cached; default kernels/RELEASE. */
  cacheDir?: string;
  /** A Debian root (lib/kernels/buildroot.ts) to build modules in, for kernels newer than the host. */
  buildRoot?: string;
}

/** What to boot, as a command line asks: a Debian kernel (series, release, LINE-debug) or a user's image and its build tree. */
export interface KernelRequest {
  /** Series ("6.1", "6.12"), major, exact release or LINE-debug; default DEFAULT_KERNEL. */
  kernel?: string;
  arch?: Arch;
  kernelImage?: string;
  kernelBuild?: string;
}

/**
 * A kernel resolved for booting, once, at the command boundary
 * (lib/kernels/resolve.ts): what vmRun boots, and what a job reads.
 */
export interface BootTarget {
  kernel: Kernel;
  /** debian: an archive kernel; debug: one built from a line's source (LINE-debug); user: --kernel-image. */
  origin: 'debian' | 'debug' | 'user';
  /** As asked (--kernel's value, or the image and its build tree): what the run's record says. */
  asked: string;
}
