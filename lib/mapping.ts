// Memory for experiments: every kind GUP treats differently, one call each.
// The addon maps it; this layer validates, tracks protections (so that JS
// never touches a page the process may not access) and reports what the
// kernel actually backed the range with.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { ChildProcessError, classify, ClosedError, errnoName, HugePagesUnavailableError, UnsupportedError, type ErrorContext } from './errors.js';
import { addon, type NativeMapOptions } from './native.js';

/** How the memory is backed. */
/** device: /dev/guplab's own pages, a VM_IO | VM_PFNMAP mapping (remap_pfn_range). */
export type MappingKind = 'anon' | 'hugetlb' | 'memfd' | 'secret' | 'file' | 'device';

/** Page protections: read-write, read-only, or none (PROT_NONE). */
export type Protection = 'rw' | 'r' | 'none';

/** MADV_HUGEPAGE ("on", and the buffer starts on a 2 MiB boundary), MADV_NOHUGEPAGE ("off"), or no advice. */
export type ThpMode = 'on' | 'off' | 'default';

/**
 * Fault the pages in at map time: "read" reads a byte of each page,
 * "write" (or true, on writable memory) writes one (file data is kept).
 * false leaves the range unfaulted, so that GUP does the faulting.
 */
export type Populate = boolean | 'read' | 'write';

/** A huge page size as the kernel names its pools: "2M", "1G", "64K", "32M"... */
export type HugePageSize = `${number}${'K' | 'M' | 'G'}`;

/** madvise(2) advice that experiments use. */
export type Advice =
  | 'dontneed'
  | 'willneed'
  /** MADV_RANDOM / MADV_SEQUENTIAL: VM_RAND_READ (no fault read-ahead) / VM_SEQ_READ. */
  | 'random'
  | 'sequential'
  | 'hugepage'
  | 'nohugepage'
  | 'remove'
  | 'free'
  | 'cold'
  | 'pageout'
  | 'populateRead'
  | 'populateWrite'
  /** MADV_MERGEABLE / MADV_UNMERGEABLE: KSM. */
  | 'mergeable'
  | 'unmergeable'
  /** MADV_GUARD_INSTALL / MADV_GUARD_REMOVE: guard regions (6.13+). */
  | 'guardInstall'
  | 'guardRemove';

/** Options every map* function takes. */
export interface CommonOptions {
  /** Default false: the range is left unfaulted. */
  populate?: Populate;
  /** Default "rw". */
  prot?: Protection;
  /** Leave the page right after the buffer unmapped (for partial-GUP experiments). */
  holeAfter?: boolean;
}

/** Options of mapAnonymous(). */
export interface AnonymousOptions extends CommonOptions {
  /** "on": 2 MiB aligned with MADV_HUGEPAGE; "off": MADV_NOHUGEPAGE; default: the system's THP setting. */
  thp?: ThpMode;
  /** MAP_SHARED (shmem-backed) instead of MAP_PRIVATE. */
  shared?: boolean;
}

/** Options of mapHugetlb(). */
export interface HugetlbOptions extends CommonOptions {
  /** Default "2M". */
  pageSize?: HugePageSize;
  /** MAP_SHARED instead of MAP_PRIVATE. */
  shared?: boolean;
}

/** Options of mapMemfd(). */
export interface MemfdOptions extends CommonOptions {
  /** memfd_create with MFD_HUGETLB of this page size; default plain shmem. */
  hugetlb?: HugePageSize;
  /** Default true: MAP_SHARED. false maps the memfd MAP_PRIVATE. */
  shared?: boolean;
  thp?: ThpMode;
}

/** Options of mapFile(). */
export interface FileOptions extends CommonOptions {
  /** Default true: MAP_SHARED. */
  shared?: boolean;
  /** Create the file (mode 0600) and extend it to the mapping's length. */
  create?: boolean;
  /** MAP_SHARED_VALIDATE | MAP_SYNC (DAX filesystems only). */
  sync?: boolean;
  thp?: ThpMode;
}

