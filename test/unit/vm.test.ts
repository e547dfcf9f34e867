import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { moduleLoadOrder } from '../../lib/vm/initramfs.js';
import { chooseAccel, qemuArgs } from '../../lib/vm/qemu.js';
import { kernelTrouble } from '../../lib/contract.js';
import { commandScript } from '../../lib/vm/run.js';

describe('initramfs module order', () => {
  const dep = [
    'kernel/fs/9p/9p.ko.xz: kernel/net/9p/9pnet.ko.xz kernel/fs/netfs/netfs.ko.xz',
    'kernel/net/9p/9pnet.ko.xz:',
    'kernel/net/9p/9pnet_virtio.ko.xz: kernel/net/9p/9pnet.ko.xz',
    'kernel/fs/netfs/netfs.ko.xz:',
    'kernel/fs/overlayfs/overlay.ko.xz:',
  ].join('\n');
  it('loads dependencies first, each once, and skips built-in modules', () => {
    expect(moduleLoadOrder(dep, ['virtio_pci', '9pnet_virtio', '9p', 'overlay'])).toEqual([
      'kernel/net/9p/9pnet.ko.xz',
      'kernel/net/9p/9pnet_virtio.ko.xz',
      'kernel/fs/netfs/netfs.ko.xz',
      'kernel/fs/9p/9p.ko.xz',
      'kernel/fs/overlayfs/overlay.ko.xz',
    ]);
  });
});

describe('guest command script', () => {
  it('quotes every word so the shell runs exactly the given argv', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'guplab-cmd-'));
    try {
      const words = ['printf', '%s|', "it's", 'a b', '$HOME', '`x`'];
      const script = commandScript(words, dir, { GUPLAB_VM_OUT: path.join(dir, 'out') });
      expect(execFileSync('sh', ['-c', script], { encoding: 'utf8' })).toBe("it's|a b|$HOME|`x`|");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('fails with 125 when the directory is missing', () => {
    const script = commandScript(['true'], '/nonexistent/dir', { GUPLAB_VM_OUT: os.tmpdir() });
    expect(() => execFileSync('sh', ['-c', script], { stdio: 'ignore' })).toThrow(/status 125|code 125|failed/);
  });
});

describe('kernel log watchdog', () => {
  it('flags WARNING, BUG, Oops, panics, UBSAN, hung tasks and RCU stalls, not ordinary lines', () => {
    const log = [
      '[ 1.0] guplab: loaded',
      '[ 2.0] WARNING: CPU: 0 PID: 1 at mm/gup.c:1200 __get_user_pages+0x1/0x2',
      '[ 3.0] BUG: kernel NULL pointer dereference, address: 0',
      '[ 4.0] Oops: 0000 [#1] SMP',
      '[ 5.0] Kernel panic - not syncing: Fatal exception',
      '[ 6.0] kernel BUG at mm/gup.c:123!',
      '[ 7.0] UBSAN: shift-out-of-bounds in mm/gup.c:42:10',
      '[ 8.0] INFO: task guplab-stress:200 blocked for more than 120 seconds.',
      '[ 9.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:',
      '[10.0] rcu: INFO: rcu_sched self-detected stall on CPU',
      '[11.0] guplab: 3 pins released on close',
    ].join('\n');
    expect(kernelTrouble(log)).toHaveLength(9);
    expect(kernelTrouble('[ 1.0] all fine\n')).toEqual([]);
  });

  it("counts every debug-kernel checker's report as trouble, whatever its header", () => {
    const reports = [
      '[ 1.0] BUG: KASAN: slab-use-after-free in guplab_release+0x1c/0x80 [guplab]',
      '[ 2.0] BUG: KFENCE: out-of-bounds read in guplab_ioctl+0x10/0x90',
      '[ 3.0] UBSAN: array-index-out-of-bounds in kmod/main.c:120:9',
      '[ 4.0] ======================================================\n[ 4.0] WARNING: possible circular locking dependency detected',
      '[ 5.0] WARNING: suspicious RCU usage',
      '[ 6.0] BUG: sleeping function called from invalid context at mm/gup.c:1234',
      '[ 7.0] page dumped because: VM_BUG_ON_FOLIO(!folio_test_locked(folio))',
      '[ 8.0] list_del corruption, ffff888003b1c000->next is LIST_POISON1',
      '[ 9.0] inconsistent {SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W} usage.\n[ 9.0] WARNING: inconsistent lock state',
    ];
    for (const r of reports) expect(kernelTrouble(r), r).not.toEqual([]);
    // gup_test's DUMP_USER_PAGES_TEST dumps pages by design (mm/gup_test.c).
    expect(kernelTrouble('[56.1] page dumped because: gup_test: dump_pages() test')).toEqual([]);
    // lockdep's banner lines alone are not reports; its WARNING header is.
    expect(kernelTrouble('[ 4.0] ======================================================')).toEqual([]);
    // A declared WARNING does not excuse a lockdep report printed as one.
    expect(kernelTrouble('[ 5.0] WARNING: possible circular locking dependency detected', [/at mm\/gup\.c/])).toHaveLength(1);
  });
});

describe('qemu command line', () => {
  const spec = { vmlinuz: '/k', initramfs: '/i', ioDir: '/io', memMiB: 2048, cpus: 2, append: ['x=1'] };
  it('uses TCG when the CPU lacks vmx/svm even with /dev/kvm', () => {
    expect(chooseAccel('x86_64', 'x86_64', 'flags\t\t: fpu vme sse2')).toBe('tcg');
    expect(chooseAccel('arm64', 'x86_64', 'flags\t\t: vmx')).toBe('tcg');
  });
  it('boots x86_64 on q35 with serial console and both 9p shares', () => {
    const args = qemuArgs({ ...spec, arch: 'x86_64', accel: 'tcg' });
    expect(args.join(' ')).toContain('q35,accel=tcg');
    expect(args[args.indexOf('-append') + 1]).toBe('console=ttyS0 quiet panic=-1 oops=panic x=1');
    expect(args.filter((a) => a.includes('mount_tag='))).toHaveLength(2);
    expect(args.find((a) => a.includes('mount_tag=hostroot'))).toContain('readonly=on');
  });
  it('shares over virtio-fs, guest memory a shared memfd, for a kernel without 9p modules', () => {
    const args = qemuArgs({ ...spec, arch: 'x86_64', accel: 'tcg', virtiofs: { hostroot: '/s/h.sock', guplabio: '/s/io.sock' } });
    expect(args.join(' ')).toContain('q35,accel=tcg,memory-backend=mem');
    expect(args).toContain('memory-backend-memfd,id=mem,size=2048M,share=on');
    expect(args.filter((a) => a.startsWith('vhost-user-fs-pci,')).sort()).toEqual([
      'vhost-user-fs-pci,chardev=vfs0,tag=hostroot',
      'vhost-user-fs-pci,chardev=vfs1,tag=guplabio',
    ]);
    expect(args).toContain('socket,id=vfs0,path=/s/h.sock');
    expect(args).not.toContain('-virtfs');
  });
  it('boots arm64 on virt with cortex-a72 (pointer-auth emulation is slow with -cpu max)', () => {
    const args = qemuArgs({ ...spec, arch: 'arm64', accel: 'tcg' });
    expect(args[args.indexOf('-cpu') + 1]).toBe('cortex-a72');
    expect(args[args.indexOf('-append') + 1]).toMatch(/^console=ttyAMA0 /);
  });
});
