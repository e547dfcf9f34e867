// What every bin/ entry does: import its compiled module from dist/lib/
// (`make build`), or say how to build it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Imports dist/lib/NAME.js, or exits 2 naming the fix when the checkout is not built. */
export async function runBuilt(name) {
  const entry = new URL(`../dist/lib/${name}.js`, import.meta.url);
  if (!existsSync(fileURLToPath(entry))) {
    console.error('guplab is not built: run `make build` (or `npm run build`) in the checkout first');
    process.exit(2);
  }
  await import(entry.href);
}