/** One operation of the child in {@link Mapping.forkRun}. */
export interface ChildOp {
  op: 'read' | 'write' | 'pfn';
  /** Byte offset in the mapping. */
  offset: number;
  /** Byte to write. */
  value?: number;
}

/** What smaps says backs a mapping (summed over its VMAs), in kB. */
export interface BackingReport {
  rssKb: number;
  anonKb: number;
  anonHugeKb: number;
  shmemPmdKb: number;
  filePmdKb: number;
  hugetlbKb: number;
  /** KernelPageSize of the VMAs (the hugetlb page size for hugetlb). */
  kernelPageKb: number;
  thpEligible: boolean;
  /** VmFlags mnemonics, e.g. "rd", "wr", "sh", "hg" (MADV_HUGEPAGE), "ht" (hugetlb). */
  vmFlags: string[];
}

/** The base page size (4 KiB on the Debian kernels guplab boots; 16K/64K on some arm64 builds). */
const pageSize = (): number => addon().pageSize;
const HUGE_ALIGN = 2 << 20;
const PROT_READABLE: Record<Protection, boolean> = { rw: true, r: true, none: false };

/**
 * A mapping in this process. Unmapped by close() or when garbage collected;
 * close() is idempotent. Unmapping while the module holds pins on it is
 * safe: the pins keep the pages (not the mapping) alive.
 */
export class Mapping {
  /** Start address (what GUP calls take). */
  readonly address: bigint;
  /** Bytes, a multiple of the page size (of the huge page size for hugetlb). */
  readonly length: number;
  readonly kind: MappingKind;
  readonly shared: boolean;
  /** Page size of hugetlb memory, in bytes; undefined otherwise. */
  readonly hugePageBytes: number | undefined;
  /** The file of a file mapping. */
  readonly path: string | undefined;
  #buffer: ArrayBuffer;
  /** Protection of each base page, as set by map and protect(). */
  readonly #prot: Protection[];

  /** @internal use the map* functions. */
  constructor(
    native: { buffer: ArrayBuffer; address: bigint; length: number },
    kind: MappingKind,
    shared: boolean,
    prot: Protection,
    hugePageBytes?: number,
    path?: string,
  ) {
    this.#buffer = native.buffer;
    this.address = native.address;
    this.length = native.length;
    this.kind = kind;
    this.shared = shared;
    this.hugePageBytes = hugePageBytes;
    this.path = path;
    this.#prot = new Array<Protection>(Math.ceil(this.length / pageSize())).fill(prot);
  }

  /** Number of base pages: the nrPages that covers the whole mapping. */
  get pages(): number {
    return this.length / pageSize();
  }

  get closed(): boolean {
    return this.#buffer.byteLength === 0;
  }

  /** The raw memory. Touching a page whose protection forbids it kills the process: prefer bytes(), read(), write(). */
  get buffer(): ArrayBuffer {
    return this.#buffer;
  }

  /** Address of a byte offset. */
  at(offset: number): bigint {
    this.#range(offset, 0);
    return this.address + BigInt(offset);
  }

  /** The protection of the page holding `offset`. */
  protection(offset = 0): Protection {
    this.#range(offset, 1);
    return this.#prot[Math.floor(offset / pageSize())] ?? 'none';
  }

