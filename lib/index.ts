export { API_NAMES, FLAG_NAMES, isPinApi, isRemoteApi, type ApiName, type FlagName } from './abi.js';
export {
  GupDevice,
  type BenchRequest,
  type BenchSamples,
  type DeviceInfo,
  type PageFacts,
  type PageKind,
  type PinOptions,
  type PinResult,
} from './device.js';
export { errnoName, isSystemError, type SystemError } from './errors.js';
export { anonHugeKb, mapAnonymous, type AnonymousOptions, type Mapping, type ThpMode } from './mapping.js';
export { pinCounters, readVmstat } from './vmstat.js';
export { expectKernelWarning } from './expect-warn.js';
