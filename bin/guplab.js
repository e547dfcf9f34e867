#!/usr/bin/env node
// The guplab CLI (lib/cli.ts).
import { runBuilt } from './run-built.js';

await runBuilt('cli');
