// Boots a Debian kernel in QEMU with guplab.ko loaded (or, with module:
// false, without it) and runs one command
// in the project directory, over the host root shared read-only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { END_MARK, ENV, guestPath, kernelTrouble, parseExpectedWarnings, RUN_FILES, START_MARK } from '../contract.js';
import type { GuestJob } from '../guest-job.js';
import { projectRoot } from '../util/root.js';
import { isAtomicTemp, writeFileAtomic } from '../util/atomic.js';
import { ensureGuestRoot } from './guestroot.js';
import { run } from './exec.js';
import { pmemDeviceTree } from './devicetree.js';
import { daxForKernel, guestSetup, prepareDisks, type GuestMemoryOptions } from './guest.js';
import { buildInitramfs } from './initramfs.js';
import { DEBUG_APPEND } from '../kernels/debugkernel.js';
import { buildModule, kernelConfig } from '../kernels/kernel.js';
import type { BootTarget, KernelRequest } from '../kernels/target.js';
import { cacheRoot, hostArch, type Arch } from './paths.js';
import { missingProgramHint, requireProgram } from '../util/programs.js';
import { chooseAccel, firstBootVerdict, qemuArgs, qemuBinary, type Accel } from './qemu.js';

export interface VmRunOptions {
  /** The command to run; default `guplab-guest`, which runs `job`. */
  command?: readonly string[];
  /** A guest job (lib/guest.ts) written to the run folder for `guplab-guest`. */
  job?: GuestJob;
  /** The kernel to boot, resolved once by the caller (lib/kernels/resolve.ts; a command line's: jobs/vm.ts bootTarget). */
  target: BootTarget;
  /**
   * false: boot without guplab.ko (none built, none loaded; /dev/guplab
   * absent and $GUPLAB_NO_MODULE=1 in the guest). The only way to boot an
   * image-only Debian kernel (no headers in the archive): resolve its target
   * with module: false too. Default true.
   */
  module?: boolean;
  /** Guest working directory; default the caller's (the host root is shared, so the same path). */
  cwd?: string;
  env?: Record<string, string>;
  timeoutSec?: number;
  memMiB?: number;
  cpus?: number;
  append?: string[];
  /** Huge pages, THP mode, ZONE_MOVABLE, pmem and DAX filesystems, plain ext4/xfs disks. */
  memory?: GuestMemoryOptions;
  /** Host folder that receives what the command wrote to $GUPLAB_VM_OUT. */
  outDir?: string;
  /** Print the boot console, not only the command's output. */
  verbose?: boolean;
  /** Where the command's output goes; default process.stdout. */
  output?: NodeJS.WritableStream;
  log?: (msg: string) => void;
  /** auto (default): KVM where it can work, else TCG; kvm or tcg force one (kvm still falls back when the boot stalls). */
  accel?: 'auto' | Accel;
  /**
   * A guest that times (bench, fidelity): on x86_64, `tsc=reliable` unless
   * `append` already chooses a clock (tsc=, clocksource=). Under TCG the
   * kernel finds the vCPUs' TSCs unsynchronized and falls back to hpet, an
   * emulated MMIO per ktime read (docs/bench.md, "The guest clock").
   */
  timingClock?: boolean;
  /** Seconds a KVM boot may take to reach the command before it is killed and retried with TCG; default 60. */
  firstBootTimeoutSec?: number;
  /** Called with the host's run folder (the guest's GUEST_RUN_DIR) before the boot: a host that talks to the guest through it (A/B rounds). */
  onRunDir?: (dir: string) => void;
  /** More QEMU arguments, after guplab's own (NUMA nodes, the gdb stub: lib/vm/numa.ts, lib/vm/gdb.ts). */
  qemuExtraArgs?: string[];
  /** Runs QEMU instead of the line-oriented runner: an interactive run (lib/vm/interactive.ts) bridges a terminal. */
  boot?: BootFn;
}

/** Runs one QEMU: what an interactive runner gets, and must answer as the runner's own boot() does. */
export type BootFn = (spec: { binary: string; args: string[]; timeoutMs: number; ioDir: string; verbose: boolean }) => Promise<Boot>;