  /** A view of the whole mapping; only while every page is read-write. */
  bytes(): Uint8Array {
    this.#access(0, this.length, 'rw');
    return new Uint8Array(this.#buffer);
  }

  /** Copies `length` bytes from `offset`. */
  read(offset: number, length = 1): Uint8Array {
    this.#access(offset, length, 'r');
    return new Uint8Array(this.#buffer, offset, length).slice();
  }

  /** Writes `data` (or fills `length` bytes with a byte value) at `offset`. */
  write(offset: number, data: Uint8Array | number, length = 1): void {
    const size = typeof data === 'number' ? length : data.length;
    this.#access(offset, size, 'rw');
    const view = new Uint8Array(this.#buffer, offset, size);
    if (typeof data === 'number') view.fill(data);
    else view.set(data);
  }

  /** mprotect(2) of [offset, offset+length) (default: all). */
  protect(prot: Protection, offset = 0, length = this.length - offset): void {
    this.#pageRange(offset, length);
    this.#native(() => addon().protect(this.address + BigInt(offset), length, prot));
    for (let p = offset / pageSize(); p < (offset + length) / pageSize(); p++) this.#prot[p] = prot;
  }

  /** madvise(2) of [offset, offset+length) (default: all). */
  advise(advice: Advice, offset = 0, length = this.length - offset): void {
    this.#pageRange(offset, length);
    this.#native(() => addon().advise(this.address + BigInt(offset), length, advice));
  }

  /**
   * madvise(MADV_HWPOISON): memory_failure() on the pages, as a machine
   * check would (root only; they stay out of service until reboot: a guest's
   * business, not a workstation's). Answers madvise's errno ('' when it
   * succeeded) and the SIGBUSes the kernel sent this process meanwhile,
   * which are caught instead of killing it. Never touch the pages again
   * from this process: that access is a SIGBUS.
   */
  poison(offset = 0, length = this.length - offset): { errno: string; sigbus: number; code: string } {
    this.#pageRange(offset, length);
    const r = this.#native(() => addon().hwpoison(this.address + BigInt(offset), length));
    return { errno: r.errno ? errnoName(-r.errno) : '', sigbus: r.sigbus, code: r.code };
  }

  /**
   * Faults pages in from user space now (read, or write keeping the data:
   * a read and a write back of a byte per page). On THP-eligible anonymous
   * memory not yet faulted, the read maps the huge zero page and the write
   * then splits it, so 'write' leaves 4K pages there: map with populate
   * for huge pages.
   */
  touch(mode: 'read' | 'write', offset = 0, length = this.length - offset): void {
    this.#access(offset, length, mode === 'write' ? 'rw' : 'r');
    addon().touch(this.address + BigInt(offset), length, mode === 'write');
  }

  /** msync(MS_SYNC) of [offset, offset+length): writes a shared file mapping's dirty pages back now. */
  sync(offset = 0, length = this.length - offset): void {
    this.#pageRange(offset, length);
    this.#native(() => addon().msync(this.address + BigInt(offset), length));
  }

  /** Pages of [offset, offset+length) mincore(2) finds resident (for a file: in its page cache, mapped here or not). */
  resident(offset = 0, length = this.length - offset): number {
    this.#pageRange(offset, length);
    return this.#native(() => addon().resident(this.address + BigInt(offset), length));
  }

  /**
   * move_pages(2) of the page at `offset` to NUMA node `node`
   * (MPOL_MF_MOVE); without `node`, only asks where it is. Answers the
   * syscall's return (pages not migrated; -1 with errno) and the page's
   * status (its node, or a negative errno such as -ENOENT).
   */
  movePage(offset = 0, node?: number): { ret: number; errno: string; status: number } {
    this.#range(offset, 1);
    const r = this.#native(() => addon().movePages(this.address + BigInt(offset), node ?? -1));
    return { ret: r.ret, errno: r.errno ? errnoName(-r.errno) : '', status: r.status };
  }

  /** Physical frame of the page at `offset` per /proc/self/pagemap (0n when not present or not root). */
  pfn(offset = 0): bigint {
    this.#range(offset, 1);
    this.#open();
    return addon().pfn(this.address + BigInt(offset), 1);
  }

  /**
   * Forks a child that runs `ops` on its copy-on-write view of this mapping
   * and exits; returns one value per op (the byte read or written, or the
   * pfn the child sees). For COW-after-fork experiments.
   */
  forkRun(ops: readonly ChildOp[]): { results: bigint[]; status: number } {
    const native = ops.map(({ op, offset, value }) => {
      if (op !== 'read' && op !== 'write' && op !== 'pfn') throw new TypeError(`forkRun: unknown op "${String(op)}"`);
      if (op !== 'pfn') this.#access(offset, 1, op === 'write' ? 'rw' : 'r');
      else this.#range(offset, 1);
      if (op === 'write' && !(Number.isInteger(value) && (value ?? -1) >= 0 && (value ?? 256) < 256)) {
        throw new RangeError(`forkRun: a write needs a byte value 0..255, got ${value}`);
      }
      return { op, address: this.address + BigInt(offset), value: value ?? 0 };
    });
    const out = this.#native(() => addon().forkRun(native));
    if (out.status !== 0 || out.results.length !== ops.length) {
      throw new ChildProcessError(`forkRun: the child exited with status ${out.status} after ${out.results.length} of ${ops.length} operations`, {
        code: 'ERR_GUPLAB_CHILD',
        syscall: 'fork',
        hint: 'a read or write the kernel refused kills the child (SIGSEGV/SIGBUS): check the protections and the mapping kind',
      });
    }
    return out;
  }

  /** What the kernel backs this range with, from /proc/self/smaps. */
  backing(): BackingReport {
    this.#open();
    return smapsReport(this.address, this.length);
  }

  /** Unmaps now; later calls on this mapping throw. Idempotent. */
  close(): void {
    if (!this.closed) addon().unmap(this.#buffer);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #open(): void {
    if (this.closed) throw new ClosedError('the mapping is closed', { code: 'ERR_GUPLAB_CLOSED', hint: 'map a new one' });
  }

  #range(offset: number, length: number): void {
    this.#open();
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0 || offset + length > this.length) {
      throw new RangeError(`[${offset}, +${length}) is outside the ${this.length}-byte mapping`);
    }
  }

  #pageRange(offset: number, length: number): void {
    this.#range(offset, length);
    // mprotect/madvise on hugetlb memory work in whole huge pages.
    const unit = this.hugePageBytes ?? pageSize();
    if (offset % unit || length % unit || length === 0) {
      throw new RangeError(`offset ${offset} and length ${length} must be non-zero multiples of the ${this.hugePageBytes ? 'huge ' : ''}page size ${unit}`);
    }
  }

  #access(offset: number, length: number, need: 'r' | 'rw'): void {
    this.#range(offset, length);
    for (let p = Math.floor(offset / pageSize()); p < Math.ceil((offset + length) / pageSize()); p++) {
      const prot = this.#prot[p] ?? 'none';
      if (need === 'rw' ? prot !== 'rw' : !PROT_READABLE[prot]) {
        throw new RangeError(`page ${p} of the mapping is ${prot === 'none' ? 'PROT_NONE' : 'read-only'}: protect() it first`);
      }
    }
  }

