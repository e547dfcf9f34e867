import { describe, expect, it } from 'vitest';
import { configValue, DEBUG_REQUIRED, debugConfigFragment, debugLine, debugSourceFor, unmetOptions } from '../../lib/kernels/debugkernel.js';

describe('debug kernels', () => {
  it('reads the line of a debug spec and nothing else', () => {
    expect(debugLine('6.12-debug')).toBe('6.12');
    expect(debugLine('7.3-debug')).toBe('7.3');
    expect(debugLine('6.12')).toBeUndefined();
    expect(debugLine('6.1.0-57-amd64')).toBeUndefined();
  });

  it('merges the guest, the arch and the checkers into one fragment', () => {
    const f = debugConfigFragment('x86_64');
    for (const line of [
      'CONFIG_KASAN=y',
      'CONFIG_PROVE_LOCKING=y',
      'CONFIG_GUP_TEST=y',
      'CONFIG_SERIAL_8250_CONSOLE=y',
      'CONFIG_X86_PMEM_LEGACY=y',
      'CONFIG_INET=n',
      'CONFIG_LOCALVERSION="-debug"',
    ]) {
      expect(f.split('\n')).toContain(line);
    }
    expect(debugConfigFragment('arm64')).toContain('CONFIG_SERIAL_AMBA_PL011_CONSOLE=y');
  });

  it('names every required option that olddefconfig dropped or changed', () => {
    const all = Object.entries(DEBUG_REQUIRED).map(([o, v]) => (v === 'n' ? `# ${o} is not set` : `${o}=${v}`));
    const good = [...all, 'CONFIG_SERIAL_8250_CONSOLE=y', 'CONFIG_X86_PMEM_LEGACY=y', 'CONFIG_BLK_DEV_PMEM=y', 'CONFIG_X86_64=y'].join('\n');
    expect(unmetOptions(good, 'x86_64')).toEqual([]);
    const noKasan = good.replace('CONFIG_KASAN=y\n', '').replace('CONFIG_TEST_HMM=y', 'CONFIG_TEST_HMM=m');
    expect(unmetOptions(noKasan, 'x86_64')).toEqual(['CONFIG_TEST_HMM=y (got m)', 'CONFIG_KASAN=y (got n)']);
    expect(configValue('CONFIG_LOCALVERSION="-debug"\n', 'CONFIG_LOCALVERSION')).toBe('-debug');
    expect(configValue('# CONFIG_INET is not set\n', 'CONFIG_INET')).toBe('n');
  });

  it('refuses an arm64 debug kernel before anything is fetched', () => {
    expect(() => debugSourceFor('6.12', 'arm64', [], '/nonexistent', 'bookworm')).toThrow(/debug kernels are built for x86_64 guests only.*pass --arch x86_64/);
  });
});