/** What a run used, as recorded in the result and in the guest's /run/guplab/vm.json. */
export interface VmRunMeta {
  release: string;
  upstream: string;
  arch: Arch;
  accel: Accel;
  qemuVersion: string;
  options: { kernel: string; module: boolean; memMiB: number; cpus: number; append: string[]; memory: GuestMemoryOptions; timeoutSec: number };
}

/** timeout: killed at --timeout; no-status: the guest never finished the command (boot or init failed, it crashed); kernel-trouble: a WARN/BUG/Oops the command did not declare. */
export type VmFailure = 'timeout' | 'no-status' | 'kernel-trouble';

export interface VmRunResult {
  /** The command's exit status, or null when it never reported one. */
  status: number | null;
  /** Why the run failed although the command may have passed (timeout, panic, WARN...). */
  problems: string[];
  /** The worst of what went wrong around the command: it decides the exit code of `guplab vm run` (lib/jobs/vm.ts). */
  failure?: VmFailure;
  release: string;
  arch: Arch;
  accel: Accel;
  qemuVersion: string;
  /** From QEMU start to the guest starting the command. */
  bootToCommandMs: number | null;
  wallMs: number;
  console: string;
  dmesg: string;
  options: VmRunMeta['options'];
  /** Why the run changed accelerator (a stalled KVM boot), if it did. */
  accelNote?: string;
  /** The full console log, saved when the run failed. */
  consoleLogFile?: string;
}

const SHUTDOWN_GRACE_MS = 30_000;

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The guest's cmd.sh: environment, then `prelude` (guest setup: mounts, sysctls), then the command. */
export function commandScript(command: readonly string[], cwd: string, env: Record<string, string>, prelude: readonly string[] = []): string {
  const vars = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    TERM: 'dumb',
    CI: '1',
    [ENV.inVm]: '1',
    [ENV.requireDevice]: '1',
    [ENV.out]: guestPath('out'),
    ...env,
  };
  return [
    ...Object.entries(vars).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    `mkdir -p "$${ENV.out}"`,
    ...prelude,
    `cd ${shellQuote(cwd)} || exit 125`,
    command.map(shellQuote).join(' '),
    '',
  ].join('\n');
}

function qemuVersion(binary: string): string {
  return /version\s+(\S+)/.exec(run(binary, ['--version']))?.[1] ?? 'unknown';
}

export interface Boot {
  exitCode: number | null;
  console: string;
  bootToCommandMs: number | null;
  timedOut: boolean;
  /** Killed because a KVM boot did not reach the command in time. */
  stalled: boolean;
  wallMs: number;
}

/**
 * QEMU children and scratch folders of the runs in flight. Killing this
 * process (SIGINT, SIGTERM, SIGHUP) kills them and removes the folders
 * first, then dies of the same signal: no QEMU outlives the runner.
 */
const inFlight = { children: new Set<ChildProcess>(), dirs: new Set<string>() };
let signalCleanupInstalled = false;

function cleanUpOnSignal(): void {
  if (signalCleanupInstalled) return;
  signalCleanupInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const child of inFlight.children) child.kill('SIGKILL');
      for (const dir of inFlight.dirs) rmSync(dir, { recursive: true, force: true });
      process.kill(process.pid, sig);
    });
  }
}

/** Registers a QEMU child started outside this module, so that a signal to the runner kills it too. */
export function trackQemu(child: ChildProcess): void {
  cleanUpOnSignal();
  inFlight.children.add(child);
  child.once('exit', () => inFlight.children.delete(child));
}

