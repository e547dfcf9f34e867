// `make prebuilds`: the addon for linux-x64 and linux-arm64 in prebuilds/,
// where node-gyp-build finds it in an installed package (npm pack ships it).
// The host's arch is build/Release's; the other is cross-built in the cache.
import { copyFileSync, mkdirSync } from 'node:fs';
import { ensureAddon } from '../dist/lib/vm/guestroot.js';
import { ARCH_NAMES, ARCHES } from '../dist/lib/vm/arch.js';
import { hostArch } from '../dist/lib/vm/paths.js';

for (const arch of ARCH_NAMES) {
  const from = arch === hostArch() ? 'build/Release/guplab.node' : ensureAddon(arch, (m) => process.stderr.write(`guplab: ${m}\n`));
  const dir = `prebuilds/linux-${ARCHES[arch].npm}`;
  mkdirSync(dir, { recursive: true });
  copyFileSync(from, `${dir}/node.napi.node`);
  console.log(`${dir}/node.napi.node <- ${from}`);
}
