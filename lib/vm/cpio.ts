// A writer for the "newc" cpio format the kernel unpacks as initramfs
// (Documentation/driver-api/early-userspace/buffer-format.rst), so that
// building an image needs no cpio binary and no root for device nodes.

export interface CpioEntry {
  name: string;
  /** Full st_mode, e.g. 0o100755 for an executable file, 0o40755 for a directory. */
  mode: number;
  data?: Buffer;
  /** For character devices: [major, minor]. */
  rdev?: [number, number];
}

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFCHR = 0o020000;

function pad4(n: number): Buffer {
  return Buffer.alloc((4 - (n % 4)) % 4);
}

function header(ino: number, entry: CpioEntry, size: number): string {
  const name = Buffer.byteLength(entry.name) + 1;
  const fields = [ino, entry.mode, 0, 0, 1, 0, size, 0, 0, entry.rdev?.[0] ?? 0, entry.rdev?.[1] ?? 0, name, 0];
  return `070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`;
}

export function writeCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const all = [...entries, { name: 'TRAILER!!!', mode: 0 }];
  all.forEach((entry, i) => {
    const data = entry.data ?? Buffer.alloc(0);
    const head = Buffer.from(`${header(i + 1, entry, data.length)}${entry.name}\0`);
    parts.push(head, pad4(head.length), data, pad4(data.length));
  });
  return Buffer.concat(parts);
}