/** One QEMU run; the command's output (between the markers) goes to `out`. */
function boot(binary: string, args: string[], timeoutMs: number, firstBootMs: number | null, out: NodeJS.WritableStream, verbose: boolean): Promise<Boot> {
  const started = Date.now();
  let consoleLog = '';
  let bootToCommandMs: number | null = null;
  let timedOut = false;
  let stalled = false;
  let phase: 'boot' | 'command' | 'shutdown' = 'boot';
  return new Promise<Boot>((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    inFlight.children.add(child);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const watchdog =
      firstBootMs === null
        ? undefined
        : setInterval(() => {
            if (firstBootVerdict({ reachedCommand: phase !== 'boot', elapsedMs: Date.now() - started, limitMs: firstBootMs }) === 'fall-back') {
              stalled = true;
              child.kill('SIGKILL');
            }
          }, 500);
    const stop = (): void => {
      clearTimeout(timer);
      if (watchdog) clearInterval(watchdog);
    };
    // Whole lines only, so that markers split across reads are still found.
    // The command's output lies between START_MARK and END_MARK.
    let partial = '';
    const onData = (text: string): void => {
      consoleLog += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const raw of lines) {
        const line = raw.replace(/\r$/, '');
        if (phase === 'boot' && line.includes(START_MARK)) {
          phase = 'command';
          bootToCommandMs = Date.now() - started;
        } else if (phase === 'command' && line.includes(END_MARK)) {
          phase = 'shutdown';
          // A kernel that cannot power off (no ACPI, as in a tinyconfig
          // build) halts instead: the status is in by then, so stop QEMU.
          setTimeout(() => child.kill('SIGKILL'), SHUTDOWN_GRACE_MS).unref();
        } else if (phase === 'command' || verbose) out.write(`${line}\n`);
        if (phase === 'shutdown' && /System halted/.test(line)) child.kill('SIGKILL');
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => {
      consoleLog += chunk.toString('utf8');
    });
    child.on('error', (err) => {
      inFlight.children.delete(child);
      stop();
      reject(new Error(`cannot start ${binary}: ${missingProgramHint(binary)}`, { cause: err }));
    });
    child.on('exit', (code) => {
      inFlight.children.delete(child);
      stop();
      resolve({ exitCode: code, console: consoleLog, bootToCommandMs, timedOut, stalled, wallMs: Date.now() - started });
    });
  });
}

/**
 * Copies what the guest wrote to its out share into outDir, each file
 * atomically, less the temporaries of writes that never completed. Only
 * regular files and folders: a symlink the guest made is not followed on
 * the host.
 */
function copyOut(from: string, to: string): void {
  for (const name of readdirSync(from)) {
    if (isAtomicTemp(name)) continue;
    const src = path.join(from, name);
    const dst = path.join(to, name);
    const st = lstatSync(src);
    if (st.isDirectory()) copyOut(src, dst);
    else if (st.isFile()) writeFileAtomic(dst, readFileSync(src));
  }
}

/** Saves a failed run's full console log under the cache and returns its path. */
function saveConsole(text: string, release: string, arch: Arch): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(cacheRoot(), 'logs', `vm-${stamp}-${release}-${arch}-${process.pid}.log`);
  writeFileAtomic(file, text);
  return file;
}

/** What timingClock adds to the guest's command line (see VmRunOptions.timingClock). */
export function timingClockAppend(arch: Arch, options: Pick<VmRunOptions, 'timingClock' | 'append'>): string[] {
  if (!options.timingClock || arch !== 'x86_64') return [];
  return (options.append ?? []).some((a) => /^(tsc|clocksource)=/.test(a)) ? [] : ['tsc=reliable'];
}

/** The virtiofsd of the QEMU shipped with Debian 12, or the standalone one of later releases. */
const VIRTIOFSD = ['/usr/lib/qemu/virtiofsd', '/usr/libexec/virtiofsd'];

/**
 * Starts one virtiofsd per share (/ as hostroot, ioDir as guplabio) on
 * sockets in a folder of their own; each serves one QEMU connection and
 * ends with it (and is killed with the runner, as QEMU is).
 */
