// The kernel a command line asks for becomes a BootTarget once (lib/kernels/resolve.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveBootTarget, targetOf } from '../../lib/kernels/resolve.js';
import type { Kernel } from '../../lib/kernels/target.js';
import { UsageError } from '../../lib/util/args.js';

const kernel = { release: '6.12.118+deb12-amd64', upstream: '6.12.118', arch: 'x86_64' } as Kernel;

describe('resolveBootTarget', () => {
  it('refuses an image without its build tree, and a build tree without its image, as bad input', () => {
    const log = (): void => undefined;
    expect(() => resolveBootTarget({ kernelImage: '/boot/vmlinuz' }, log)).toThrow(UsageError);
    expect(() => resolveBootTarget({ kernelBuild: '/usr/src/linux' }, log)).toThrow(/--kernel-image and --kernel-build go together/);
  });
  it("names a user kernel's origin and what was asked, and refuses an image that does not exist", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'guplab-resolve-'));
    expect(() => resolveBootTarget({ kernelImage: path.join(dir, 'missing'), kernelBuild: dir }, () => undefined)).toThrow(/does not exist/);
    writeFileSync(path.join(dir, 'not-an-image'), 'text');
    expect(() => resolveBootTarget({ kernelImage: path.join(dir, 'not-an-image'), kernelBuild: dir }, () => undefined)).toThrow();
  });
  it('tells a debug kernel from a Debian one by what was asked, once', () => {
    expect(targetOf(kernel, '6.12-debug')).toEqual({ kernel, origin: 'debug', asked: '6.12-debug' });
    expect(targetOf(kernel, '6.12')).toEqual({ kernel, origin: 'debian', asked: '6.12' });
  });
});