  #native<T>(call: () => T): T {
    this.#open();
    try {
      return call();
    } catch (err) {
      throw classify(err);
    }
  }
}

function validate(length: number, options: CommonOptions): void {
  if (!Number.isSafeInteger(length) || length < 1) throw new RangeError(`length must be a positive integer, got ${length}`);
  const { prot, populate } = options;
  if (prot !== undefined && prot !== 'rw' && prot !== 'r' && prot !== 'none') throw new TypeError(`prot must be "rw", "r" or "none", got ${String(prot)}`);
  if (populate !== undefined && typeof populate !== 'boolean' && populate !== 'read' && populate !== 'write') {
    throw new TypeError(`populate must be a boolean, "read" or "write", got ${String(populate)}`);
  }
  // Populating goes through the protection: say so rather than quietly map less.
  if (populate && prot === 'none')
    throw new RangeError('PROT_NONE memory cannot be populated: map it with prot "r" or "rw", populate it, then protect("none")');
  if (populate === 'write' && prot === 'r')
    throw new RangeError('read-only memory cannot be populated for write: use populate: "read" (or true), or map it "rw" and protect it afterwards');
}

function thpOption(thp: ThpMode | undefined): ThpMode {
  if (thp === undefined) return 'default';
  if (thp !== 'on' && thp !== 'off' && thp !== 'default') throw new TypeError(`thp must be "on", "off" or "default", got ${String(thp)}`);
  return thp;
}

