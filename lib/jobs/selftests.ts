// `guplab selftests`: the kernel's own GUP selftests (gup_test with the
// out-of-tree mm/gup_test.c module, gup_longterm, cow) on a Debian kernel,
// built from Debian's linux-source package of the kernel's line
// (lib/selftests/build.ts), run in the guest with guplab's own probes in
// the same boot, collected into one KTAP document, a JSON summary and the
// cross-check table (lib/selftests/crosscheck.ts).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadCheckReport, type CheckReport } from '../check/report.js';
import { projectRoot } from '../util/root.js';
import { writeFileAtomic } from '../util/atomic.js';
import { hostArch, type Arch } from '../vm/arch.js';
import { debugLine } from '../kernels/debugkernel.js';
import { DEFAULT_KERNEL, ensureKernel, resolveArchiveKernel, resolveDebugSource, isCachedKernel, type Kernel } from '../kernels/kernel.js';
import { preflight, vmRun, type VmRunResult } from '../vm/run.js';
import { targetOf } from '../kernels/resolve.js';
import { buildGupTestModule, buildSelftests, ensureSource, sourcePackageFor, UnexportedSymbolsError, type SourcePackage } from '../selftests/build.js';
import { crossCheck, crossCheckMarkdown, type CrossRow } from '../selftests/crosscheck.js';
import { judgeRun, mergeKtap, type SubtestVerdict } from '../selftests/ktap.js';
import { guestScript, runFile, withFilesystems, type Invocation } from '../selftests/plan.js';
import { fullGuestUnlessChosen, reportVm, type VmBase } from './vm.js';

/** The probes that ask the selftests' questions (lib/selftests/crosscheck.ts). */
export const CROSS_CHECK_PROBES = ['writable-longterm-shared', 'writable-longterm-family', 'cow-ro-pin'] as const;

const log = (msg: string): void => {
  process.stderr.write(`guplab: ${msg}\n`);
};

export interface Prepared {
  kernel: Kernel;
  /** What --kernel boots it: the release of a Debian kernel, the spec of a debug one. */
  boot: string;
  source: SourcePackage;
  src: string;
  /** Absent when the kernel does not export what gup_test.c needs (moduleError says what). */
  module?: string;
  moduleError?: string;
  /** The kernel has mm/gup_test.c built in (a debug kernel): no module to load. */
  builtIn?: boolean;
  binDir: string;
  built: string[];
  invocations: Invocation[];
  /** Seconds each step took (0 when cached). */
  timings: { sourceS: number; moduleS: number; userspaceS: number };
}

/** Where gup_test comes from, as the reports say it. */
function gupTestOrigin(prep: Prepared): string {
  if (prep.builtIn) return 'built in (CONFIG_GUP_TEST=y)';
  return prep.module ? 'mm/gup_test.c built out of tree' : `none (${prep.moduleError ?? 'not built'})`;
}

function timed<T>(fn: () => T): [T, number] {
  const t = Date.now();
  const v = fn();
  return [v, (Date.now() - t) / 1000];
}

/**
 * Resolves the kernel and its linux-source package first (a line without
 * one fails here, before anything is downloaded), then fetches and builds.
 */
export function prepareSelftests(spec: string, arch: Arch, opts: { requireModule?: boolean } = {}): Prepared {
  const line = debugLine(spec);
  if (line !== undefined) {
    // A debug kernel has mm/gup_test.c built in (CONFIG_GUP_TEST=y) and its own source.
    const { source, gen } = resolveDebugSource(line, arch, log);
    const kernel = ensureKernel(spec, arch, log);
    const [src, sourceS] = timed(() => ensureSource(source, gen, log));
    const [{ binDir, built, invocations }, userspaceS] = timed(() => buildSelftests(src, kernel, source.version, log));
    return { kernel, boot: spec, source, src, builtIn: true, binDir, built, invocations, timings: { sourceS, moduleS: 0, userspaceS } };
  }
  const { kernel: entry, gen } = resolveArchiveKernel(spec, arch, log);
  const source = sourcePackageFor(entry, gen);
  if (!source.exact)
    log(`selftests: the archive has no ${source.name} ${entry.version} (the kernel's version); building from ${source.version}, the newest of the line`);
  const kernel = ensureKernel(isCachedKernel(entry.release) ? entry.release : spec, arch, log);
  const [src, sourceS] = timed(() => ensureSource(source, gen, log));
  let moduleError: string | undefined;
  const [module, moduleS] = timed(() => {
    try {
      return buildGupTestModule(kernel, src, source.version, log);
    } catch (err) {
      if (opts.requireModule || !(err instanceof UnexportedSymbolsError)) throw err;
      moduleError = err.message;
      log(`${err.message}\nselftests: going on without gup_test.ko: its cases will skip`);
      return undefined;
    }
  });
  const [{ binDir, built, invocations }, userspaceS] = timed(() => buildSelftests(src, kernel, source.version, log));
  return {
    kernel,
    boot: kernel.release,
    source,
    src,
    ...(module ? { module } : {}),
    ...(moduleError ? { moduleError } : {}),
    binDir,
    built,
    invocations,
    timings: { sourceS, moduleS, userspaceS },
  };
}

