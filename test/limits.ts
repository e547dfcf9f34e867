// Test time limits. A debug kernel (--kernel 6.12-debug: KASAN, lockdep,
// DEBUG_PAGEALLOC) runs the same tests several times slower under TCG: the
// limits scale, the tests' answers do not. vitest.config.ts scales its
// defaults with SLOW; a test that sets a limit of its own passes it through
// limit().
import os from 'node:os';

export const SLOW = os.release().endsWith('-debug') ? 5 : 1;

export const limit = (ms: number): number => ms * SLOW;
