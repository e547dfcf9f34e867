#!/usr/bin/env node
// The compiled CLI lives in dist/ (`make build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/lib/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('guplab is not built: run `make build` (or `npm run build`) in the checkout first');
  process.exit(2);
}
await import(cli.href);
