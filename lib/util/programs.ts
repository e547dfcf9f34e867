// Every program guplab runs, on the host or in the guest (which sees the
// host's root over 9p, so the same binaries), and the Debian package that
// ships it. scripts/deps.sh installs the packages; test/unit/programs.test.ts
// holds this table against the code's calls, deps.sh and dpkg's own records.
// node, npm and npx are the machine's Node.js install, not a Debian package.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export const PROGRAMS: Readonly<Record<string, string>> = {
  'apt-cache': 'apt',
  'apt-get': 'apt',
  '/usr/lib/apt/apt-helper': 'apt',
  'aarch64-linux-gnu-as': 'binutils-aarch64-linux-gnu',
  'aarch64-linux-gnu-ld': 'binutils-aarch64-linux-gnu',
  'aarch64-linux-gnu-gcc': 'gcc-aarch64-linux-gnu',
  'aarch64-linux-gnu-g++': 'g++-aarch64-linux-gnu',
  as: 'binutils',
  ld: 'binutils',
  bash: 'bash',
  busybox: 'busybox-static',
  '/usr/bin/busybox': 'busybox-static',
  chromium: 'chromium',
  // make lint: native/ against .clang-format.
  'clang-format': 'clang-format',
  '/usr/bin/chromium': 'chromium',
  dd: 'coreutils',
  debootstrap: 'debootstrap',
  depmod: 'kmod',
  dmesg: 'util-linux',
  dpkg: 'dpkg',
  'dpkg-deb': 'dpkg',
  'dpkg-query': 'dpkg',
  dtc: 'device-tree-compiler',
  flock: 'util-linux',
  gcc: 'gcc',
  'g++': 'g++',
  gdb: 'gdb',
  'gdb-multiarch': 'gdb-multiarch',
  git: 'git',
  insmod: 'kmod',
  make: 'make',
  mkdir: 'coreutils',
  'mkfs.ext4': 'e2fsprogs',
  'mkfs.xfs': 'xfsprogs',
  mount: 'mount',
  // pageout-pinned: a swapfile in the guest for MADV_PAGEOUT of anonymous memory.
  mkswap: 'util-linux',
  swapon: 'mount',
  swapoff: 'mount',
  nice: 'coreutils',
  nproc: 'coreutils',
  numactl: 'numactl',
  perl: 'perl-base',
  prlimit: 'util-linux',
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-system-aarch64': 'qemu-system-arm',
  rm: 'coreutils',
  rmmod: 'kmod',
  // gitlab-ci-local's shell executor copies the checkout with it (scripts/ci-engine.sh).
  rsync: 'rsync',
  script: 'bsdutils',
  setpriv: 'util-linux',
  setsid: 'util-linux',
  sh: 'dash',
  sparse: 'sparse',
  sleep: 'coreutils',
  sync: 'coreutils',
  tar: 'tar',
  timeout: 'coreutils',
  truncate: 'coreutils',
  unshare: 'util-linux',
  xz: 'xz-utils',
  zstd: 'zstd',
};

/** Programs of the machine's Node.js install. */
export const NODE_PROGRAMS = ['node', 'npm', 'npx'] as const;

/** What to tell someone whose machine lacks `program`: the package, and the script that installs them all. */
export function missingProgramHint(program: string): string {
  const pkg = PROGRAMS[program] ?? PROGRAMS[program.split('/').at(-1) ?? program];
  return pkg
    ? `${program} is not installed: apt-get install ${pkg} (as root), or run scripts/deps.sh, which installs everything guplab needs`
    : `${program} is not installed: run scripts/deps.sh, which installs everything guplab needs`;
}

/** Throws the install hint unless `program` is an executable on $PATH (or an absolute path): a check before anything slow starts. */
export function requireProgram(program: string): void {
  const dirs = program.includes('/') ? [''] : (process.env.PATH ?? '/usr/bin:/bin').split(':').filter(Boolean);
  for (const dir of dirs) {
    try {
      accessSync(dir ? path.join(dir, program) : program, constants.X_OK);
      return;
    } catch {
      // not here: the next directory
    }
  }
  throw new Error(missingProgramHint(program));
}
