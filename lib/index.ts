export { API_NAMES, FLAG_NAMES, isPinApi, type ApiName, type FlagName } from './abi.js';
export { GupDevice, type DeviceInfo, type PinOptions, type PinResult } from './device.js';
export { errnoName, isSystemError, type SystemError } from './errors.js';
export { anonHugeKb, mapAnonymous, type AnonymousOptions, type Mapping, type ThpMode } from './mapping.js';
export { pinCounters, readVmstat } from './vmstat.js';
