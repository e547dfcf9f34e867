import { readFileSync } from 'node:fs';

/** /proc/vmstat as numbers. */
export function readVmstat(): Map<string, number> {
  const stats = new Map<string, number>();
  for (const line of readFileSync('/proc/vmstat', 'utf8').split('\n')) {
    const [key, value] = line.split(' ');
    if (key && value) stats.set(key, Number(value));
  }
  return stats;
}

/** FOLL_PIN pins acquired and released so far, system-wide. */
export function pinCounters(): { acquired: number; released: number } {
  const stats = readVmstat();
  return { acquired: stats.get('nr_foll_pin_acquired') ?? 0, released: stats.get('nr_foll_pin_released') ?? 0 };
}
