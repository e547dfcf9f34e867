// Guest memory options -> kernel command line, modules, disks and mounts.
import { describe, expect, it } from 'vitest';
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
