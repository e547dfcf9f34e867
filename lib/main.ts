// The guplab CLI's entry (bin/guplab.js): lib/cli.ts builds the program
// without running it, so the docs can walk it; this runs it.
import { runCli } from './cli.js';

await runCli();
