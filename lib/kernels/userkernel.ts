// A user's own kernel: --kernel-image PATH --kernel-build DIR, where DIR is
// the kernel's build tree (or its headers). guplab.ko is built against DIR;
// the guest's virtio/9p/overlay drivers come from modules built in DIR
// (installed into the cache), from /lib/modules/RELEASE, or are built in.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cachedDir } from './cache.js';
import { BOOT_MODULES, moduleLoadOrder } from '../vm/initramfs.js';
import { run } from '../vm/exec.js';
import type { Kernel } from './target.js';
import { kernelUpstream } from './upstream.js';
import { ARCH_NAMES, ARCHES, configArch, crossCompileArgs } from '../vm/arch.js';
import { cacheRoot, type Arch } from '../vm/paths.js';

/** Kernel config options the guest needs, with the module that provides each. */
export const GUEST_CONFIG: Record<string, string> = {
  CONFIG_BLK_DEV_INITRD: '',
  CONFIG_DEVTMPFS: '',
  CONFIG_TMPFS: '',
  CONFIG_VIRTIO_PCI: 'virtio_pci',
  CONFIG_NET_9P_VIRTIO: '9pnet_virtio',
  CONFIG_9P_FS: '9p',
  CONFIG_OVERLAY_FS: 'overlay',
};

export { configArch };

/**
 * What keeps this kernel from booting as a guplab guest: options neither
 * built in nor available as a module (names of modules found in modules.dep).
 */
export function missingGuestConfig(config: string, modulesDep: string): string[] {
  const available = new Set(
    moduleLoadOrder(modulesDep, BOOT_MODULES).map((f) =>
      path
        .basename(f)
        .replace(/\.ko(\.\w+)?$/, '')
        .replaceAll('-', '_'),
    ),
  );
  // The runner reads everything over the arch's serial console: without it a boot looks like a hang.
  const serial = ARCHES[configArch(config) ?? 'x86_64'].consoleConfig;
  return Object.entries({ ...GUEST_CONFIG, [serial]: '' })
    .filter(([opt, mod]) => {
      const value = new RegExp(`^${opt}=(y|m)$`, 'm').exec(config)?.[1];
      if (value === 'y') return false;
      return !(value === 'm' && mod && available.has(mod));
    })
    .map(([opt, mod]) => (mod ? `${opt} (=y, or =m with ${mod}.ko built)` : `${opt}=y`));
}

export function userKernel(image: string, buildDir: string, arch: Arch | undefined, log: (msg: string) => void): Kernel {
  image = path.resolve(image);
  buildDir = path.resolve(buildDir);
  if (!existsSync(image))
    throw new Error(
      `--kernel-image ${image} does not exist: pass the kernel image (${Object.values(ARCHES)
        .map((a) => a.image)
        .join(', ')})`,
    );
  const releaseFile = path.join(buildDir, 'include', 'config', 'kernel.release');
  const configFile = path.join(buildDir, '.config');
  if (!existsSync(releaseFile) || !existsSync(configFile)) {
    throw new Error(
      `--kernel-build ${buildDir} is not a configured kernel build tree or headers folder (no include/config/kernel.release or .config): build the kernel there first`,
    );
  }
  const release = readFileSync(releaseFile, 'utf8').trim();
  const upstream = kernelUpstream(release, buildDir);
  const config = readFileSync(configFile, 'utf8');
  const built = configArch(config);
  if (!built) throw new Error(`${configFile} is not a config of an arch guplab boots (${ARCH_NAMES.join(', ')})`);
  if (arch && arch !== built) throw new Error(`--arch ${arch} but ${buildDir} was configured for ${built}: drop --arch or pass the matching build`);
  const st = statSync(image);
  const key = createHash('sha256').update(image).update(buildDir).update(`${st.size}:${st.mtimeMs}`).digest('hex').slice(0, 12);
  const cacheDir = path.join(cacheRoot(), 'user-kernels', `${release}-${key}`);

  let modulesDir: string;
  const order = path.join(buildDir, 'modules.order');
  const installed = `/lib/modules/${release}`;
  if (existsSync(order) && readFileSync(order, 'utf8').trim()) {
    const mods = cachedDir(path.join(cacheDir, 'modules'), `modules of ${release} installed from ${buildDir}`, log, (tmp) => {
      run('make', ['-C', buildDir, ...crossCompileArgs(built), `INSTALL_MOD_PATH=${tmp}`, 'INSTALL_MOD_STRIP=1', 'modules_install']);
    });
    modulesDir = path.join(mods, 'lib', 'modules', release);
  } else if (existsSync(path.join(installed, 'modules.dep'))) {
    modulesDir = installed;
  } else {
    // Everything the guest needs must be built in: an empty module set.
    modulesDir = path.join(cacheDir, 'no-modules', release);
    mkdirSync(modulesDir, { recursive: true });
    if (!existsSync(path.join(modulesDir, 'modules.dep'))) writeFileSync(path.join(modulesDir, 'modules.dep'), '');
  }
  const missing = missingGuestConfig(config, readFileSync(path.join(modulesDir, 'modules.dep'), 'utf8'));
  if (missing.length)
    throw new Error(`kernel ${release} (${buildDir}) cannot boot as a guplab guest; it lacks:\n  ${missing.join('\n  ')}\nenable them in .config and rebuild`);
  log(`user kernel ${release} (upstream ${upstream}, ${built}): image ${image}, build ${buildDir}, modules ${modulesDir}`);
  return { release, upstream, arch: built, root: cacheDir, vmlinuz: image, modulesDir, buildDir, cacheDir };
}
