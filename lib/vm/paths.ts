// Re-exports for the modules that import these from here: the arch facts
// live in arch.ts, the cache in cache.ts.
export { cacheRoot } from '../kernels/cache.js';
export { debArch, hostArch, type Arch } from './arch.js';
