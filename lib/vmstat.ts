import { readFileSync, writeFileSync } from 'node:fs';

/**
 * /proc/vmstat as numbers. The kernel batches counter updates per CPU, so a
 * plain read can lag by up to the per-CPU threshold (seen: 21 of 32 pins);
 * with `refresh` (root only) the per-CPU deltas are folded first via
 * /proc/sys/vm/stat_refresh.
 */
export function readVmstat(refresh = true): Map<string, number> {
  if (refresh) {
    try {
      writeFileSync('/proc/sys/vm/stat_refresh', '1');
    } catch {
      // Not root: the figures may lag; callers that need exact counts run as root.
    }
  }
  const stats = new Map<string, number>();
  for (const line of readFileSync('/proc/vmstat', 'utf8').split('\n')) {
    const [key, value] = line.split(' ');
    if (key && value) stats.set(key, Number(value));
  }
  return stats;
}

/** FOLL_PIN pins acquired and released so far, system-wide, per-CPU deltas folded. */
export function pinCounters(): { acquired: number; released: number } {
  const stats = readVmstat(true);
  return { acquired: stats.get('nr_foll_pin_acquired') ?? 0, released: stats.get('nr_foll_pin_released') ?? 0 };
}