function startVirtiofs(ioDir: string, log: (msg: string) => void): { sockets: { hostroot: string; guplabio: string }; stop: () => void } {
  const binary = VIRTIOFSD.find((f) => existsSync(f));
  if (!binary)
    throw new Error(
      `no virtiofsd (looked for ${VIRTIOFSD.join(', ')}): a kernel without 9p modules shares the host root over virtio-fs; apt-get install qemu-system-common (Debian 12) or virtiofsd (Debian 13)`,
    );
  const dir = mkdtempSync(path.join(os.tmpdir(), 'guplab-vfs-'));
  inFlight.dirs.add(dir);
  const children: ChildProcess[] = [];
  const sockets = { hostroot: path.join(dir, 'hostroot.sock'), guplabio: path.join(dir, 'guplabio.sock') };
  for (const [name, source] of [
    ['hostroot', '/'],
    ['guplabio', ioDir],
  ] as const) {
    const child = spawn(binary, [`--socket-path=${sockets[name]}`, '-o', `source=${source}`, '-o', 'cache=auto', '-o', 'sandbox=chroot'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => void (err = (err + c.toString()).slice(-2000)));
    child.once('exit', (code) => {
      if (code) log(`virtiofsd for ${name} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`);
    });
    trackQemu(child);
    children.push(child);
  }
  // QEMU connects to the sockets at start: wait until both exist.
  const until = Date.now() + 10_000;
  while (!Object.values(sockets).every((f) => existsSync(f))) {
    if (Date.now() > until) throw new Error(`virtiofsd did not create its sockets in ${dir} within 10 s`);
    spawnSync('sleep', ['0.1']);
  }
  log('shares over virtio-fs (this kernel has no 9p or overlay modules): the host root read-only, tmpfs on /tmp, /var/tmp, /root, /run and /mnt');
  return {
    sockets,
    stop: () => {
      for (const c of children) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      inFlight.dirs.delete(dir);
    },
  };
}

/** What a guest without loadable modules cannot have, refused before it boots. */
function refuseWithoutModules(release: string, setup: ReturnType<typeof guestSetup>, otherArch: boolean, extra: readonly string[]): void {
  const why = `kernel ${release} has no loadable modules (the archive kept its image but not its linux-modules package)`;
  if (setup.modules.length || setup.disks.length)
    throw new Error(
      `${why}, so the guest cannot load ${[...setup.modules, ...setup.disks.map((d) => d.fs)].join(', ')}: drop --fs, --pmem and --dax for this line`,
    );
  if (otherArch) throw new Error(`${why}: a guest of another arch than the host's is not supported there`);
  if (extra.includes('-numa')) throw new Error(`${why}: its memory is one shared memfd for virtio-fs, so --numa is not supported there`);
}

/**
 * What can be refused before a kernel is fetched: the guest memory options
 * and a missing QEMU (named with its package). A user kernel's arch is known
 * only from its image, so without --arch its memory waits for vmRun.
 */
export function preflight(o: Pick<VmRunOptions, 'memory' | 'memMiB'> & KernelRequest): void {
  const arch = o.arch ?? (o.kernelImage ? undefined : hostArch());
  if (!arch) return;
  if (!o.kernelImage) guestSetup(o.memory ?? {}, arch, o.memMiB ?? 2048);
  requireProgram(qemuBinary(arch));
}

export async function vmRun(options: VmRunOptions): Promise<VmRunResult> {
  const log = options.log ?? ((msg: string) => process.stderr.write(`guplab: ${msg}\n`));
  if (!options.command && !options.job) throw new Error('vmRun needs a command or a job');
  const command = options.command ?? ['node', path.join(projectRoot, 'bin', 'guplab-guest.js'), guestPath('job')];
  const withModule = options.module ?? true;
  const { kernel, origin, asked } = options.target;
  if (withModule && kernel.imageOnly) throw new Error(`vmRun: ${kernel.release} is image-only (${kernel.imageOnly}): resolve and boot it with module: false`);
  const arch = kernel.arch;
  requireProgram(qemuBinary(arch));
  // DAX needs kernel options: refused here, before the module is built or anything boots (or dropped, where optional).
  const { memory, noDax } = options.memory?.pmem
    ? daxForKernel(options.memory, kernelConfig(kernel), arch, kernel.release)
    : { memory: options.memory ?? {}, noDax: undefined };
  if (noDax) log(`no pmem/DAX in this guest: ${noDax}`);
  const binary = qemuBinary(arch);
  const version = qemuVersion(binary);

  const ko = withModule ? buildModule(kernel, log) : undefined;
  // A guest of another arch gets a userland layer of its own (lib/vm/guestroot.ts).
  const guest = arch === hostArch() ? undefined : ensureGuestRoot(arch, log);
  const busybox = guest?.busybox ?? '/usr/bin/busybox';
  if (!existsSync(busybox)) throw new Error('busybox is missing: apt-get install busybox-static');
  const memMiB = options.memMiB ?? 2048;
  const setup = guestSetup(memory, arch, memMiB);
  // An image whose modules the archive lost (6.19 to 7.1) has no 9p or overlay: its shares go over virtio-fs.
  const virtiofs = Boolean(kernel.imageOnly) && !existsSync(path.join(kernel.modulesDir, 'kernel'));
  if (virtiofs) refuseWithoutModules(kernel.release, setup, guest !== undefined, options.qemuExtraArgs ?? []);
  const initramfs = buildInitramfs(
    kernel,
    ko,
    busybox,
    setup.modules,
    path.join(kernel.cacheDir ?? path.join(cacheRoot(), 'kernels', kernel.release), 'no-module'),
    virtiofs,
  );
  let accel: Accel = !options.accel || options.accel === 'auto' ? chooseAccel(arch, hostArch()) : options.accel;
  const runOptions: VmRunMeta['options'] = {
    kernel: asked,
    module: withModule,
    memMiB,
    cpus: options.cpus ?? 2,
    append: [...setup.append, ...(origin === 'debug' ? DEBUG_APPEND : []), ...timingClockAppend(arch, options), ...(options.append ?? [])],
    memory,
    timeoutSec: options.timeoutSec ?? 900,
  };

  cleanUpOnSignal();
  const ioDir = mkdtempSync(path.join(os.tmpdir(), 'guplab-vm-'));
  inFlight.dirs.add(ioDir);
  options.onRunDir?.(ioDir);
  let shares: ReturnType<typeof startVirtiofs> | undefined;
  try {
    const disks = prepareDisks(setup.disks, ioDir);
    const out = options.output ?? process.stdout;
    const started = Date.now();
    let accelNote: string | undefined;
    let result: Boot;
    for (;;) {
      const meta: VmRunMeta = { release: kernel.release, upstream: kernel.upstream, arch, accel, qemuVersion: version, options: runOptions };
      writeFileSync(path.join(ioDir, RUN_FILES.meta), `${JSON.stringify(meta, null, 2)}\n`);
      if (options.job) writeFileSync(path.join(ioDir, RUN_FILES.job), `${JSON.stringify(options.job, null, 2)}\n`);
      writeFileSync(
        path.join(ioDir, RUN_FILES.command),
        commandScript(
          command,
          options.cwd ?? process.cwd(),
          {
            [ENV.accel]: accel.toUpperCase(),
            [ENV.qemuVersion]: version,
            [ENV.release]: kernel.release,
            [ENV.upstream]: kernel.upstream,
            [ENV.arch]: arch,
            [ENV.meta]: guestPath('meta'),
            ...(kernel.imageOnly ? {} : { [ENV.kernelBuild]: kernel.buildDir }),
            [ENV.mounts]: JSON.stringify(setup.mounts),
            ...(noDax ? { [ENV.noDax]: noDax } : {}),
            ...(ko ? { [ENV.ko]: ko } : { [ENV.noModule]: '1', [ENV.requireDevice]: '0' }),
            ...(kernel.imageOnly ? { [ENV.imageOnly]: kernel.imageOnly } : {}),
            ...guest?.env,
            ...options.env,
          },
          [...(guest?.prelude ?? []), ...setup.script],
        ),
      );
      // One virtiofsd pair per boot: each serves one QEMU connection.
      shares?.stop();
      shares = virtiofs ? startVirtiofs(ioDir, log) : undefined;
      let args = qemuArgs({
        arch,
        accel,
        vmlinuz: kernel.vmlinuz,
        initramfs,
        ioDir,
        memMiB: runOptions.memMiB + setup.extraMemMiB,
        cpus: runOptions.cpus,
        append: runOptions.append,
        guestLayer: guest?.layer,
        ...(shares ? { virtiofs: shares.sockets } : {}),
      }).concat(disks, options.qemuExtraArgs ?? []);
      // pmem on a device-tree machine: QEMU's own tree for these arguments, plus the regions.
      if (setup.pmemRegions.length) args = args.concat(pmemDeviceTree(binary, args, setup.pmemRegions, ioDir));
      log(
        `booting ${kernel.release} (upstream ${kernel.upstream}${kernel.imageOnly ? ' from the archive, image only' : ''}, ${arch}, ${accel.toUpperCase()}, QEMU ${version}${ko ? '' : ', no guplab.ko'})`,
      );
      const firstBootSec = options.firstBootTimeoutSec ?? 60;
      const remainingMs = runOptions.timeoutSec * 1000 - (Date.now() - started);
      result = options.boot
        ? await options.boot({ binary, args, timeoutMs: remainingMs, ioDir, verbose: options.verbose ?? false })
        : await boot(binary, args, remainingMs, accel === 'kvm' ? firstBootSec * 1000 : null, out, options.verbose ?? false);
      if (!result.stalled) break;
      accelNote = `KVM boot showed no progress in ${firstBootSec} s (this host's /dev/kvm cannot run the guest): retried with TCG`;
      log(accelNote);
      accel = 'tcg';
    }

    const statusFile = path.join(ioDir, RUN_FILES.status);
    const statusText = existsSync(statusFile) ? readFileSync(statusFile, 'utf8').trim() : null;
    const status = statusText !== null && /^\d+$/.test(statusText) ? Number(statusText) : null;
    const dmesgFile = path.join(ioDir, RUN_FILES.dmesg);
    const dmesg = existsSync(dmesgFile) ? readFileSync(dmesgFile, 'utf8') : '';
    const problems: string[] = [];
    if (result.timedOut) problems.push(`timed out after ${runOptions.timeoutSec} s (raise it with --timeout)`);
    else if (status === null) problems.push(`the guest stopped without reporting the command's status (QEMU exit ${result.exitCode})`);
    const expectedFile = path.join(ioDir, RUN_FILES.expectedWarnings);
    const expected = existsSync(expectedFile) ? parseExpectedWarnings(readFileSync(expectedFile, 'utf8')) : [];
    const trouble = kernelTrouble(dmesg || result.console, expected);
    const allowed = kernelTrouble(dmesg || result.console).length - trouble.length;
    if (allowed) log(`${allowed} kernel WARNING(s) were declared expected by the command`);
    if (trouble.length) problems.push(`the kernel reported trouble:\n  ${trouble.slice(0, 10).join('\n  ')}`);
    // Only a guest that ran its command to the end (status written after it,
    // then sync) has whole files: a killed or crashed one may have been mid-write.
    const outShare = path.join(ioDir, RUN_FILES.out);
    if (options.outDir && existsSync(outShare)) {
      if (status !== null) copyOut(outShare, options.outDir);
      else if (readdirSync(outShare).length) log(`nothing copied back to ${options.outDir}: the guest did not finish its command, so its files may be partial`);
    }
    const failure: VmFailure | undefined = result.timedOut ? 'timeout' : status === null ? 'no-status' : trouble.length ? 'kernel-trouble' : undefined;
    const failed = problems.length > 0 || status !== 0;
    const fullConsole = dmesg ? `${result.console}\n--- dmesg ---\n${dmesg}` : result.console;
    return {
      status,
      problems,
      ...(failure ? { failure } : {}),
      release: kernel.release,
      arch,
      accel,
      qemuVersion: version,
      bootToCommandMs: result.bootToCommandMs,
      wallMs: Date.now() - started,
      console: result.console,
      dmesg,
      options: runOptions,
      accelNote,
      consoleLogFile: failed ? saveConsole(fullConsole, kernel.release, arch) : undefined,
    };
  } finally {
    shares?.stop();
    rmSync(ioDir, { recursive: true, force: true });
    inFlight.dirs.delete(ioDir);
  }
}
