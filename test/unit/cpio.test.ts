import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { S_IFCHR, S_IFDIR, S_IFREG, writeCpio } from '../../lib/vm/cpio.js';

describe('newc cpio writer', () => {
  const image = writeCpio([
    { name: 'bin', mode: S_IFDIR | 0o755 },
    { name: 'bin/hello', mode: S_IFREG | 0o755, data: Buffer.from('#!/bin/sh\necho hi\n') },
    { name: 'odd', mode: S_IFREG | 0o644, data: Buffer.from('abc') },
    { name: 'dev-console', mode: S_IFCHR | 0o600, rdev: [5, 1] },
  ]);

  it('pads every header and body to 4 bytes and ends with the trailer', () => {
    expect(image.length % 4).toBe(0);
    expect(image.subarray(0, 6).toString()).toBe('070701');
    expect(image.includes(Buffer.from('TRAILER!!!\0'))).toBe(true);
  });

  it('is read back by a real cpio implementation (busybox)', () => {
    const busybox = '/usr/bin/busybox';
    expect(existsSync(busybox), 'busybox-static must be installed (make deps)').toBe(true);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'guplab-cpio-'));
    try {
      const file = path.join(dir, 'img.cpio');
      writeFileSync(file, image);
      const listing = execFileSync(busybox, ['cpio', '-tv', '-F', file], { encoding: 'utf8' });
      expect(listing).toMatch(/^drwxr-xr-x .* bin$/m);
      expect(listing).toMatch(/^-rwxr-xr-x .* bin\/hello$/m);
      expect(listing).toMatch(/^crw------- .* dev-console$/m);
      // busybox does not print device numbers: read rdevmajor/rdevminor from the header.
      const at = image.indexOf(Buffer.from('dev-console\0')) - 110;
      const field = (i: number): number => parseInt(image.subarray(at + 6 + 8 * i, at + 14 + 8 * i).toString(), 16);
      expect([field(9), field(10)]).toEqual([5, 1]);
      const out = path.join(dir, 'x');
      execFileSync('sh', ['-c', `mkdir ${out} && cd ${out} && ${busybox} cpio -id -F ${file} bin bin/hello odd`]);
      expect(readFileSync(path.join(out, 'bin/hello'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
      expect(readFileSync(path.join(out, 'odd'), 'utf8')).toBe('abc');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
