// Issue 8 regressions that need the module: found by `guplab stress`.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GupDevice, mapFile, pinCounters } from '../../lib/index.js';
import { DEVICE, hasDevice } from './device.js';

describe.runIf(hasDevice)('hardening', () => {
  let dev: GupDevice;
  beforeAll(() => {
    dev = GupDevice.open();
  });
  afterAll(() => dev?.close());

  it('is root-only by default: mode 0600, group=-1', () => {
    expect(statSync(DEVICE).mode & 0o777).toBe(0o600);
    expect(readFileSync('/sys/module/guplab/parameters/group', 'utf8').trim()).toBe('-1');
  });

  it('refuses to dirty a set taken without write (it dirtied read-only file pages)', () => {
    const file = path.join(os.tmpdir(), `guplab-ro-${process.pid}`);
    writeFileSync(file, Buffer.alloc(4 * 4096, 7));
    const m = mapFile(file, 4 * 4096, { populate: true, prot: 'r' });
    const { acquired, released } = pinCounters();
    try {
      const held = dev.pin('pin_user_pages_fast', m.address, 4, { hold: true });
      expect(held.ret).toBe(4);
      expect(() => dev.release(held.handle ?? 0, { dirty: true })).toThrow(/flags \["write"\]/);
      expect(dev.release(held.handle ?? 0).nrPages).toBe(4);
    } finally {
      m.close();
    }
    const after = pinCounters();
    expect(after.acquired - after.released).toBe(acquired - released);
  });
});
