// The house's shape, from lib/'s own imports (type-only ones included):
// no circle, and what runs inside a guest never pulls in the runner that
// boots it. Run it alone: npx vitest run test/unit/imports.test.ts
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** file -> the lib/ files it imports; typeOnly: count `import type` too. */
function importGraph(typeOnly: boolean): Map<string, string[]> {
  const pattern = typeOnly ? /^(?:import|export)\s[^'";]*?from\s+'(\.[^']+)\.js'/gm : /^(?:import|export)\s+(?!type\b)[^'";]*?from\s+'(\.[^']+)\.js'/gm;
  const graph = new Map<string, string[]>();
  for (const file of sources('lib')) {
    const deps = [...readFileSync(file, 'utf8').matchAll(pattern)].map((m) => path.join(path.dirname(file), `${m[1]}.ts`));
    graph.set(
      file,
      deps.filter((d) => existsSync(d)),
    );
  }
  return graph;
}

/** The import circles of a graph (strongly connected parts of more than one file). */
function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const part: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        part.push(w);
      } while (w !== v);
      if (part.length > 1) found.push(part.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

function reachable(graph: Map<string, string[]>, from: string): Set<string> {
  const seen = new Set<string>();
  const todo = [from];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...(graph.get(f) ?? []));
  }
  return seen;
}

describe('lib/ imports', () => {
  it('form no circle, type-only imports included', () => {
    expect(circles(importGraph(true))).toEqual([]);
  });

  it('finds a circle when there is one (the checker itself)', () => {
    expect(
      circles(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
          ['d', ['a']],
        ]),
      ),
    ).toEqual([['a', 'b', 'c']]);
  });

  it('run nothing when imported: no lib/ module looks at process.argv[1] to decide whether it is the entry (bin/ files are)', () => {
    expect(sources('lib').filter((f) => /process\.argv\[1\]/.test(readFileSync(f, 'utf8')))).toEqual([]);
    for (const bin of readdirSync('bin').filter((f) => f !== 'run-built.js')) {
      const m = /runBuilt\('([^']+)', '(\w+)'\)/.exec(readFileSync(path.join('bin', bin), 'utf8'));
      expect(m, bin).not.toBeNull();
      expect(readFileSync(`lib/${m![1]}.ts`, 'utf8'), bin).toMatch(new RegExp(`^export (async )?function ${m![2]}\\(`, 'm'));
    }
  });

  it('keep the runner out of what runs inside a guest', () => {
    const graph = importGraph(false);
    const runner = ['lib/vm/run.ts', 'lib/vm/qemu.ts', 'lib/vm/initramfs.ts', 'lib/kernels/kernel.ts', 'lib/vm/interactive.ts', 'lib/cli.ts'];
    for (const entry of ['lib/guest.ts', 'lib/stress/guest.ts', 'lib/selftests/fidelity-guest.ts']) {
      const pulled = [...reachable(graph, entry)].filter((f) => runner.includes(f) || f.startsWith('lib/jobs/'));
      expect(pulled, entry).toEqual([]);
    }
  });
});
