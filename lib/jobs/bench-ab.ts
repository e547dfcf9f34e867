// `guplab bench --vm --kernel A,B[,C...]`: kernel A/B in one run. One guest
// per kernel stays booted; the host alternates rounds between them (one
// guest measures while the others wait on the round protocol of
// lib/contract.ts), so that a change of the host's load falls on every
// kernel alike. Each kernel's results.json lands in its own folder, ab.json
// beside them, and compare runs on it directly.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadResult, type AbResult, type BenchResult } from '../bench/results.js';
import type { Spec } from '../bench/spec.js';
import { bootstrapRatioCI, minimumDetectableEffect, type Grouped } from '../bench/stats.js';
import { ROUND_FILES, RUN_FILES, type RoundDone, type RoundGo } from '../contract.js';
import { writeFileAtomic } from '../util/atomic.js';
import { vmRun, type VmRunResult } from '../vm/run.js';
import { provenance } from '../bench/environment.js';
import { benchGuestMemory, writeReport, type BenchOutput } from './bench.js';
import { compareAbRuns } from './compare.js';
import { bootTarget, reportVm, type VmBase } from './vm.js';
import type { BootTarget } from '../kernels/target.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A guest's label and folder: A 6.1, B 6.12 (letters keep a kernel given twice apart). */
export function abLabels(kernels: readonly string[]): { label: string; folder: string }[] {
  if (kernels.length > 26) throw new RangeError('at most 26 kernels in one A/B run');
  return kernels.map((k, i) => {
    const letter = String.fromCharCode(65 + i);
    return { label: `${letter} ${k}`, folder: `${letter}-${k.replace(/[^\w.+-]/g, '_')}` };
  });
}

/** Per guest, per case: the samples so far (get+put ns/page) with their rounds. */
type Samples = Map<string, { values: number[]; rounds: number[] }>;

function addDone(into: Samples, done: RoundDone): void {
  for (const c of done.cases) {
    const s = into.get(c.id) ?? { values: [], rounds: [] };
    c.getNs.forEach((g, i) => {
      s.values.push((g + (c.putNs[i] ?? 0)) / c.pages);
      s.rounds.push(done.round);
    });
    into.set(c.id, s);
  }
}

/**
 * The cases whose MDE (every other guest against the first, the ratio CI of
 * compare) is still above the target, with the worst MDE.
 */
export function casesAboveMde(samples: readonly Samples[], target: number): { above: string[]; worst: number } {
  const first = samples[0];
  const above = new Set<string>();
  let worst = 0;
  if (!first) return { above: [], worst };
  for (const [id, a] of first) {
    for (const other of samples.slice(1)) {
      const b = other.get(id);
      if (!b || !a.values.length || !b.values.length) continue;
      // As compare does on ab.json (paired by round): the stop rule and the report agree.
      const { ratio, ci95 } = bootstrapRatioCI(a as Grouped, b as Grouped, { paired: true });
      const mde = minimumDetectableEffect(ratio, ci95);
      worst = Math.max(worst, mde);
      if (mde > target) above.add(id);
    }
  }
  return { above: [...above], worst };
}

interface Guest {
  label: string;
  folder: string;
  kernel: string;
  dir?: string;
  finished?: VmRunResult;
  run: Promise<VmRunResult>;
  samples: Samples;
}

async function waitForFile(g: Guest, file: string, what: string): Promise<string> {
  for (;;) {
    if (g.dir && existsSync(path.join(g.dir, RUN_FILES.rounds, file))) return readFileSync(path.join(g.dir, RUN_FILES.rounds, file), 'utf8');
    if (g.finished) throw new Error(`guest ${g.label} ended (exit ${g.finished.status ?? '-'}) while the host waited for ${what}`);
    await sleep(20);
  }
}

const go = (g: Guest, msg: RoundGo): void => {
  if (g.dir) writeFileAtomic(path.join(g.dir, RUN_FILES.rounds, ROUND_FILES.go(msg.round)), `${JSON.stringify(msg)}\n`);
};

export interface AbOptions extends BenchOutput {
  kernels: string[];
  command: string[];
}

