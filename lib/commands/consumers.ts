// `guplab consumers check|bench`: the kernel's own GUP consumers (io_uring,
// O_DIRECT, vmsplice, process_vm_*, /proc/PID/mem, MADV_POPULATE_*) on this
// machine's kernel, with no module and no VM: what each answers on each
// backing against its per-kernel expectation (KTAP and JSON, as check), and
// what each costs per page on this CPU (results.json, as bench). `check --vm`
// runs the same suite in a guest booted without guplab.ko, which is how the
// image-only Debian lines (no headers in the archive) are asked.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { parseSize } from '../bench/spec.js';
import { runningVersion } from '../check/expectations.js';
import { checkPassed, loadCheckReport, type CheckReport } from '../check/report.js';
import { crossCheck, crossCheckStatus, crossCheckTable, type CrossRow } from '../consumers/crosscheck.js';
import { BENCH_PATHS, consumerBenchTable, defaultBenchSpec, runConsumerBench, type BenchPath } from '../consumers/bench.js';
import { runConsumers } from '../consumers/run.js';
import { CONSUMERS, CONSUMER_IDS, gupCallOn } from '../consumers/table.js';
import { positiveInt, UsageError } from '../util/args.js';
import { writeFileAtomic } from '../util/atomic.js';
import { projectRoot } from '../util/root.js';
import { guestPath } from '../contract.js';
import { DEFAULT_KERNEL, kernelConfig, resolveArchiveKernel } from '../kernels/kernel.js';
import { daxForKernel, type GuestMemoryOptions } from '../vm/guest.js';
import { bootTarget, reportVm } from '../jobs/vm.js';
import { addVmOptions, commaList, log, refuseVmOnly, vmBase, type VmCliOptions } from './options.js';
import type { Arch } from '../vm/paths.js';

/** The guest of `consumers check --vm` unless the user chose its memory: ext4 and xfs disks, and DAX ext4 and xfs on pmem where the kernel can (daxForKernel), each a pair of file cases; 2 MiB huge pages for hugetlb. */
const GUEST_MEMORY: GuestMemoryOptions = { fs: ['ext4', 'xfs'], hugepages: 8, pmem: '128M', dax: ['ext4', 'xfs'], daxOptional: true };

/** kselftest's "every case skipped". */
const EXIT_SKIP = 4;

