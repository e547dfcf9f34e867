// The addon on the host, without the module.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_NAMES, FLAG_NAMES } from '../../lib/abi.js';
import { DeviceMissingError, GupDevice, isSystemError } from '../../lib/index.js';
import { PAGE_KINDS } from '../../lib/device.js';
import { addon } from '../../lib/native.js';

describe('ABI tables', () => {
  it('TypeScript names match the addon, which takes them from kmod/uapi/guplab.h', () => {
    expect(Object.keys(addon().abi.apis).sort()).toEqual([...API_NAMES].sort());
    expect(Object.keys(addon().abi.flags).sort()).toEqual([...FLAG_NAMES].sort());
    expect(Object.keys(addon().abi.kinds).sort()).toEqual([...PAGE_KINDS].sort());
    expect(Object.keys(addon().abi.props).sort()).toEqual(['longtermPinnable', 'maybeDmaPinned', 'pfnChanged', 'zoneMovable']);
    // Per-API facts come from the header's table, not from the names.
    expect(addon().abi.apiInfo.pin_user_pages_remote).toEqual({ pin: true, path: 'remote' });
    expect(addon().abi.apiInfo.get_user_pages_fast_only).toEqual({ pin: false, path: 'fast_only' });
    expect(Object.values(addon().abi.apiInfo).filter((i) => i.pin)).toHaveLength(5);
    expect(addon().abi.version).toBeGreaterThanOrEqual(1);
  });
});

describe('opening the device without the module', () => {
  it.skipIf(existsSync('/dev/guplab'))('fails with a Node-style ENOENT that says how to load the module', () => {
    let caught: unknown;
    try {
      GupDevice.open();
    } catch (err) {
      caught = err;
    }
    expect(isSystemError(caught)).toBe(true);
    expect(caught).toBeInstanceOf(DeviceMissingError);
    const err = caught as NodeJS.ErrnoException & { hint: string };
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'open', path: '/dev/guplab' });
    expect(err.message).toContain('module is not loaded');
    expect(err.message).toContain('make load');
  });

  it.skipIf(existsSync('/dev/guplab'))('in a guest booted with --no-module, says so instead of how to load the module', () => {
    const saved = process.env.GUPLAB_NO_MODULE;
    process.env.GUPLAB_NO_MODULE = '1';
    try {
      expect(() => GupDevice.open()).toThrow(DeviceMissingError);
      expect(() => GupDevice.open()).toThrow(
        /^ENOENT: No such file or directory, open '\/dev\/guplab'\. this guest was booted with --no-module, so guplab\.ko is not loaded/,
      );
      expect(() => GupDevice.open()).not.toThrow(/make load/);
    } finally {
      if (saved === undefined) delete process.env.GUPLAB_NO_MODULE;
      else process.env.GUPLAB_NO_MODULE = saved;
    }
  });

  it('names the path it could not open', () => {
    expect(() => GupDevice.open('/nonexistent/guplab')).toThrow(/ENOENT: .*open '\/nonexistent\/guplab'/);
  });
});