/** Boots one guest per kernel, alternates rounds between them, writes ab.json and every kernel's result; returns the exit code. */
export async function benchAbInVm(spec: Spec, vm: VmBase, o: AbOptions): Promise<number> {
  const labels = abLabels(o.kernels);
  const memory = benchGuestMemory(spec, vm.memory ?? {});
  const log = (msg: string): void => void process.stderr.write(`guplab: ${msg}\n`);
  const guests: Guest[] = [];
  const stopAll = (round: number): void => {
    for (const g of guests) if (!g.finished) go(g, { round, stop: true });
  };
  const roundLog: AbResult['rounds'] = [];
  // Each guest lives the whole run: its timeout is --timeout plus the --mde budget, and the host
  // stops giving rounds 120 s before the first guest's timeout, so every guest can write its result.
  const guestTimeoutSec = (vm.timeoutSec ?? 900) + (spec.mde !== undefined ? (spec.budgetSec ?? 600) : 0);
  // Every kernel resolved (fetched) before the first boot: a guest that boots does not wait on a download.
  const targets = o.kernels.map((kernel) => bootTarget({ ...vm, kernel, memory }));
  const launched = Date.now();
  const deadline = launched + (guestTimeoutSec - 120) * 1000;
  let stoppedBy: string | undefined;
  let round = 0;
  try {
    // Boot one after the other: a guest that boots does not share the CPUs with one that measures.
    for (const [i, { label, folder }] of labels.entries()) {
      const kernel = o.kernels[i] as string;
      const target = targets[i] as BootTarget;
      const g: Guest = { label, folder, kernel, samples: new Map(), run: Promise.resolve(undefined as unknown as VmRunResult) };
      const sink = new Writable({ write: (_c, _e, done) => done() }); // the guests print nothing the host needs
      g.run = vmRun({
        ...vm,
        timeoutSec: guestTimeoutSec,
        timingClock: true,
        target,
        memory,
        job: { steps: [{ kind: 'bench', spec, dir: '', print: 'none', progress: false, hostDriven: true, provenance: provenance(o.command) }] },
        outDir: path.resolve(o.out, folder),
        output: vm.verbose ? process.stderr : sink,
        log: (msg) => log(`${label}: ${msg}`),
        onRunDir: (dir) => {
          g.dir = dir;
        },
      }).then((r) => {
        g.finished = r;
        return r;
      });
      guests.push(g);
      const t0 = Date.now();
      await waitForFile(g, ROUND_FILES.ready, 'it to boot');
      log(`${label}: ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    const started = Date.now();
    let cases: string[] | undefined; // undefined: every case
    for (round = 0; round < 100; round++) {
      if (round >= spec.rounds) {
        if (spec.mde === undefined) break;
        const { above, worst } = casesAboveMde(
          guests.map((g) => g.samples),
          spec.mde,
        );
        if (above.length === 0) {
          stoppedBy = `every case at MDE <= ${(spec.mde * 100).toFixed(0)}% (worst ${(worst * 100).toFixed(1)}%)`;
          break;
        }
        if ((Date.now() - started) / 1000 >= (spec.budgetSec ?? 600)) {
          stoppedBy = `budget ${spec.budgetSec ?? 600} s spent with ${above.length} case(s) above MDE ${(spec.mde * 100).toFixed(0)}% (worst ${(worst * 100).toFixed(1)}%)`;
          break;
        }
        log(`after round ${round}: ${above.length} case(s) above MDE ${(spec.mde * 100).toFixed(0)}%, worst ${(worst * 100).toFixed(1)}%`);
        cases = above;
      }
      if (Date.now() > deadline) {
        stoppedBy = `${guestTimeoutSec - 120} s of the guests' ${guestTimeoutSec} s timeout used (raise --timeout)`;
        break;
      }
      // Alternate which guest goes first (A B, B A, ...): neither kernel always follows the other.
      const order = round % 2 === 0 ? guests : [...guests].reverse();
      for (const g of order) {
        go(g, cases ? { round, cases } : { round });
        const done = JSON.parse(await waitForFile(g, ROUND_FILES.done(round), `round ${round}`)) as RoundDone;
        addDone(g.samples, done);
        roundLog.push({ round, label: g.label, cases: done.cases.length, wallMs: done.wallMs });
        log(`round ${round + 1} ${g.label}: ${done.cases.length} cases, ${(done.wallMs / 1000).toFixed(1)} s`);
      }
    }
    if (round >= 100) stoppedBy = 'at 100 rounds';
  } catch (err) {
    log(`A/B run stopped: ${err instanceof Error ? err.message : String(err)}`);
    stopAll(round);
    const results = await Promise.all(guests.map((g) => g.run));
    for (const r of results) reportVm(r);
    return 1;
  }
  stopAll(round);
  const runs = await Promise.all(guests.map((g) => g.run));
  let failed = 0;
  for (const r of runs) {
    const code = reportVm(r);
    if (code !== 0) failed = code;
  }
  if (failed) return failed;
  const results: BenchResult[] = guests.map((g) => loadResult(path.resolve(o.out, g.folder, 'results.json')));
  const ab: AbResult = {
    schema: 'guplab-bench-ab/1',
    createdAt: new Date().toISOString(),
    command: o.command,
    runs: guests.map((g) => ({ label: g.label, kernel: g.kernel, file: path.join(g.folder, 'results.json') })),
    rounds: roundLog,
    ...(stoppedBy ? { stoppedBy } : {}),
  };
  const abFile = path.resolve(o.out, 'ab.json');
  writeFileAtomic(abFile, `${JSON.stringify(ab, null, 2)}\n`);
  if (o.report) for (const [i, g] of guests.entries()) await writeReport(results[i] as BenchResult, path.resolve(o.out, g.folder));
  if (stoppedBy) log(`stopped: ${stoppedBy}`);
  // The A/B table; the run itself is not a gate (exit 0): gate with `guplab compare ab.json`.
  const { code } = compareAbRuns(abFile, 10, o.json, o.report ? { outDir: path.resolve(o.out), command: o.command.join(' ') } : undefined);
  log(`wrote ${abFile} and ${guests.map((g) => path.join(g.folder, 'results.json')).join(', ')}`);
  return code === 2 ? 2 : 0;
}