export interface SelftestsSummary {
  schema: 'guplab-selftests/1';
  release: string;
  arch: Arch;
  accelerator: string;
  qemuVersion: string;
  source: SourcePackage;
  /** The gup_test.ko loaded, or why there was none. */
  module: string | { notBuilt: string };
  bootToCommandS: number | null;
  wallS: number;
  build: Prepared['timings'];
  totals: { pass: number; fail: number; skip: number };
  subtests: { name: string; status: SubtestVerdict['status']; reason?: string; counts: SubtestVerdict['counts']; plan?: number }[];
  crossCheck?: { rows: CrossRow[]; agree: number; disagree: number; notCompared: number };
}

/** Reads the guest's per-invocation files back into verdicts; an invocation with no files never ran (the guest died): a fail. */
export function collectVerdicts(dir: string, invocations: readonly Invocation[], built: readonly string[]): SubtestVerdict[] {
  return invocations.map((inv, i) => {
    if (!built.includes(inv.binary))
      return judgeRun({ name: inv.name, exitCode: null, output: '', skip: `${inv.binary}.c is not in this version's selftests` });
    const tap = path.join(dir, runFile(i, 'tap'));
    const rc = path.join(dir, runFile(i, 'rc'));
    const output = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
    const exitCode = existsSync(rc) ? Number(readFileSync(rc, 'utf8').trim()) : null;
    return judgeRun({ name: inv.name, exitCode, output });
  });
}

export interface SelftestsOptions {
  out: string;
  /** Run guplab's probes in the same boot and write the cross-check table. */
  crossCheck: boolean;
  /** Only these selftest binaries (gup_test, gup_longterm, cow); default every one the version runs. */
  only?: readonly string[];
  /** Where the guest's command output goes; default stdout. */
  output?: NodeJS.WritableStream;
}