function populateMode(options: CommonOptions): 'none' | 'read' | 'write' {
  const populate = options.populate ?? false;
  if (populate === false) return 'none';
  if (populate === true) return (options.prot ?? 'rw') === 'rw' ? 'write' : 'read';
  return populate;
}

function nativeMap(request: NativeMapOptions, context: ErrorContext): { buffer: ArrayBuffer; address: bigint; length: number } {
  try {
    return addon().map(request);
  } catch (err) {
    throw classify(err, context);
  }
}

/** Private (or shared, shmem-backed) anonymous memory, rounded up to whole pages. */
export function mapAnonymous(length: number, options: AnonymousOptions = {}): Mapping {
  validate(length, options);
  const thp = thpOption(options.thp);
  const shared = options.shared ?? false;
  const native = nativeMap(
    {
      kind: 'anon',
      length,
      shared,
      thp,
      prot: options.prot ?? 'rw',
      populate: populateMode(options),
      holeAfter: options.holeAfter ?? false,
      align: thp === 'on' ? HUGE_ALIGN : pageSize(),
    },
    'other',
  );
  return new Mapping(native, 'anon', shared, options.prot ?? 'rw');
}

/** Parses "2M" / "1G" / "64K" to bytes. */
export function hugePageBytes(size: HugePageSize): number {
  const m = /^(\d+)([KMG])$/.exec(String(size));
  if (!m) throw new TypeError(`huge page size must look like "2M" or "1G", got ${String(size)}`);
  return Number(m[1]) * { K: 1 << 10, M: 1 << 20, G: 1 << 30 }[m[2] as 'K' | 'M' | 'G'];
}

/** The hugetlb pools of this kernel: page size in bytes -> free pages. */
export function hugetlbPools(): Map<number, { total: number; free: number; reserved: number }> {
  const pools = new Map<number, { total: number; free: number; reserved: number }>();
  const root = '/sys/kernel/mm/hugepages';
  if (!existsSync(root)) return pools;
  for (const dir of readdirSync(root)) {
    const kb = /^hugepages-(\d+)kB$/.exec(dir)?.[1];
    if (!kb) continue;
    const read = (file: string): number => Number(readFileSync(`${root}/${dir}/${file}`, 'utf8').trim());
    pools.set(Number(kb) * 1024, { total: read('nr_hugepages'), free: read('free_hugepages'), reserved: read('resv_hugepages') });
  }
  return pools;
}

/** Checks that `count` pages of `bytes` can be had, with errors that say how to get them. */
function requireHugePages(size: HugePageSize, bytes: number, count: number): void {
  const pools = hugetlbPools();
  const pool = pools.get(bytes);
  if (!pool) {
    const have = [...pools.keys()].map((b) => `${b >> 10}K`).join(', ') || 'none';
    throw new UnsupportedError(`this kernel has no ${size} huge pages (pools: ${have})`, {
      code: 'EOPNOTSUPP',
      syscall: 'mmap',
      hint: pools.size ? `use one of: ${have}` : 'the kernel was built without CONFIG_HUGETLBFS',
    });
  }
  const available = pool.free - pool.reserved;
  if (available < count) {
    const knob = `/sys/kernel/mm/hugepages/hugepages-${bytes >> 10}kB/nr_hugepages`;
    throw new HugePagesUnavailableError(`${count} free ${size} huge pages needed, ${available} available (${pool.total} reserved in the pool)`, {
      code: 'ENOMEM',
      syscall: 'mmap',
      hint: `reserve more: echo ${pool.total + count - available} > ${knob} (as root), or boot with ${
        bytes === 1 << 30
          ? `hugepagesz=1G hugepages=${count} (guplab vm run --hugepages-1g ${count})`
          : `hugepages=${count} (guplab vm run --hugepages ${count})`
      }`,
    });
  }
}

