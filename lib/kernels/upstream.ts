// A kernel's upstream version ("6.1.192") as its build tree says it: the
// top Makefile's VERSION, PATCHLEVEL and SUBLEVEL. Expected answers are
// decided by upstream stable release (a backport moves one inside a
// series: 6.1.2, 6.6.47), and a release string cannot tell: Debian's
// "6.1.0-57-amd64" is 6.1.192. So a kernel whose Makefile cannot be read
// is refused before it boots, never guessed at.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * VERSION.PATCHLEVEL.SUBLEVEL of a Makefile's text, following `include`
 * lines by absolute path (Debian's arch headers include the common ones):
 * `read` returns a file's text, or undefined when it does not exist.
 */
export function makefileVersion(file: string, read: (file: string) => string | undefined, depth = 0): string | undefined {
  const text = read(file);
  if (text === undefined) return undefined;
  const field = (name: string): string | undefined => new RegExp(`^${name}\\s*=\\s*(\\d+)\\s*$`, 'm').exec(text)?.[1];
  const [version, patchlevel, sublevel] = [field('VERSION'), field('PATCHLEVEL'), field('SUBLEVEL')];
  if (version !== undefined && patchlevel !== undefined && sublevel !== undefined) return `${version}.${patchlevel}.${sublevel}`;
  if (depth >= 3) return undefined;
  for (const m of text.matchAll(/^include\s+(\/\S+\/Makefile)\s*$/gm)) {
    const found = makefileVersion(m[1]!, read, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * The upstream version of kernel `release` built in `buildDir`, or an error
 * naming the release, what was read and what to pass instead.
 */
export function kernelUpstream(release: string, buildDir: string): string {
  const makefile = path.join(buildDir, 'Makefile');
  const version = makefileVersion(makefile, (f) => (existsSync(f) ? readFileSync(f, 'utf8') : undefined));
  const refuse = (why: string): Error =>
    new Error(
      `kernel ${release}: its upstream version cannot be read (${why}). guplab decides expected answers by upstream stable release and will not guess one from the release string: pass a build tree or headers folder whose Makefile sets VERSION, PATCHLEVEL and SUBLEVEL`,
    );
  if (!version) throw refuse(`no VERSION/PATCHLEVEL/SUBLEVEL in ${makefile} or the Makefiles it includes`);
  const series = /^(\d+\.\d+)/.exec(release)?.[1];
  if (series !== version.split('.').slice(0, 2).join('.')) throw refuse(`${makefile} says ${version}, which is not the release's series`);
  return version;
}
