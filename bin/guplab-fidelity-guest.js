#!/usr/bin/env node
// Inside a `guplab fidelity` VM: gup_test and BENCH pairs of the job file
// named on the command line (lib/selftests/fidelity-guest.ts).
import { runBuilt } from './run-built.js';

await runBuilt('selftests/fidelity-guest', 'main');