/** MAP_HUGETLB memory from the pool of `pageSize` (default 2M). Fails with HugePagesUnavailableError when the pool is short. */
export function mapHugetlb(length: number, options: HugetlbOptions = {}): Mapping {
  validate(length, options);
  const size = options.pageSize ?? '2M';
  const bytes = hugePageBytes(size);
  const rounded = Math.ceil(length / bytes) * bytes;
  requireHugePages(size, bytes, rounded / bytes);
  const shared = options.shared ?? false;
  const native = nativeMap(
    {
      kind: 'hugetlb',
      length: rounded,
      shared,
      prot: options.prot ?? 'rw',
      populate: populateMode(options),
      holeAfter: options.holeAfter ?? false,
      hugePageSize: bytes,
      align: bytes,
    },
    'hugetlb',
  );
  return new Mapping(native, 'hugetlb', shared, options.prot ?? 'rw', bytes);
}

/** A memfd (shmem, or hugetlbfs with `hugetlb`), mapped shared by default. */
export function mapMemfd(length: number, options: MemfdOptions = {}): Mapping {
  validate(length, options);
  const shared = options.shared ?? true;
  let bytes: number | undefined;
  let rounded = length;
  if (options.hugetlb) {
    bytes = hugePageBytes(options.hugetlb);
    rounded = Math.ceil(length / bytes) * bytes;
    requireHugePages(options.hugetlb, bytes, rounded / bytes);
  }
  const native = nativeMap(
    {
      kind: 'memfd',
      length: rounded,
      shared,
      thp: thpOption(options.thp),
      prot: options.prot ?? 'rw',
      populate: populateMode(options),
      holeAfter: options.holeAfter ?? false,
      ...(bytes ? { hugePageSize: bytes } : {}),
      align: bytes ?? (length >= HUGE_ALIGN ? HUGE_ALIGN : pageSize()),
    },
    bytes ? 'hugetlb' : 'other',
  );
  return new Mapping(native, 'memfd', shared, options.prot ?? 'rw', bytes);
}

/** memfd_secret(2) memory: removed from the kernel's direct map, so GUP refuses it. */
export function mapSecret(length: number, options: CommonOptions = {}): Mapping {
  validate(length, options);
  const native = nativeMap(
    {
      kind: 'secret',
      length,
      shared: true,
      prot: options.prot ?? 'rw',
      populate: populateMode(options),
      holeAfter: options.holeAfter ?? false,
      align: pageSize(),
    },
    'other',
  );
  return new Mapping(native, 'secret', true, options.prot ?? 'rw');
}

/**
 * A file mapping (ext4, xfs, tmpfs, a DAX mount...), MAP_SHARED by default.
 * The file must be at least `length` bytes unless `create` is set.
 */
export function mapFile(path: string, length: number, options: FileOptions = {}): Mapping {
  if (typeof path !== 'string' || path === '') throw new TypeError('path must be a non-empty string');
  validate(length, options);
  const shared = options.shared ?? true;
  const native = nativeMap(
    {
      kind: 'file',
      path,
      length,
      shared,
      create: options.create ?? false,
      sync: options.sync ?? false,
      thp: thpOption(options.thp),
      prot: options.prot ?? 'rw',
      populate: populateMode(options),
      holeAfter: options.holeAfter ?? false,
      align: length >= HUGE_ALIGN ? HUGE_ALIGN : pageSize(),
    },
    'other',
  );
  return new Mapping(native, 'file', shared, options.prot ?? 'rw', undefined, path);
}

