#!/usr/bin/env node
// A Node REPL with guplab imported and /dev/guplab open (lib/repl.ts); guplab vm shell --repl runs it in the guest.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/lib/repl.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('guplab is not built: run `make build` (or `npm run build`) in the checkout first');
  process.exit(2);
}
await import(entry.href);