function sizes(value: string): number[] {
  return commaList(value).map((s) => {
    let n: number;
    try {
      n = parseSize(s);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    if (n < 4096 || n % 4096 !== 0 || n > 1 << 30) throw new InvalidArgumentError(`${s}: a size is whole 4K pages, up to 1G (io_uring's limit per buffer)`);
    return n;
  });
}

export function addConsumersCommand(program: Command, host: Arch): void {
  const vmOptions = (c: Command): Command => addVmOptions(c, host);
  const cmd = program
    .command('consumers')
    .description(
      "the kernel's own GUP consumers (io_uring, O_DIRECT, vmsplice, process_vm_*, /proc/PID/mem, MADV_POPULATE_*) on this machine: no module, no VM (docs/consumers.md)",
    );

  vmOptions(
    cmd
      .command('check')
      .description(
        'each consumer on each backing (anon, THP, memfd, tmpfs, a file on --dir, hugetlb, secretmem, guard, PROT_NONE, read-only) as KTAP, against per-kernel expectations',
      )
      .option('--only <ids>', `comma-separated consumers: ${CONSUMER_IDS.join(', ')}`, commaList, [] as string[])
      .option('--list', 'list the consumers, each with the GUP call it makes on this kernel, and exit')
      .option(
        '--dir <paths>',
        "folders for the file backings, comma-separated, one per filesystem (each filesystem names its file cases: file-ext4, file-xfs, file-ext4-dax); the first also holds the O_DIRECT source (default: the working directory; with --vm: the guest's --fs disks, then its --dax mounts)",
        commaList,
      )
      .option('--out <dir>', 'also write the report as JSON into DIR/consumers.json (with --vm default results/consumers-KERNEL-ARCH)')
      .option('--json', 'print the JSON report instead of KTAP')
      .option(
        '--vm',
        'boot the kernel in QEMU without guplab.ko (ext4 and xfs disks, DAX ext4 and xfs on 128M of pmem where the kernel has FS_DAX, 8 huge pages, unless the memory options say otherwise) and check there; image-only lines included',
      )
      .option('--no-module', 'boot without guplab.ko: what --vm always does here (the consumers never open /dev/guplab), accepted as vm run takes it'),
  ).action(async (opts: VmCliOptions & { only: string[]; list?: boolean; dir?: string[]; out?: string; json?: boolean; vm?: boolean }, sub: Command) => {
    refuseVmOnly(sub, opts.vm);
    if (opts.list) {
      const version = hostVersion();
      for (const c of CONSUMERS) {
        const call = gupCallOn(c.id, version);
        console.log(
          `${c.id.padEnd(20)} ${c.syscall}\n${''.padEnd(20)} -> ${call ? `${call.call}(${call.flags}) on ${version}` : `no GUP call read for ${version}`}`,
        );
      }
      return;
    }
    const unknown = opts.only.filter((id) => !(CONSUMER_IDS as readonly string[]).includes(id));
    if (unknown.length) throw new UsageError(`unknown consumer ${unknown.join(', ')}: \`guplab consumers check --list\` shows the ${CONSUMER_IDS.length}`);
    if (opts.vm) {
      const base = vmBase(opts, sub);
      // A line whose modules the archive lost (6.19 to 7.1) can mount no disk and no pmem: its file cases go to the guest's /tmp (tmpfs).
      const noModules = base.kernelImage ? undefined : archiveNoModules(opts.kernel ?? DEFAULT_KERNEL, base.arch ?? host, log);
      if (noModules) log(`${noModules}: no disks and no pmem in this guest, the file cases run on /tmp (tmpfs)`);
      const asked = Object.keys(base.memory ?? {}).length ? base.memory! : noModules ? { hugepages: GUEST_MEMORY.hugepages } : GUEST_MEMORY;
      const target = bootTarget({ ...base, memory: asked }, { module: false });
      // DAX only where the kernel has it (arm64 before 6.12 has no FS_DAX): decided here, so the folders are known before the boot.
      const { memory, noDax } = asked.pmem ? daxForKernel(asked, kernelConfig(target.kernel), target.kernel.arch, target.kernel.release) : { memory: asked };
      if (noDax) log(`no DAX file cases in this guest: ${noDax}`);
      const dirs = opts.dir ?? [...(memory.fs ?? []).map((f) => `/mnt/guplab/${f}`), ...(memory.dax ?? []).map((f) => `/mnt/guplab/${f}-dax`)];
      const args = [
        'consumers',
        'check',
        ...(opts.only.length ? ['--only', opts.only.join(',')] : []),
        '--dir',
        dirs.length ? dirs.join(',') : '/tmp',
        '--out',
        guestPath('out'),
        ...(opts.json ? ['--json'] : []),
      ];
      const outDir = path.resolve(opts.out ?? path.join('results', `consumers-${opts.kernel ?? DEFAULT_KERNEL}-${base.arch ?? host}`));
      const { vmRun } = await import('../vm/run.js');
      const result = await vmRun({
        ...base,
        target,
        memory,
        module: false,
        outDir,
        command: ['node', path.join(projectRoot, 'bin', 'guplab.js'), ...args],
      });
      process.exitCode = reportVm(result);
      if (result.status !== null) process.stderr.write(`guplab: wrote ${path.join(outDir, 'consumers.json')}\n`);
      return;
    }
    const report = runConsumers({ only: opts.only, ...(opts.dir ? { dirs: opts.dir } : {}), onLine: opts.json ? undefined : (line) => console.log(line) });
    if (opts.json) console.log(JSON.stringify(report, null, 2));
    if (opts.out) {
      const file = path.resolve(opts.out, 'consumers.json');
      writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
      process.stderr.write(`guplab: wrote ${file}\n`);
    }
    const cases = report.probes.flatMap((p) => p.cases);
    process.exitCode = cases.length > 0 && cases.every((c) => c.status === 'skip') ? EXIT_SKIP : checkPassed(report) ? 0 : 1;
  });

  cmd
    .command('cross-check')
    .description(
      'each consumer answer beside the module probe of the same GUP call and flags, from two reports of one kernel: agree or DISAGREE (exit 1 on a disagreement the source does not explain)',
    )
    .argument('<consumers>', 'the consumer report (consumers check --out DIR: DIR/consumers.json)')
    .argument('<check>', 'the module check report of the same kernel release (guplab check --vm --out DIR)')
    .option('--json', 'print the rows as JSON')
    .action((consumersFile: string, checkFile: string, opts: { json?: boolean }) => {
      const consumers = loadCheckReport(consumersFile) as CheckReport & { fs?: string };
      const module = loadCheckReport(checkFile);
      let rows: CrossRow[];
      try {
        rows = crossCheck(consumers, module);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      console.log(opts.json ? JSON.stringify(rows, null, 2) : crossCheckTable(consumers.release, rows));
      process.exitCode = crossCheckStatus(rows);
    });

  cmd
    .command('bench')
    .description(
      'ns/page of io_uring register+unregister (4K, THP; 64K..64M), O_DIRECT 4K reads into fresh and warm buffers, process_vm_readv, MADV_POPULATE_WRITE and vmsplice, on this CPU (accelerator: none); table and results.json',
    )
    .option('--path <names>', `consumer paths, comma-separated: ${BENCH_PATHS.join(', ')} (default all)`, commaList)
    .option('--size <sizes>', 'io_uring buffer sizes, comma-separated (default 64K,256K,1M,2M,4M,16M,64M; THP takes the multiples of 2M)', sizes)
    .option('--rounds <n>', 'rounds, a fresh buffer each', positiveInt, 5)
    .option('--target-ms <ms>', 'time of calls to aim for per case and round', positiveInt, 30)
    .option('--dir <path>', 'folder for the O_DIRECT source file (default: the working directory)')
    .option('--out <dir>', 'folder for results.json', 'results/consumers')
    .option('--json', 'print the JSON result instead of the table')
    .action((opts: { path?: string[]; size?: number[]; rounds: number; targetMs: number; dir?: string; out: string; json?: boolean }) => {
      const bad = (opts.path ?? []).filter((p) => !(BENCH_PATHS as readonly string[]).includes(p));
      if (bad.length) throw new UsageError(`unknown path ${bad.join(', ')}: use ${BENCH_PATHS.join(', ')}`);
      const spec = {
        ...defaultBenchSpec(),
        ...(opts.path?.length ? { paths: opts.path as BenchPath[] } : {}),
        ...(opts.size ? { sizes: opts.size } : {}),
        rounds: opts.rounds,
        targetMs: opts.targetMs,
        ...(opts.dir ? { dir: path.resolve(opts.dir) } : {}),
      };
      const result = runConsumerBench(spec, opts.json ? undefined : (line) => process.stderr.write(`guplab: ${line}\n`));
      const file = path.resolve(opts.out, 'results.json');
      writeFileAtomic(file, `${JSON.stringify(result, null, 2)}\n`);
      console.log(opts.json ? JSON.stringify(result, null, 2) : consumerBenchTable(result));
      process.stderr.write(`guplab: wrote ${file}\n`);
    });
}

/** Why the archive's kernel for SPEC has no loadable modules, when it has none (undefined for a debug line or anything not resolved here). */
function archiveNoModules(spec: string, arch: Arch, log: (msg: string) => void): string | undefined {
  try {
    return resolveArchiveKernel(spec, arch, log, { module: false }).kernel.noModules;
  } catch {
    return undefined; // the runner resolves it again and names what is wrong
  }
}

/** This kernel's version with its real sublevel (Debian's releases say x.y.0). */
function hostVersion(): string {
  let procVersion = '';
  try {
    procVersion = readFileSync('/proc/version', 'utf8');
  } catch {
    // the release string is all there is
  }
  return runningVersion(os.release(), procVersion);
}
