// Kernel debugging of a guest: QEMU's gdb stub on a local port, the guest
// booted with nokaslr, and symbols gdb can use. Debian ships the kernel's
// debug info only in linux-image-RELEASE-dbg (about 860 MB to download and
// 5.6 GB unpacked for 6.1 amd64, 800 MB / 5.1 GB arm64) and its System.map
// is a stub, so by default the symbols come from the running guest: its
// /proc/kallsyms, turned on the host into an ELF of names and addresses (no
// types, no lines) that gdb loads; guplab.ko, built with debug info, is
// added at the addresses the guest's /sys/module/guplab/sections give.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ARCHES, hostArch, type Arch } from './arch.js';

export const DEFAULT_GDB_PORT = 1234;
/** QEMU listens here only: the stub gives full control of the guest. */
export const GDB_HOST = '127.0.0.1';

/** Resolves when `port` can be listened on at GDB_HOST; rejects with a message naming the fix when it is taken. */
export function checkPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new RangeError(
          err.code === 'EADDRINUSE'
            ? `--gdb ${port}: port ${port} on ${GDB_HOST} is already in use (another guest's gdb stub, or a gdbserver): give another, e.g. --gdb ${port + 1}`
            : `--gdb ${port}: cannot listen on ${GDB_HOST}:${port} (${err.code ?? err.message}): give another port`,
        ),
      );
    });
    server.listen(port, GDB_HOST, () => server.close(() => resolve()));
  });
}

/** QEMU's arguments for the stub. */
export function gdbQemuArgs(port: number): string[] {
  return ['-gdb', `tcp:${GDB_HOST}:${port}`];
}

interface KallsymsEntry {
  address: bigint;
  name: string;
}

/** The core kernel's symbols of a /proc/kallsyms text (module symbols and per-CPU offsets left out). */
export function kernelSymbols(kallsyms: string): KallsymsEntry[] {
  const all: KallsymsEntry[] = [];
  for (const line of kallsyms.split('\n')) {
    const m = /^([0-9a-f]+) (\w) (\S+)$/.exec(line);
    if (!m) continue; // module symbols carry "\t[module]"
    all.push({ address: BigInt(`0x${m[1]}`), name: m[3]! });
  }
  const text = all.find((s) => s.name === '_text' || s.name === '_stext');
  if (!text) throw new Error("the guest's /proc/kallsyms has no _text: were addresses hidden (kptr_restrict)?");
  return all.filter((s) => s.address >= text.address);
}

/** A linker script that makes an ELF whose one NOBITS section holds every symbol at its address. */
export function symbolScript(symbols: readonly KallsymsEntry[]): string {
  // biome-ignore lint/complexity/useMathMinMax: addresses are bigints, which Math.min does not take
  const base = symbols.reduce((min, s) => (s.address < min ? s.address : min), symbols[0]!.address);
  // biome-ignore lint/complexity/useMathMinMax: bigints, as above
  const top = symbols.reduce((max, s) => (s.address > max ? s.address : max), base);
  const lines = symbols.filter((s) => /^[\w.$]+$/.test(s.name)).map((s) => `    "${s.name}" = 0x${(s.address - base).toString(16)};`);
  return `SECTIONS {\n  .text 0x${base.toString(16)} (NOLOAD) : {\n${lines.join('\n')}\n    . = 0x${(top - base + 1n).toString(16)};\n  }\n}\n`;
}

function tool(arch: Arch, name: string): string {
  return arch === hostArch() ? name : `${ARCHES[arch].triple}-${name}`;
}

/**
 * Turns a guest's /proc/kallsyms into an ELF of symbols for gdb, under
 * `cacheDir` by the hash of its text (a nokaslr boot of the same kernel and
 * module reuses it); returns its path.
 */
export function kallsymsElf(kallsymsFile: string, arch: Arch, cacheDir: string): string {
  const text = readFileSync(kallsymsFile, 'utf8');
  const outDir = path.join(cacheDir, `${arch}-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`);
  const elf = path.join(outDir, 'vmlinux-kallsyms.elf');
  if (existsSync(elf)) return elf;
  mkdirSync(outDir, { recursive: true });
  const script = path.join(outDir, `kallsyms.${process.pid}.ld`);
  const empty = path.join(outDir, `empty.${process.pid}.o`);
  writeFileSync(script, symbolScript(kernelSymbols(text)));
  try {
    execFileSync(tool(arch, 'as'), ['-o', empty, '/dev/null'], { stdio: ['ignore', 'ignore', 'pipe'] });
    // Linked under a temporary name: two guests of one kernel may make it at once.
    execFileSync(tool(arch, 'ld'), ['-o', `${elf}.${process.pid}.tmp`, '-T', script, empty], { stdio: ['ignore', 'ignore', 'pipe'] });
    renameSync(`${elf}.${process.pid}.tmp`, elf);
  } catch (err) {
    throw new Error(`cannot make the symbol file for gdb: install binutils${arch === hostArch() ? '' : `-${ARCHES[arch].triple}`}`, { cause: err });
  } finally {
    rmSync(script, { force: true });
    rmSync(empty, { force: true });
  }
  return elf;
}

/** gdb's name for the guest's arch (gdb-multiarch is needed for a guest of another arch). */
export function gdbBinary(arch: Arch): string {
  return arch === hostArch() ? 'gdb' : 'gdb-multiarch';
}

/** The gdb command that attaches to the guest: kernel symbols, then guplab.ko at its sections. */
export function gdbCommand(opts: { arch: Arch; port: number; symbols: string; sections: ReadonlyMap<string, string> }): string[] {
  const text = opts.sections.get('.text');
  const ko = opts.sections.get('ko') ?? '';
  const others = [...opts.sections].filter(([name]) => name.startsWith('.') && name !== '.text').flatMap(([name, addr]) => ['-s', name, addr]);
  return [
    gdbBinary(opts.arch),
    '-q',
    opts.symbols,
    '-ex',
    `target remote ${GDB_HOST}:${opts.port}`,
    ...(text && existsSync(ko) ? ['-ex', `add-symbol-file ${[ko, text, ...others].join(' ')}`] : []),
  ];
}

/** A shell line of a command. */
export function shellLine(argv: readonly string[]): string {
  return argv.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`)).join(' ');
}
