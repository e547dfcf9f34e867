import os from 'node:os';
import { defineConfig } from 'vitest/config';

// A debug kernel (--kernel 6.12-debug: KASAN, lockdep, DEBUG_PAGEALLOC) runs
// the same tests several times slower under TCG: the time limits scale, the
// tests' answers do not.
const slow = os.release().endsWith('-debug') ? 5 : 1;

export default defineConfig({
  test: {
    // Native addons and worker threads do not mix: one process per file.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000 * slow,
    hookTimeout: 120_000 * slow,
    reporters: ['verbose'],
    // It imports its JSON schema without an import attribute, which Node 20 refuses: let vite load it.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
  },
});
