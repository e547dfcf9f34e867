// Guest memory options -> kernel command line, modules, disks and mounts.
import { describe, expect, it } from 'vitest';
import { onlyRpcTimeouts } from '../../lib/guest.js';
import { fullGuest, guestSetup, sizeMiB } from '../../lib/vm/guest.js';

describe('guest memory options', () => {
  it('turns huge pages, THP and movablecore into kernel arguments', () => {
    const s = guestSetup({ hugepages: 16, hugepages1g: 1, thp: 'never', movablecore: '1G' }, 'x86_64', 4096);
    expect(s.append).toEqual(['hugepagesz=1G', 'hugepages=1', 'hugepagesz=2M', 'hugepages=16', 'transparent_hugepage=never', 'movablecore=1024M']);
    expect(s.modules).toEqual([]);
  });

  it('carves one pmem region per DAX filesystem and puts plain ones on virtio disks', () => {
    const s = guestSetup({ pmem: '128M', dax: ['ext4', 'xfs'], fs: ['xfs'] }, 'x86_64', 3072);
    expect(s.append).toEqual(['memmap=128M!1024M', 'memmap=128M!1152M']);
    expect(s.disks).toEqual([{ fs: 'xfs', sizeMiB: 256 }]);
    expect(s.mounts).toEqual([
      { fs: 'xfs', dax: false, device: '/dev/vda', path: '/mnt/guplab/xfs' },
      { fs: 'ext4', dax: true, device: '/dev/pmem0', path: '/mnt/guplab/ext4-dax' },
      { fs: 'xfs', dax: true, device: '/dev/pmem1', path: '/mnt/guplab/xfs-dax' },
    ]);
    expect(s.modules).toEqual(expect.arrayContaining(['virtio_blk', 'crc32c_generic', 'xfs', 'ext4', 'nd_e820', 'nd_pmem']));
    expect(s.script.filter((l) => l.startsWith('mkdir'))).toHaveLength(3);
  });

  it('says what is wrong with impossible requests', () => {
    expect(() => guestSetup({ dax: ['ext4'] }, 'x86_64', 3072)).toThrow(/--dax needs --pmem/);
    expect(() => guestSetup({ pmem: '128M', dax: ['ext4'] }, 'arm64', 3072)).toThrow(/only x86_64/);
    expect(() => guestSetup({ pmem: '1G', dax: ['ext4', 'xfs'] }, 'x86_64', 2048)).toThrow(/needs --mem 3584/);
    expect(() => sizeMiB('12K')).toThrow(RangeError);
  });

  it('the full guest has DAX only where pmem can be emulated', () => {
    expect(fullGuest('x86_64').memory.dax).toEqual(['ext4', 'xfs']);
    expect(fullGuest('arm64').memory.dax).toBeUndefined();
    expect(() => guestSetup(fullGuest('arm64').memory, 'arm64', 3072)).not.toThrow();
  });
});

describe('the guest test run and vitest\'s worker RPC timeout', () => {
  // The end of a real run (6.12 x86_64, TCG) that vitest failed although every test passed.
  const tail = (errors: string, count = 1): string => [
    ' ✓ test/kernel/pin.test.ts > GUP on a real kernel > refuses to talk through a closed device 87ms',
    '⎯⎯⎯⎯⎯⎯ Unhandled Errors ⎯⎯⎯⎯⎯⎯\r',
    errors,
    ' Test Files  5 passed (5)\r',
    '      Tests  134 passed (134)\r',
    `     Errors  ${count} error${count > 1 ? 's' : ''}\r`,
  ].join('\n');
  const timeout = '\x1b[31mError: [vitest-worker]: Timeout calling "onTaskUpdate"\x1b[39m\r\n ❯ Object.onTimeoutError node_modules/vitest/dist/chunks/rpc.-pEldfrD.js:53:10\r';
  const passed = { numTotalTests: 134, numFailedTests: 0, numFailedTestSuites: 0 };

  it('counts a run whose only unhandled errors are that timeout, with every test passed, as passed', () => {
    expect(onlyRpcTimeouts(tail(timeout), passed)).toBe(true);
  });
  it('keeps it failed when a test failed, no test ran, or another unhandled error came too', () => {
    expect(onlyRpcTimeouts(tail(timeout), { ...passed, numFailedTests: 1 })).toBe(false);
    expect(onlyRpcTimeouts(tail(timeout), { ...passed, numFailedTestSuites: 1 })).toBe(false);
    expect(onlyRpcTimeouts(tail(timeout), { numTotalTests: 0, numFailedTests: 0, numFailedTestSuites: 0 })).toBe(false);
    expect(onlyRpcTimeouts(tail(`${timeout}\nError: EFAULT from the module\r`, 2), passed)).toBe(false);
    expect(onlyRpcTimeouts(tail(`${timeout}\n${timeout}`, 2), passed)).toBe(true);
    expect(onlyRpcTimeouts(' Test Files  5 passed (5)\n      Tests  134 passed (134)\n', passed)).toBe(false);
  });
});