/** Options of mapDevice(). */
export interface DeviceOptions {
  /** Default "rw". */
  prot?: 'rw' | 'r';
  /** First page of the device's buffer to map (mmap offset in pages); default 0. */
  offsetPages?: number;
  /** Default /dev/guplab. */
  path?: string;
}

/**
 * Pages of the guplab module itself, mapped MAP_SHARED through a new open
 * of /dev/guplab: a VM_IO | VM_PFNMAP mapping (remap_pfn_range), as a
 * driver hands out device or kernel memory. Each call opens the device
 * anew, so each mapping has zeroed pages of its own, kept until it is
 * closed. At most abi.mmapPages pages from offsetPages 0 (ABI 5).
 */
export function mapDevice(pages: number, options: DeviceOptions = {}): Mapping {
  const limit = addon().abi.mmapPages;
  const offsetPages = options.offsetPages ?? 0;
  if (!Number.isSafeInteger(pages) || pages < 1) throw new RangeError(`pages must be a positive integer, got ${pages}`);
  if (!Number.isSafeInteger(offsetPages) || offsetPages < 0) throw new RangeError(`offsetPages must be a non-negative integer, got ${offsetPages}`);
  if (offsetPages + pages > limit) {
    throw new RangeError(`offsetPages ${offsetPages} + pages ${pages} is more than the ${limit} pages /dev/guplab maps: map fewer pages`);
  }
  const prot = options.prot ?? 'rw';
  if (prot !== 'rw' && prot !== 'r') throw new TypeError(`prot must be "rw" or "r", got ${String(prot)}`);
  const native = nativeMap(
    {
      kind: 'device',
      length: pages * pageSize(),
      offset: offsetPages * pageSize(),
      shared: true,
      prot,
      populate: 'none',
      holeAfter: false,
      align: pageSize(),
      ...(options.path ? { path: options.path } : {}),
    },
    'other',
  );
  return new Mapping(native, 'device', true, prot, undefined, options.path);
}

/** Sums the smaps fields of the VMAs overlapping [address, address+length). */
export function smapsReport(address: bigint, length: number, smaps = readFileSync('/proc/self/smaps', 'utf8')): BackingReport {
  const report: BackingReport = {
    rssKb: 0,
    anonKb: 0,
    anonHugeKb: 0,
    shmemPmdKb: 0,
    filePmdKb: 0,
    hugetlbKb: 0,
    kernelPageKb: 0,
    thpEligible: false,
    vmFlags: [],
  };
  const fields: Record<string, (kb: number) => void> = {
    Rss: (kb) => (report.rssKb += kb),
    Anonymous: (kb) => (report.anonKb += kb),
    AnonHugePages: (kb) => (report.anonHugeKb += kb),
    ShmemPmdMapped: (kb) => (report.shmemPmdKb += kb),
    FilePmdMapped: (kb) => (report.filePmdKb += kb),
    Shared_Hugetlb: (kb) => (report.hugetlbKb += kb),
    Private_Hugetlb: (kb) => (report.hugetlbKb += kb),
    KernelPageSize: (kb) => (report.kernelPageKb = Math.max(report.kernelPageKb, kb)),
  };
  const end = address + BigInt(length);
  let inRange = false;
  for (const line of smaps.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (head) {
      inRange = BigInt(`0x${head[1]}`) < end && BigInt(`0x${head[2]}`) > address;
      continue;
    }
    if (!inRange) continue;
    const kv = /^(\w+):\s+(\d+) kB/.exec(line);
    if (kv) fields[kv[1] ?? '']?.(Number(kv[2]));
    else if (line.startsWith('THPeligible:')) report.thpEligible ||= /1/.test(line);
    else if (line.startsWith('VmFlags:')) report.vmFlags = [...new Set([...report.vmFlags, ...line.slice(8).trim().split(/\s+/)])];
  }
  return report;
}

/** Kilobytes of AnonHugePages backing the mapping per /proc/self/smaps. */
export function anonHugeKb(mapping: Mapping): number {
  return mapping.backing().anonHugeKb;
}
