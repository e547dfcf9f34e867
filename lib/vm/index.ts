// guplab/vm: boot a Debian (or your own) kernel in QEMU with guplab.ko loaded
// and run a command there.
export { vmRun, type VmRunMeta, type VmRunOptions, type VmRunResult } from './run.js';
export { fullGuest, type GuestFs, type GuestMemoryOptions, type GuestMount } from './guest.js';
export { cacheRoot, hostArch, type Arch } from './paths.js';
