#!/usr/bin/env node
// The guplab CLI (lib/cli.ts, run by lib/main.ts).
import { runBuilt } from './run-built.js';

await runBuilt('main');
