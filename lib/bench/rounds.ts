// The guest side of the round protocol (lib/contract.ts ROUND_FILES): a
// RoundDriver that waits for the host's go file before each round and hands
// back the round's samples after it.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseRoundGo, ROUND_FILES, type RoundDone } from '../contract.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { RoundDriver } from './engine.js';
import type { BenchCase } from './results.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls for a file; the host's runner ends the guest at its timeout, so no timeout of its own. */
async function waitFor(file: string, pollMs: number): Promise<string> {
  while (!existsSync(file)) await sleep(pollMs);
  return readFileSync(file, 'utf8');
}

/** The samples case `c` got in round `round` (the round index of every sample is kept). */
export function roundSamples(cases: readonly BenchCase[], round: number, ran: ReadonlySet<string>): RoundDone['cases'] {
  return cases
    .filter((c) => ran.has(c.id))
    .map((c) => {
      const idx = c.round.flatMap((r, i) => (r === round ? [i] : []));
      return { id: c.id, pages: c.pages, getNs: idx.map((i) => c.getNs[i] as number), putNs: idx.map((i) => c.putNs[i] as number) };
    });
}

/** A driver that follows the host's go files in `dir` (the run folder's rounds folder). */
export function hostRoundDriver(dir: string, pollMs = 10): RoundDriver {
  let started = 0;
  return {
    async next(round, cases) {
      mkdirSync(dir, { recursive: true });
      if (round === 0) writeFileAtomic(path.join(dir, ROUND_FILES.ready), `${cases.length}\n`);
      const file = path.join(dir, ROUND_FILES.go(round));
      const go = parseRoundGo(await waitFor(file, pollMs), file);
      if (go.round !== round) throw new Error(`round file ${file} says round ${go.round}: the host and the guest disagree on the round`);
      started = Date.now();
      if ('stop' in go) return null;
      const ok = cases.filter((c) => c.status === 'ok').map((c) => c.id);
      return new Set(go.cases ? go.cases.filter((id) => ok.includes(id)) : ok);
    },
    async after(round, cases, ran) {
      const done: RoundDone = { round, wallMs: Date.now() - started, cases: roundSamples(cases, round, ran) };
      writeFileAtomic(path.join(dir, ROUND_FILES.done(round)), `${JSON.stringify(done)}\n`);
    },
  };
}
