// The guest's initramfs: busybox, the kernel's virtio/9p/overlay modules,
// guplab.ko (absent from a boot without the module) and an init that mounts
// the host root and runs the command.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeCpio, S_IFCHR, S_IFDIR, S_IFREG, type CpioEntry } from './cpio.js';
import { END_MARK, GUEST_RUN_DIR, RUN_FILES, START_MARK } from '../contract.js';
import type { Kernel } from '../kernels/target.js';

/** Modules the guest needs to mount the host root; their dependencies come from modules.dep. */
export const BOOT_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay'];

/** The modules to insmod, dependencies first, as paths relative to the modules folder. */
export function moduleLoadOrder(modulesDep: string, wanted: readonly string[]): string[] {
  const deps = new Map<string, string[]>();
  const pathOf = new Map<string, string>();
  for (const line of modulesDep.split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (!m?.[1]) continue;
    const file = m[1];
    const name = moduleName(file);
    pathOf.set(name, file);
    deps.set(name, (m[2] ?? '').split(/\s+/).filter(Boolean).map(moduleName));
  }
  const order: string[] = [];
  const visit = (name: string): void => {
    const file = pathOf.get(name);
    if (!file || order.includes(file)) return; // built in, or already placed
    for (const dep of deps.get(name) ?? []) visit(dep);
    order.push(file);
  };
  for (const name of wanted) visit(name);
  return order;
}

function moduleName(file: string): string {
  return path
    .basename(file)
    .replace(/\.ko(\.(xz|zst|gz))?$/, '')
    .replaceAll('-', '_');
}

function readModule(file: string): Buffer {
  const tool = file.endsWith('.xz') ? 'xz' : file.endsWith('.zst') ? 'zstd' : undefined;
  return tool ? execFileSync(tool, ['-dc', file], { maxBuffer: 256 << 20 }) : readFileSync(file);
}

/** The guest's /init. The command's status and dmesg go to the writable 9p share. */
export const INIT_SCRIPT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.list); do insmod /lib/modules/$m || echo "guplab-init: insmod $m failed"; done
if [ -e /guplab.ko ]; then insmod /guplab.ko || echo "guplab-init: insmod guplab.ko failed"; else echo "guplab-init: no guplab.ko in this boot (--no-module): /dev/guplab is absent"; fi
if [ -e /virtiofs ]; then
  # No 9p or overlay modules (an image whose linux-modules the archive lost): the host root over
  # virtio-fs (built in), read-only, with tmpfs where the guest writes.
  mount -t virtiofs -o ro hostroot /newroot || echo "guplab-init: mount of the host root over virtio-fs failed (a kernel without CONFIG_VIRTIO_FS=y)"
  for d in /tmp /var/tmp /root /run /mnt; do mount -t tmpfs tmpfs /newroot$d; done
  mkdir -p /newroot${GUEST_RUN_DIR}
  mount -t virtiofs guplabio /newroot${GUEST_RUN_DIR}
else
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /lower
mount -t tmpfs -o size=75% tmpfs /rw
mkdir -p /rw/upper /rw/work
lower=/lower
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 guestlayer /layer 2>/dev/null && lower=/layer:/lower
mount -t overlay overlay -o lowerdir=$lower,upperdir=/rw/upper,workdir=/rw/work /newroot
mkdir -p /newroot${GUEST_RUN_DIR}
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 guplabio /newroot${GUEST_RUN_DIR}
fi
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
mkdir -p /newroot/dev/shm /newroot/dev/hugepages
mount -t tmpfs tmpfs /newroot/dev/shm
mount -t hugetlbfs none /newroot/dev/hugepages
echo "${START_MARK}"
chroot /newroot /bin/sh ${GUEST_RUN_DIR}/${RUN_FILES.command} < /newroot/dev/null > /dev/console 2>&1
status=$?
echo "${END_MARK}"
# Written whole then renamed: the host never reads a half-written status.
echo $status > /newroot${GUEST_RUN_DIR}/${RUN_FILES.status}.tmp && mv /newroot${GUEST_RUN_DIR}/${RUN_FILES.status}.tmp /newroot${GUEST_RUN_DIR}/${RUN_FILES.status}
chroot /newroot /bin/dmesg > /newroot${GUEST_RUN_DIR}/${RUN_FILES.dmesg} 2>&1 || dmesg > /newroot${GUEST_RUN_DIR}/${RUN_FILES.dmesg}
sync
poweroff -f
`;

/**
 * Builds (or reuses) the initramfs for a kernel and its guplab.ko, or
 * without a module (`guplabKo` undefined: kept in `noModuleDir`); returns its path.
 */
export function buildInitramfs(
  kernel: Kernel,
  guplabKo: string | undefined,
  busybox: string,
  extraModules: readonly string[] = [],
  noModuleDir?: string,
  virtiofs = false,
): string {
  const dep = readFileSync(path.join(kernel.modulesDir, 'modules.dep'), 'utf8');
  const modules = moduleLoadOrder(dep, [...BOOT_MODULES, ...extraModules]);
  const hash = createHash('sha256')
    .update(INIT_SCRIPT)
    .update(modules.join('\n'))
    .update(guplabKo ? readFileSync(guplabKo) : 'no module')
    .update(busybox)
    .update(virtiofs ? 'virtiofs' : '9p');
  const folder = guplabKo ? path.dirname(guplabKo) : noModuleDir;
  if (!folder) throw new Error('buildInitramfs: a boot without guplab.ko needs a folder for its initramfs');
  const out = path.join(folder, `initramfs-${hash.digest('hex').slice(0, 12)}.cpio.gz`);
  if (existsSync(out)) return out;

  const dir = (name: string): CpioEntry => ({ name, mode: S_IFDIR | 0o755 });
  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'lib', 'lib/modules', 'lower', 'layer', 'rw', 'newroot'].map(dir),
    { name: 'dev/console', mode: S_IFCHR | 0o600, rdev: [5, 1] },
    { name: 'bin/busybox', mode: S_IFREG | 0o755, data: readFileSync(busybox) },
    { name: 'init', mode: S_IFREG | 0o755, data: Buffer.from(INIT_SCRIPT) },
    ...(guplabKo ? [{ name: 'guplab.ko', mode: S_IFREG | 0o644, data: readFileSync(guplabKo) }] : []),
    // The init's choice of shares: virtio-fs, for a kernel without 9p and overlay modules (QemuSpec.virtiofs).
    ...(virtiofs ? [{ name: 'virtiofs', mode: S_IFREG | 0o644, data: Buffer.from('') }] : []),
  ];
  const names: string[] = [];
  for (const file of modules) {
    const name = `${moduleName(file)}.ko`;
    names.push(name);
    entries.push({ name: `lib/modules/${name}`, mode: S_IFREG | 0o644, data: readModule(path.join(kernel.modulesDir, file)) });
  }
  entries.push({ name: 'modules.list', mode: S_IFREG | 0o644, data: Buffer.from(`${names.join('\n')}\n`) });
  mkdirSync(path.dirname(out), { recursive: true });
  // A temporary name of this process's own: several VMs may start at once.
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, gzipSync(writeCpio(entries)));
  renameSync(tmp, out);
  return out;
}
