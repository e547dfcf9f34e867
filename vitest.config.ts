import { defineConfig } from 'vitest/config';
import { limit } from './test/limits.js';

export default defineConfig({
  test: {
    // Native addons and worker threads do not mix: one process per file.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: limit(60_000),
    hookTimeout: limit(120_000),
    reporters: ['verbose'],
    // It imports its JSON schema without an import attribute, which Node 20 refuses: let vite load it.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
  },
});
