// What every bin/ entry does: import its compiled module from dist/lib/
// (`make build`), or say how to build it, then call its entry function.
// lib/ modules run nothing when imported: the entry points are here.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Imports dist/lib/NAME.js and awaits its export ENTRY(), or exits 2 naming the fix when the checkout is not built. */
export async function runBuilt(name, entry) {
  const url = new URL(`../dist/lib/${name}.js`, import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    console.error('guplab is not built: run `make build` (or `npm run build`) in the checkout first');
    process.exit(2);
  }
  const mod = await import(url.href);
  await mod[entry]();
}
