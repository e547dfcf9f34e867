#!/usr/bin/env node
// Inside a guplab VM: runs the job the host wrote (lib/guest.ts).
import { runBuilt } from './run-built.js';

await runBuilt('guest', 'main');
