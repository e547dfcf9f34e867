import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Native addons and worker threads do not mix: one process per file.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    reporters: ['verbose'],
  },
});
