import { InvalidArgumentError } from 'commander';

/** Commander parser for counts, seconds and sizes: a positive safe integer or a clear error. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** Commander parser for an integer of at least `min`, saying why the floor is there. */
export function intAtLeast(min: number, why: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer of at least ${min} (${why})`);
    return n;
  };
}

/** Commander parser for seeds: a non-negative safe integer. */
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

/** Bad input on the command line: exit status 2, one line that names the fix. */
export class UsageError extends Error {
  override name = 'UsageError';
}
