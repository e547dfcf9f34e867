#!/usr/bin/env node
// The guplab CLI (lib/cli.ts runCli).
import { runBuilt } from './run-built.js';

await runBuilt('cli', 'runCli');
