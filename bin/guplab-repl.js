#!/usr/bin/env node
// A Node REPL with guplab imported and /dev/guplab open (lib/repl.ts); guplab vm shell --repl runs it in the guest.
import { runBuilt } from './run-built.js';

await runBuilt('repl', 'main');
