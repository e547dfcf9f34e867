// `guplab fidelity`: gup_test's in-kernel benchmark and guplab's BENCH on
// the same work, in one boot: the out-of-tree gup_test.ko and guplab.ko
// side by side, each case's median ns/page from both and their ratio.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadResult, type BenchCase } from '../bench/results.js';
import { projectRoot } from '../util/root.js';
import { writeFileAtomic } from '../util/atomic.js';
import { hostArch } from '../vm/arch.js';
import { vmRun } from '../vm/run.js';
import { caseName, fidelityCases, fidelityMarkdown, fidelityRowRounds, withMixes, gupTestArgs, matchBench, FIDELITY_CMDS, type FidelityCase } from '../selftests/fidelity.js';
import { prepareSelftests } from './selftests.js';
import { reportVm, type VmBase } from './vm.js';

const log = (msg: string): void => {
  process.stderr.write(`guplab: ${msg}\n`);
};

function quote(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`;
}

/**
 * The guest script: gup_test.ko loaded, then `rounds` rounds, each every
 * gup_test case then guplab's BENCH on the same cases (one bench run per
 * flag set), so that a change of the host's load between the two sides
 * shows as a spread of the per-round ratios. While a THP case of gup_test
 * runs, the THP faults it took are counted (gup_test maps its buffer itself,
 * not 2 MiB aligned).
 */
export function fidelityScript(opts: { binDir: string; module: string; cases: readonly FidelityCase[]; repeats: number; rounds: number }): string {
  const lines = ['set -u', 'out="$GUPLAB_VM_OUT"', 'grep -q " /sys/kernel/debug " /proc/mounts || mount -t debugfs debugfs /sys/kernel/debug', `insmod ${quote(opts.module)} || exit 3`];
  const sizes = [...new Set(opts.cases.map((c) => `${c.sizeMiB}M`))].join(',');
  const ppcs = [...new Set(opts.cases.map((c) => c.ppc))].join(',');
  const backings = [...new Set(opts.cases.map((c) => c.backing))].join(',');
  for (let r = 0; r < opts.rounds; r++) {
    opts.cases.forEach((c, i) => {
      const cmd = [`${opts.binDir}/gup_test`, ...gupTestArgs(c, opts.repeats)].map(quote).join(' ');
      const file = `"$out/gup_test-${i}-r${r}`;
      lines.push(`echo "fidelity: round ${r + 1}/${opts.rounds} gup_test ${caseName(c)}"`);
      if (c.backing === 'THP') {
        // THPs gup_test's own buffer got: the THP faults of its prefault (one process, one buffer).
        lines.push(
          `a=$(awk '/^thp_fault_alloc / {print $2}' /proc/vmstat)`,
          `${cmd} > ${file}.tap" 2>&1`,
          `echo $(( $(awk '/^thp_fault_alloc / {print $2}' /proc/vmstat) - a )) > ${file}.thp"`,
        );
      } else lines.push(`${cmd} > ${file}.tap" 2>&1`);
    });
    for (const flags of [...new Set(opts.cases.map((c) => c.flags))]) {
      const apis = [...new Set(opts.cases.filter((c) => c.flags === flags).map((c) => c.api))].join(',');
      const dir = `"$out/bench-${flags.replace('+', '-')}-r${r}"`;
      lines.push(
        `echo "fidelity: round ${r + 1}/${opts.rounds} guplab bench ${apis} ${flags}"`,
        `(cd ${quote(projectRoot)} && node bin/guplab.js bench --api ${apis} --backing ${backings} --size ${sizes} --ppc ${ppcs} --flags ${flags} --prefault yes --iterations ${opts.repeats} --no-report --no-progress --out ${dir}) > ${dir}.log 2>&1`,
      );
    }
  }
  lines.push('exit 0', '');
  return lines.join('\n');
}

export async function fidelityInVm(vm: VmBase, o: { out: string; repeats: number; rounds: number }): Promise<number> {
  const arch = vm.arch ?? hostArch();
  const prep = prepareSelftests(vm.kernel ?? '6.1', arch, { requireModule: true });
  const cases = fidelityCases();
  const tag = `${prep.kernel.release}-${arch}`;
  const out = path.resolve(o.out);
  const runDir = path.join(out, `fidelity-${tag}.d`);
  mkdirSync(runDir, { recursive: true });
  const script = path.join(runDir, 'guest.sh');
  writeFileSync(script, fidelityScript({ binDir: prep.binDir, module: prep.module!, cases, repeats: o.repeats, rounds: o.rounds }));
  // THP needs no reserved pages; 32 MiB buffers fit the default guest.
  const result = await vmRun({ ...vm, kernel: prep.boot, arch, command: ['sh', script], outDir: runDir, log, memMiB: Math.max(vm.memMiB ?? 2048, 2048) });
  const code = reportVm(result);
  const benchOf = (r: number): BenchCase[] => {
    const out: BenchCase[] = [];
    for (const flags of new Set(FIDELITY_CMDS.map((c) => c.flags))) {
      const file = path.join(runDir, `bench-${flags.replace('+', '-')}-r${r}`, 'results.json');
      if (existsSync(file)) out.push(...loadResult(file).cases);
    }
    return out;
  };
  const read = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  const rounds = Array.from({ length: o.rounds }, (_, r) => benchOf(r));
  const rows = cases.map((c, i) =>
    fidelityRowRounds(
      c,
      rounds.map((bench, r) => {
        const thp = read(path.join(runDir, `gup_test-${i}-r${r}.thp`)).trim();
        return { gupTest: read(path.join(runDir, `gup_test-${i}-r${r}.tap`)), bench: matchBench(c, bench), ...(thp && Number(thp) >= 0 ? { thpKiB: Number(thp) * 2048 } : {}) };
      }),
    ),
  );
  withMixes(cases, rows);
  const md = fidelityMarkdown(rows, result.accel);
  const header = `# Fidelity: ${prep.kernel.release} ${arch} ${result.accel.toUpperCase()} (QEMU ${result.qemuVersion}), gup_test.ko from ${prep.source.name} ${prep.source.version}, ${o.rounds} rounds of ${o.repeats} gup_test repeats / guplab iterations (x bench's own 5 rounds) per case\n\n`;
  writeFileAtomic(path.join(out, `fidelity-${tag}.md`), header + md);
  writeFileAtomic(path.join(out, `fidelity-${tag}.json`), `${JSON.stringify({ schema: 'guplab-fidelity/1', release: prep.kernel.release, arch, accelerator: result.accel, qemuVersion: result.qemuVersion, source: prep.source, repeats: o.repeats, rounds: o.rounds, rows }, null, 2)}\n`);
  console.log(header + md);
  return code;
}
