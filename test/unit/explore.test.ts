// The pure parts of vm shell, --numa and --gdb: the console splitter, the
// --numa parser and QEMU arguments, the kallsyms symbol script, gdb's
// command. No VM (test/vm/explore.test.ts boots one).
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { END_MARK, START_MARK } from '../../lib/contract.js';
import { checkPortFree, gdbCommand, kernelSymbols, symbolScript } from '../../lib/vm/gdb.js';
import { kmsgMessage, MarkerSplitter } from '../../lib/vm/interactive.js';
import { numaQemuArgs, numaSockets, parseNuma } from '../../lib/vm/numa.js';

describe('MarkerSplitter', () => {
  it('shows only what lies between the markers, even when a marker is split across reads', () => {
    const s = new MarkerSplitter();
    const shown = [
      `boot noise\n${START_MARK.slice(0, 7)}`,
      `${START_MARK.slice(7)}\r\nroot# `,
      'ls\r\nfile\r\n',
      `root# exit\r\n${END_MARK.slice(0, 5)}`,
      `${END_MARK.slice(5)}\r\n[ 9.1] reboot: Power down\r\n`,
    ]
      .map((c) => s.push(c))
      .join('');
    expect(shown).toBe('root# ls\r\nfile\r\nroot# exit\r\n');
    expect(s.phase).toBe('shutdown');
  });
  it('holds back a tail that may begin the end marker, and gives it up on flush (a prompt ending in "g")', () => {
    const s = new MarkerSplitter();
    s.push(`${START_MARK}\n`);
    expect(s.push('prompt g')).toBe('prompt ');
    expect(s.flush()).toBe('g');
    expect(s.phase).toBe('command');
  });
});

describe('kmsgMessage', () => {
  it('strips the /dev/kmsg record header', () => {
    expect(kmsgMessage('4,812,93000123,-;WARNING: CPU: 1 PID: 0 at arch/x86/kernel/smpboot.c:432 topology_sane.isra.0+0x6b/0x80')).toBe(
      'WARNING: CPU: 1 PID: 0 at arch/x86/kernel/smpboot.c:432 topology_sane.isra.0+0x6b/0x80',
    );
    expect(kmsgMessage(' SUBSYSTEM=cpu')).toBe(' SUBSYSTEM=cpu');
  });
});

describe('--numa', () => {
  it('N equal nodes: memory split, CPUs in consecutive blocks, a socket per node', () => {
    const nodes = parseNuma(['2'], 2048, 4);
    expect(nodes).toEqual([
      { memMiB: 1024, cpus: [0, 1] },
      { memMiB: 1024, cpus: [2, 3] },
    ]);
    expect(numaSockets(nodes)).toEqual({ sockets: 2, cores: 2 });
    expect(numaQemuArgs(nodes)).toEqual([
      '-smp',
      'cpus=4,sockets=2,cores=2,threads=1',
      '-object',
      'memory-backend-ram,id=guplab-numa0,size=1024M',
      '-numa',
      'node,nodeid=0,memdev=guplab-numa0,cpus=0-1',
      '-object',
      'memory-backend-ram,id=guplab-numa1,size=1024M',
      '-numa',
      'node,nodeid=1,memdev=guplab-numa1,cpus=2-3',
    ]);
  });
  it('more nodes than CPUs: memory-only nodes', () => {
    expect(parseNuma(['3'], 3072, 2).map((n) => n.cpus)).toEqual([[0], [1], []]);
  });
  it('explicit nodes: sizes and CPU lists; interleaved CPUs get no socket layout', () => {
    const nodes = parseNuma(['1536M,cpus=0;2', '512M,cpus=1;3'], 2048, 4);
    expect(nodes).toEqual([
      { memMiB: 1536, cpus: [0, 2] },
      { memMiB: 512, cpus: [1, 3] },
    ]);
    expect(numaSockets(nodes)).toBeUndefined();
    expect(numaQemuArgs(nodes)[0]).toBe('-object');
  });
  it.each([
    [['1G', '512M'], 2048, 2, /add up to 1536 MiB \(1024M \+ 512M\) but --mem is 2048/],
    [['3'], 2048, 2, /does not split into 3 equal nodes/],
    [['1G,cpus=0', '1G,cpus=0'], 2048, 2, /CPU 0 is given to two nodes/],
    [['1G,cpus=0', '1G'], 2048, 2, /CPU 1 belongs to no node/],
    [['1G,cpus=5', '1G,cpus=0-1'], 2048, 2, /CPU 5 does not exist/],
    [['1G,mem=1', '1G'], 2048, 2, /unknown node option "mem=1"/],
    [['2000M', '48M'], 2048, 2, /node 1 has 48 MiB/],
    [['9'], 9 * 1024, 2, /1 to 8 nodes/],
  ])('refuses %j with --mem %i --cpus %i', (values, mem, cpus, message) => {
    expect(() => parseNuma(values, mem, cpus)).toThrow(message);
  });
});

describe('gdb', () => {
  const kallsyms = [
    '0000000000000000 A fixed_percpu_data',
    'ffffffff81000000 T _text',
    'ffffffff81000000 T startup_64',
    'ffffffff81a592e0 t native_safe_halt',
    'ffffffff82161900 D linux_banner',
    'ffffffff82161990 d __func__.12',
    'ffffffffc04f16b0 t guplab_ioctl\t[guplab]',
  ].join('\n');
  it('keeps the core kernel symbols at and above _text, without per-CPU offsets or module symbols', () => {
    expect(kernelSymbols(kallsyms).map((s) => s.name)).toEqual(['_text', 'startup_64', 'native_safe_halt', 'linux_banner', '__func__.12']);
  });
  it('places every symbol at its offset in one NOBITS section spanning them', () => {
    const script = symbolScript(kernelSymbols(kallsyms));
    expect(script).toContain('.text 0xffffffff81000000 (NOLOAD)');
    expect(script).toContain('"linux_banner" = 0x1161900;');
    expect(script).toContain('. = 0x1161991;');
  });
  it('adds guplab.ko at the sections the guest read', () => {
    const cmd = gdbCommand({
      arch: 'x86_64',
      port: 1234,
      symbols: 'k.elf',
      sections: new Map([
        ['ko', '/dev/null'],
        ['.text', '0xc0'],
        ['.data', '0xd0'],
      ]),
    });
    expect(cmd).toEqual(['gdb', '-q', 'k.elf', '-ex', 'target remote 127.0.0.1:1234', '-ex', 'add-symbol-file /dev/null 0xc0 -s .data 0xd0']);
  });
  it('names a port in use, before anything boots', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await expect(checkPortFree(port)).rejects.toThrow(new RegExp(`port ${port} on 127.0.0.1 is already in use.*--gdb ${port + 1}`));
    server.close();
  });
});
