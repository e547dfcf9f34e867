#!/usr/bin/env node
// Inside a guplab VM: runs the job the host wrote (lib/guest.ts).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/lib/guest.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('guplab is not built: run `make build` (or `npm run build`) in the checkout first');
  process.exit(2);
}
await import(entry.href);