/** Builds, boots, runs; returns the exit code (0 every selftest passed or skipped, 1 a failure, or the VM's code). */
export async function selftestsInVm(vm: VmBase, o: SelftestsOptions): Promise<number> {
  const arch = vm.arch ?? hostArch();
  preflight(vm);
  const prep = prepareSelftests(vm.kernel ?? DEFAULT_KERNEL, arch);
  log(
    `selftests: built in ${prep.timings.sourceS.toFixed(1)} s (source) + ${prep.timings.moduleS.toFixed(1)} s (gup_test.ko) + ${prep.timings.userspaceS.toFixed(1)} s (${prep.built.join(', ')})`,
  );
  // gup_test alone needs no disks, huge pages or pmem: the plain guest boots faster.
  const plain = o.only?.length && o.only.every((b) => b === 'gup_test') && !o.crossCheck;
  const guestVm = plain ? vm : fullGuestUnlessChosen(vm);
  const fs = (guestVm.memory?.fs ?? []).map((f) => ({ fs: f, path: `/mnt/guplab/${f}`, dax: false }));
  const chosen = o.only?.length ? prep.invocations.filter((i) => o.only!.includes(i.binary)) : prep.invocations;
  if (!chosen.length)
    throw new Error(`--only ${o.only?.join(',')} selects none of this version's selftests (${[...new Set(prep.invocations.map((i) => i.binary))].join(', ')})`);
  const invocations = withFilesystems(chosen, fs);
  const tag = `${prep.kernel.release}-${arch}`;
  const out = path.resolve(o.out);
  const runDir = path.join(out, `selftests-${tag}.d`);
  mkdirSync(runDir, { recursive: true });
  const after = o.crossCheck
    ? [
        `cd ${projectRoot} && node bin/guplab.js check --only ${CROSS_CHECK_PROBES.join(',')} --out "$out/check" > "$out/check.ktap" 2>&1; echo $? > "$out/check.rc"`,
      ]
    : [];
  const text = guestScript({ binDir: prep.binDir, module: prep.module, invocations, after, timeoutSec: 600 });
  const result: VmRunResult = await vmRun({
    ...guestVm,
    target: targetOf(prep.kernel, prep.boot),
    job: { steps: [{ kind: 'script', name: 'selftests', text }] },
    outDir: runDir,
    log,
    ...(o.output ? { output: o.output } : {}),
  });
  const code = reportVm(result);
  const verdicts = collectVerdicts(runDir, invocations, prep.built);
  const header = [
    `guplab selftests: ${prep.kernel.release} ${arch} ${result.accel.toUpperCase()} (QEMU ${result.qemuVersion}); figures in the output come from ${result.accel.toUpperCase()}${result.accel === 'tcg' ? ', an emulated CPU' : ''}`,
    `source: ${prep.source.name} ${prep.source.version}${prep.source.exact ? '' : " (not the kernel's own version)"}; gup_test: ${gupTestOrigin(prep)}`,
  ];
  const ktap = mergeKtap(verdicts, header);
  writeFileAtomic(path.join(out, `selftests-${tag}.ktap`), ktap);
  const totals = { pass: 0, fail: 0, skip: 0 };
  for (const v of verdicts) totals[v.status]++;
  let report: CheckReport | undefined;
  const checkFile = path.join(runDir, 'check', 'check.json');
  if (o.crossCheck && existsSync(checkFile)) report = loadCheckReport(checkFile);
  const rows = o.crossCheck ? crossCheck(verdicts, report) : undefined;
  const summary: SelftestsSummary = {
    schema: 'guplab-selftests/1',
    release: prep.kernel.release,
    arch,
    accelerator: result.accel,
    qemuVersion: result.qemuVersion,
    source: prep.source,
    module: prep.builtIn ? gupTestOrigin(prep) : (prep.module ?? { notBuilt: prep.moduleError ?? 'not built' }),
    bootToCommandS: result.bootToCommandMs === null ? null : result.bootToCommandMs / 1000,
    wallS: result.wallMs / 1000,
    build: prep.timings,
    totals,
    subtests: verdicts.map((v) => ({
      name: v.name,
      status: v.status,
      ...(v.reason ? { reason: v.reason } : {}),
      counts: v.counts,
      ...(v.plan !== undefined ? { plan: v.plan } : {}),
    })),
    ...(rows
      ? {
          crossCheck: {
            rows,
            agree: rows.filter((r) => r.verdict === 'agree').length,
            disagree: rows.filter((r) => r.verdict === 'DISAGREE').length,
            notCompared: rows.filter((r) => r.verdict === 'not compared').length,
          },
        }
      : {}),
  };
  writeFileAtomic(path.join(out, `selftests-${tag}.json`), `${JSON.stringify(summary, null, 2)}\n`);
  if (rows)
    writeFileAtomic(
      path.join(out, `crosscheck-${tag}.md`),
      `# Cross-check: ${prep.kernel.release} ${arch} ${result.accel.toUpperCase()}\n\n${crossCheckMarkdown(rows)}`,
    );
  console.log(selftestsTable(summary));
  if (rows) console.log(`\n${crossCheckMarkdown(rows)}`);
  log(`wrote ${path.join(out, `selftests-${tag}.ktap`)}, selftests-${tag}.json${rows ? `, crosscheck-${tag}.md` : ''}`);
  if (code !== 0) return code;
  return totals.fail > 0 ? 1 : 0;
}

/** One line per selftest invocation, then the totals. */
export function selftestsTable(s: SelftestsSummary): string {
  const lines = [`${s.release} ${s.arch} ${s.accelerator.toUpperCase()} (figures from ${s.accelerator.toUpperCase()}), ${s.source.name} ${s.source.version}`];
  for (const t of s.subtests) {
    const c = t.counts;
    lines.push(`  ${t.status.padEnd(4)} ${t.name.padEnd(46)} pass ${c.pass} fail ${c.fail} skip ${c.skip}${t.reason ? `  (${t.reason})` : ''}`);
  }
  lines.push(`  totals: ${s.totals.pass} pass, ${s.totals.fail} fail, ${s.totals.skip} skip (selftest invocations)`);
  return lines.join('\n');
}

/** Without --vm: builds everything for the kernel and says where it is. */
export function selftestsBuildOnly(spec: string, arch: Arch): number {
  const prep = prepareSelftests(spec, arch);
  console.log(
    `gup_test: ${prep.module ?? gupTestOrigin(prep)}\nselftests (${prep.built.join(', ')}): ${prep.binDir}\nruns (run_vmtests.sh of ${prep.source.version}):\n${prep.invocations.map((i) => `  ${i.name}`).join('\n')}`,
  );
  console.log('boot the kernel and run them with --vm');
  return prep.module || prep.builtIn ? 0 : 1;
}
