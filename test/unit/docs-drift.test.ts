// The committed reference pages (docs/reference/) against a fresh render
// from the code and docs/data/: a stale page fails here, in the fast tier,
// naming the file and the fix. In memory: no VM, no root, no network.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { docsDrift, renderDocs } from '../../lib/jobs/docs.js';
import { projectRoot } from '../../lib/util/root.js';

describe('docs/reference', () => {
  it('is what `make docs` generates from the code and docs/data/', () => {
    const stale = docsDrift();
    expect(stale, `${stale.join(', ')} ${stale.length > 1 ? 'differ' : 'differs'} from a fresh render: run \`make docs\` and commit the result`).toEqual([]);
  });

  it('renders the same bytes twice, with no absolute path, date or host name in them', () => {
    const pages = renderDocs();
    expect(renderDocs()).toEqual(pages);
    for (const page of pages) {
      expect(page.text, page.path).not.toContain(projectRoot);
      expect(page.text, page.path).not.toMatch(/\b20\d\d-\d\d-\d\d\b/);
      // A short host name (a container's "a1") could appear in any text by chance.
      if (os.hostname().length >= 6) expect(page.text, page.path).not.toContain(os.hostname());
    }
  });
});

describe('README.md, the front door', () => {
  const readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
  it('stays within 250 lines', () => {
    expect(readme.split('\n').length - 1).toBeLessThanOrEqual(250);
  });
  it('links only to files that exist', () => {
    const links = [...readme.matchAll(/\]\(((?:docs|kmod|lib|test)\/[^)#\s]*)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((l) => !existsSync(path.join(projectRoot, l)))).toEqual([]);
  });
});
