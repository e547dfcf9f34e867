// SPDX-License-Identifier: GPL-2.0
// Memory for experiments: anonymous, hugetlb, memfd (shmem), memfd_secret
// and file-backed mappings, handed to JS as external ArrayBuffers. Each
// mapping is a Region in a registry keyed by its start address, so that
// explicit unmap(), the ArrayBuffer's finalizer and mprotect/madvise agree
// on whether (and what) it still maps.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "addon.h"
#include "errors.h"
#include "guplab.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447  // same number on x86_64 and the generic table (arm64)
#endif

namespace guplab {
namespace {

struct Region {
  uintptr_t start;
  size_t length;
  bool mapped;
};

std::mutex registry_lock;
std::map<uintptr_t, Region *> registry;  // live regions by start address

void ForgetRegion(Region *region) {
  std::lock_guard<std::mutex> guard(registry_lock);
  if (region->mapped) {
    munmap(reinterpret_cast<void *>(region->start), region->length);
    region->mapped = false;
    registry.erase(region->start);
  }
}

// The ArrayBuffer was collected: unmap unless close() already did.
void FinalizeRegion(Napi::Env, void *, Region *region) {
  ForgetRegion(region);
  delete region;
}

// The live region holding [addr, addr + len), or nullptr.
Region *FindRegion(uintptr_t addr, size_t len) {
  std::lock_guard<std::mutex> guard(registry_lock);
  auto it = registry.upper_bound(addr);
  if (it == registry.begin()) return nullptr;
  Region *region = std::prev(it)->second;
  if (addr + len < addr || addr + len > region->start + region->length) return nullptr;
  return region;
}

int ProtBits(Napi::Env env, const std::string &prot) {
  if (prot == "rw") return PROT_READ | PROT_WRITE;
  if (prot == "r") return PROT_READ;
  if (prot == "none") return PROT_NONE;
  throw Napi::TypeError::New(env, "prot must be \"rw\", \"r\" or \"none\", got \"" + prot + "\"");
}

std::string StringOpt(Napi::Object opts, const char *key, const std::string &fallback) {
  Napi::Value v = opts.Get(key);
  return v.IsUndefined() ? fallback : v.ToString().Utf8Value();
}

size_t SizeOpt(Napi::Env env, Napi::Object opts, const char *key, size_t fallback) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) return fallback;
  double d = v.ToNumber().DoubleValue();
  if (!(d >= 0) || d != static_cast<double>(static_cast<size_t>(d)))
    throw Napi::RangeError::New(env, std::string(key) + " must be a non-negative integer");
  return static_cast<size_t>(d);
}

uintptr_t AddressArg(Napi::Env env, Napi::Value v) {
  if (!v.IsBigInt()) throw Napi::TypeError::New(env, "address must be a bigint");
  bool lossless = false;
  uint64_t addr = v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::RangeError::New(env, "address does not fit 64 bits");
  return static_cast<uintptr_t>(addr);
}

enum class TouchMode { kRead, kRewrite, kZero };

// Faults every page in from user space. Rewriting a byte with itself keeps
// file data; fresh memory is zero, so writing 0 spares the zero-page fault.
void Touch(uintptr_t start, size_t length, size_t step, TouchMode mode) {
  for (size_t off = 0; off < length; off += step) {
    volatile char *p = reinterpret_cast<volatile char *>(start + off);
    if (mode == TouchMode::kZero)
      *p = 0;
    else if (mode == TouchMode::kRewrite)
      *p = *p;
    else
      (void)*p;
  }
}

// Opens the file object a mapping of `kind` needs; -1 for anonymous memory.
int OpenBacking(Napi::Env env, const std::string &kind, Napi::Object opts, size_t length, size_t huge_shift) {
  int fd = -1;
  const char *syscall_name = "open";
  std::string path;
  if (kind == "memfd") {
    unsigned int flags = MFD_CLOEXEC;
    if (huge_shift) flags |= MFD_HUGETLB | static_cast<unsigned int>(huge_shift << MAP_HUGE_SHIFT);
    fd = memfd_create("guplab", flags);
    syscall_name = "memfd_create";
  } else if (kind == "secret") {
    fd = static_cast<int>(syscall(SYS_memfd_secret, O_CLOEXEC));
    syscall_name = "memfd_secret";
    if (fd < 0 && errno == ENOSYS) {
      throw ErrnoError(env, ENOSYS, syscall_name, "",
                       "This kernel has no memfd_secret, or it is disabled: boot with secretmem.enable=1 "
                       "(guplab vm run --append secretmem.enable=1)");
    }
  } else if (kind == "file") {
    path = StringOpt(opts, "path", "");
    bool create = opts.Get("create").ToBoolean().Value();
    fd = open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    if (fd < 0 && errno == EACCES && !create) fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } else if (kind == "device") {
    // /dev/guplab's own pages (remap_pfn_range: VM_IO | VM_PFNMAP); a new
    // open file per mapping, so each mapping has pages of its own.
    path = StringOpt(opts, "path", "/dev/" GUPLAB_DEVICE_NAME);
    fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      throw ErrnoError(env, err, "open", path, err == ENOENT ? "The guplab module is not loaded (make load, or run in the VM)" : "");
    }
    return fd;
  } else {
    return -1;
  }
  if (fd < 0) {
    int err = errno;
    throw ErrnoError(env, err, syscall_name, path,
                     err == EINVAL && huge_shift ? "No hugetlb pool of this size: see /sys/kernel/mm/hugepages" : "");
  }

  struct stat st {};
  if (fstat(fd, &st) < 0) {
    int err = errno;
    close(fd);
    throw ErrnoError(env, err, "fstat", path);
  }
  if (static_cast<size_t>(st.st_size) < length) {
    if (kind == "file" && !opts.Get("create").ToBoolean().Value()) {
      close(fd);
      throw ErrnoError(env, EINVAL, "mmap", path,
                       "The file is " + std::to_string(st.st_size) + " bytes, shorter than the " + std::to_string(length) +
                           "-byte mapping: pass create: true to extend it");
    }
    if (ftruncate(fd, static_cast<off_t>(length)) < 0) {
      int err = errno;
      close(fd);
      throw ErrnoError(env, err, "ftruncate", path,
                       err == ENOMEM && huge_shift ? "No free huge pages for this memfd: reserve some (see nr_hugepages)" : "");
    }
  }
  return fd;
}

// map({length, kind, shared, prot, thp, hugePageSize, align, populate, holeAfter, path, create, sync})
//   -> {buffer: ArrayBuffer, address: bigint, length: number}
// The TypeScript layer (lib/mapping.ts) validates and documents the options;
// here they are checked again only where a mistake could corrupt memory.
Napi::Value Map(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "map(options): options must be an object");
  Napi::Object opts = info[0].As<Napi::Object>();
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const std::string kind = StringOpt(opts, "kind", "anon");
  const std::string thp = StringOpt(opts, "thp", "default");
  const std::string populate = StringOpt(opts, "populate", "none");
  const int prot = ProtBits(env, StringOpt(opts, "prot", "rw"));
  const size_t huge_size = SizeOpt(env, opts, "hugePageSize", 0);
  const bool hole_after = opts.Get("holeAfter").ToBoolean().Value();
  bool shared = opts.Get("shared").ToBoolean().Value();

  size_t huge_shift = 0;
  if (huge_size) {
    if ((huge_size & (huge_size - 1)) || huge_size <= page)
      throw Napi::RangeError::New(env, "hugePageSize must be a power of two larger than the base page");
    huge_shift = static_cast<size_t>(__builtin_ctzl(huge_size));
  }
  const size_t unit = huge_size ? huge_size : page;
  size_t length = SizeOpt(env, opts, "length", 0);
  if (length == 0) throw Napi::RangeError::New(env, "length must be a positive integer");
  length = (length + unit - 1) & ~(unit - 1);
  size_t align = std::max(SizeOpt(env, opts, "align", page), unit);
  if (align & (align - 1)) throw Napi::RangeError::New(env, "align must be a power of two");
  if (kind == "secret") shared = true;  // memfd_secret memory can only be mapped shared

  const size_t offset = SizeOpt(env, opts, "offset", 0);
  if (offset % page) throw Napi::RangeError::New(env, "offset must be a multiple of the page size");

  int fd = OpenBacking(env, kind, opts, length, huge_shift);
  int flags = shared ? MAP_SHARED : MAP_PRIVATE;
  if (fd < 0) flags |= MAP_ANONYMOUS;
  if (kind == "hugetlb") flags |= MAP_HUGETLB | static_cast<int>(huge_shift << MAP_HUGE_SHIFT);
  if (kind == "file" && opts.Get("sync").ToBoolean().Value()) flags = MAP_SHARED_VALIDATE | MAP_SYNC;

  // Reserve room for the alignment slack (and the hole) with PROT_NONE,
  // then map the object at the aligned address inside it, at least a page
  // in: the unmapped page left on each side keeps the kernel from merging
  // the mapping's VMA with a neighbour's (smaps, and so backing(), report
  // whole VMAs: a merged neighbour's Rss once showed in an unfaulted one).
  const size_t reserve = length + align + page + (hole_after ? page : 0);
  void *base = mmap(nullptr, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    int err = errno;
    if (fd >= 0) close(fd);
    throw ErrnoError(env, err, "mmap");
  }
  const uintptr_t b = reinterpret_cast<uintptr_t>(base);
  const uintptr_t start = (b + page + align - 1) & ~(align - 1);
  void *ptr = mmap(reinterpret_cast<void *>(start), length, prot, flags | MAP_FIXED, fd, static_cast<off_t>(offset));
  int map_err = errno;
  if (fd >= 0) close(fd);  // the mapping keeps its own reference
  // Give back everything but the mapping: the slack before it and after it
  // (which leaves the page after the buffer unmapped, the "hole").
  if (start > b) munmap(base, start - b);
  if (b + reserve > start + length) munmap(reinterpret_cast<void *>(start + length), b + reserve - start - length);
  if (ptr == MAP_FAILED) {
    munmap(reinterpret_cast<void *>(start), length);
    std::string hint;
    if (map_err == ENOMEM && huge_size)
      hint = "Not enough free " + std::to_string(huge_size >> 10) +
             " kB huge pages: reserve them with "
             "`echo N > /sys/kernel/mm/hugepages/hugepages-" +
             std::to_string(huge_size >> 10) + "kB/nr_hugepages` or boot with hugepages=N (guplab vm run --hugepages N)";
    else if (map_err == EOPNOTSUPP && (flags & MAP_SYNC))
      hint = "MAP_SYNC needs a file on a DAX filesystem (mount -o dax=always)";
    else if (map_err == EINVAL && kind == "device")
      hint = "/dev/" GUPLAB_DEVICE_NAME " maps at most GUPLAB_MMAP_PAGES (" + std::to_string(GUPLAB_MMAP_PAGES) +
             ") pages from offset 0, shared, not executable; a module older than ABI 5 has no mmap";
    else if (map_err == EACCES)
      hint = "The file is not open for writing: map it read-only (prot: \"r\") or make it writable";
    throw ErrnoError(env, map_err, "mmap", StringOpt(opts, "path", ""), hint);
  }

  int advice = thp == "on" ? MADV_HUGEPAGE : thp == "off" ? MADV_NOHUGEPAGE : -1;
  if (advice >= 0 && madvise(ptr, length, advice) < 0) {
    int err = errno;
    munmap(ptr, length);
    throw ErrnoError(env, err, "madvise", "", err == EINVAL ? "This kernel or memory kind has no transparent huge pages" : "");
  }
  if (populate != "none" && (prot & PROT_READ)) {
    bool write = populate == "write" && (prot & PROT_WRITE);
    Touch(start, length, unit, !write ? TouchMode::kRead : kind == "file" ? TouchMode::kRewrite : TouchMode::kZero);
  }

  auto *region = new Region{start, length, true};
  {
    std::lock_guard<std::mutex> guard(registry_lock);
    registry[start] = region;
  }
  Napi::ArrayBuffer buffer;
  try {
    buffer = Napi::ArrayBuffer::New(env, ptr, length, FinalizeRegion, region);
  } catch (...) {
    // No buffer, so no finalizer will ever run: unmap and forget it here.
    ForgetRegion(region);
    delete region;
    throw;
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("buffer", buffer);
  out.Set("address", Napi::BigInt::New(env, static_cast<uint64_t>(start)));
  out.Set("length", Napi::Number::New(env, static_cast<double>(length)));
  return out;
}

// unmap(buffer): detaches the ArrayBuffer (so JS can no longer reach the
// memory) and unmaps it. Returns false when it was already unmapped.
Napi::Value Unmap(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "unmap(buffer): expected the mapping's ArrayBuffer");
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  if (buffer.ByteLength() == 0) return Napi::Boolean::New(env, false);  // detached: closed before
  uintptr_t start = reinterpret_cast<uintptr_t>(buffer.Data());
  Region *region = FindRegion(start, buffer.ByteLength());
  if (!region || region->start != start) throw Napi::TypeError::New(env, "unmap(buffer): not a buffer from map()");
  buffer.Detach();
  ForgetRegion(region);  // the finalizer still frees the Region later
  return Napi::Boolean::New(env, true);
}

Region *RangeArgs(const Napi::CallbackInfo &info, uintptr_t *addr, size_t *len) {
  Napi::Env env = info.Env();
  *addr = AddressArg(env, info[0]);
  *len = static_cast<size_t>(info[1].ToNumber().DoubleValue());
  Region *region = FindRegion(*addr, *len);
  if (!region) throw Napi::RangeError::New(env, "the range is not inside a live guplab mapping");
  return region;
}

// protect(address, length, "rw" | "r" | "none")
Napi::Value Protect(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uintptr_t addr;
  size_t len;
  RangeArgs(info, &addr, &len);
  if (mprotect(reinterpret_cast<void *>(addr), len, ProtBits(env, info[2].ToString().Utf8Value())) < 0)
    throw ErrnoError(env, errno, "mprotect");
  return env.Undefined();
}

struct Advice {
  const char *name;
  int value;
  const char *needs;  // what a kernel that answers EINVAL lacks
};

const Advice kAdvice[] = {
    {"dontneed", MADV_DONTNEED, ""},
    {"willneed", MADV_WILLNEED, ""},
    {"random", MADV_RANDOM, ""},
    {"sequential", MADV_SEQUENTIAL, ""},
    {"hugepage", MADV_HUGEPAGE, "transparent huge pages"},
    {"nohugepage", MADV_NOHUGEPAGE, "transparent huge pages"},
    {"remove", MADV_REMOVE, "MADV_REMOVE on this memory kind (shared, file or shmem only)"},
    {"free", MADV_FREE, "MADV_FREE on this memory kind (private anonymous only)"},
    {"cold", MADV_COLD, "MADV_COLD (5.4+)"},
    {"pageout", MADV_PAGEOUT, "MADV_PAGEOUT (5.4+)"},
    {"populateRead", MADV_POPULATE_READ, "MADV_POPULATE_READ (5.14+)"},
    {"populateWrite", MADV_POPULATE_WRITE, "MADV_POPULATE_WRITE (5.14+) on writable memory"},
    {"mergeable", MADV_MERGEABLE, "KSM (CONFIG_KSM)"},
    {"unmergeable", MADV_UNMERGEABLE, "KSM (CONFIG_KSM)"},
    // Guard regions (6.13+); the values are the kernel's, older libc headers lack them.
    {"guardInstall", 102, "MADV_GUARD_INSTALL (6.13+)"},
    {"guardRemove", 103, "MADV_GUARD_REMOVE (6.13+)"},
};

// advise(address, length, name)
Napi::Value Advise(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uintptr_t addr;
  size_t len;
  RangeArgs(info, &addr, &len);
  std::string name = info[2].ToString().Utf8Value();
  for (const Advice &a : kAdvice) {
    if (name != a.name) continue;
    if (madvise(reinterpret_cast<void *>(addr), len, a.value) < 0) {
      int err = errno;
      throw ErrnoError(env, err, "madvise", "", err == EINVAL && *a.needs ? std::string("This kernel or mapping lacks ") + a.needs : "");
    }
    return env.Undefined();
  }
  throw Napi::TypeError::New(env, "unknown madvise advice \"" + name + "\"");
}

// SIGBUSes delivered during Hwpoison()'s madvise; written by the signal handler only.
volatile sig_atomic_t g_sigbus_count;
volatile sig_atomic_t g_sigbus_code;

void CountSigbus(int, siginfo_t *si, void *) {
  g_sigbus_count = g_sigbus_count + 1;
  g_sigbus_code = si->si_code;
}

// hwpoison(address, length) -> {errno, sigbus, code}: madvise(MADV_HWPOISON), i.e.
// memory_failure() on the pages (root only; they stay out of service). The
// kernel may send the caller SIGBUS for the pages it maps (BUS_MCEERR_AR when
// it injects with MF_ACTION_REQUIRED): counted by a handler installed around
// the call, as a process that survives machine checks does, instead of dying.
Napi::Value Hwpoison(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uintptr_t addr;
  size_t len;
  RangeArgs(info, &addr, &len);
  struct sigaction count {
  }, old{};
  count.sa_sigaction = CountSigbus;
  count.sa_flags = SA_SIGINFO;
  sigemptyset(&count.sa_mask);
  g_sigbus_count = 0;
  g_sigbus_code = 0;
  sigaction(SIGBUS, &count, &old);
  int r = madvise(reinterpret_cast<void *>(addr), len, MADV_HWPOISON);
  int err = errno;
  sigaction(SIGBUS, &old, nullptr);
  Napi::Object out = Napi::Object::New(env);
  out.Set("sigbus", Napi::Number::New(env, g_sigbus_count));
  out.Set("code", g_sigbus_code == BUS_MCEERR_AR   ? "BUS_MCEERR_AR"
                  : g_sigbus_code == BUS_MCEERR_AO ? "BUS_MCEERR_AO"
                  : g_sigbus_count                 ? std::to_string(g_sigbus_code)
                                                   : "");
  out.Set("errno", Napi::Number::New(env, r < 0 ? err : 0));
  return out;
}

// msync(address, length): msync(MS_SYNC), i.e. writeback of a shared file
// mapping's dirty pages (folio_clear_dirty_for_io() -> folio_mkclean()).
Napi::Value Msync(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uintptr_t addr;
  size_t len;
  RangeArgs(info, &addr, &len);
  if (msync(reinterpret_cast<void *>(addr), len, MS_SYNC) < 0) throw ErrnoError(env, errno, "msync");
  return env.Undefined();
}

// resident(address, length) -> pages mincore() finds resident (page cache
// for a file mapping, whether or not this process maps them).
Napi::Value Resident(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uintptr_t addr;
  size_t len;
  RangeArgs(info, &addr, &len);
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec((len + page - 1) / page);
  if (mincore(reinterpret_cast<void *>(addr), len, vec.data()) < 0) throw ErrnoError(env, errno, "mincore");
  return Napi::Number::New(env, static_cast<double>(std::count_if(vec.begin(), vec.end(), [](unsigned char v) { return v & 1; })));
}

#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE (1 << 1)
#endif

// movePages(address, node) -> {ret, errno, status}: move_pages(2) of the one
// page at address to node (MPOL_MF_MOVE), or with node < 0 only where it is
// (status: its node or -errno). ret is what the syscall returned (the
// pages not migrated, or -1 with errno).
Napi::Value MovePages(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBigInt() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "movePages(address, node)");
  bool lossless;
  void *page = reinterpret_cast<void *>(static_cast<uintptr_t>(info[0].As<Napi::BigInt>().Uint64Value(&lossless)));
  int node = info[1].As<Napi::Number>().Int32Value();
  int status = -1;
  long r = syscall(SYS_move_pages, 0, 1UL, &page, node < 0 ? nullptr : &node, &status, node < 0 ? 0 : MPOL_MF_MOVE);
  Napi::Object out = Napi::Object::New(env);
  out.Set("ret", Napi::Number::New(env, static_cast<double>(r)));
  out.Set("errno", Napi::Number::New(env, r < 0 ? errno : 0));
  out.Set("status", Napi::Number::New(env, status));
  return out;
}

// touch(address, length, write): faults the pages in from user space.
Napi::Value TouchRange(const Napi::CallbackInfo &info) {
  uintptr_t addr;
  size_t len;
  RangeArgs(info, &addr, &len);
  Touch(addr, len, static_cast<size_t>(sysconf(_SC_PAGESIZE)), info[2].ToBoolean().Value() ? TouchMode::kRewrite : TouchMode::kRead);
  return info.Env().Undefined();
}

// Physical frame of a virtual address from /proc/self/pagemap (root sees
// pfns; others read 0). Async-signal-safe: used in the forked child too.
uint64_t PagemapPfn(uintptr_t addr) {
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  uint64_t entry = 0;
  off_t off = static_cast<off_t>(addr / static_cast<uintptr_t>(sysconf(_SC_PAGESIZE)) * sizeof(entry));
  ssize_t n = pread(fd, &entry, sizeof(entry), off);
  close(fd);
  if (n != sizeof(entry) || !(entry >> 63)) return 0;  // bit 63: present
  return entry & ((1ULL << 55) - 1);
}

Napi::Value Pfn(const Napi::CallbackInfo &info) {
  uintptr_t addr;
  size_t len;
  RangeArgs(info, &addr, &len);
  return Napi::BigInt::New(info.Env(), PagemapPfn(addr));
}

struct ChildOp {
  enum Kind : uint8_t { kRead, kWrite, kPfn } kind;
  uint8_t value;
  uintptr_t addr;
};

// forkRun(ops): forks a child that performs ops ({op: "read"|"write"|"pfn",
// address, value}) on this process's memory as inherited across fork (so
// copy-on-write applies), reports one number per op and exits. The child
// does only async-signal-safe work: this process has other threads.
// -> {results: bigint[], status: number}
Napi::Value ForkRun(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "forkRun(ops): ops must be an array");
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<ChildOp> ops;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Object o = list.Get(i).As<Napi::Object>();
    std::string op = o.Get("op").ToString().Utf8Value();
    ChildOp c{op == "write" ? ChildOp::kWrite
              : op == "pfn" ? ChildOp::kPfn
                            : ChildOp::kRead,
              static_cast<uint8_t>(o.Get("value").ToNumber().Uint32Value()), AddressArg(env, o.Get("address"))};
    if (op != "read" && op != "write" && op != "pfn") throw Napi::TypeError::New(env, "forkRun: op must be read, write or pfn");
    if (!FindRegion(c.addr, 1)) throw Napi::RangeError::New(env, "forkRun: an address is not inside a live guplab mapping");
    ops.push_back(c);
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) throw ErrnoError(env, errno, "pipe2");
  std::vector<uint64_t> results(ops.size());
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(pipefd[0]);
    close(pipefd[1]);
    throw ErrnoError(env, err, "fork");
  }
  if (pid == 0) {
    for (size_t i = 0; i < ops.size(); i++) {
      volatile uint8_t *p = reinterpret_cast<volatile uint8_t *>(ops[i].addr);
      if (ops[i].kind == ChildOp::kWrite) *p = ops[i].value;
      results[i] = ops[i].kind == ChildOp::kPfn ? PagemapPfn(ops[i].addr) : *p;
    }
    const char *data = reinterpret_cast<const char *>(results.data());
    size_t left = results.size() * sizeof(uint64_t);
    while (left > 0) {
      ssize_t n = write(pipefd[1], data, left);
      if (n <= 0) _exit(2);
      data += n;
      left -= static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(pipefd[1]);
  char *data = reinterpret_cast<char *>(results.data());
  size_t want = results.size() * sizeof(uint64_t), got = 0;
  while (got < want) {
    ssize_t n = read(pipefd[0], data + got, want - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(pipefd[0]);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  Napi::Object out = Napi::Object::New(env);
  Napi::Array values = Napi::Array::New(env);
  if (got == want)
    for (size_t i = 0; i < results.size(); i++) values.Set(i, Napi::BigInt::New(env, results[i]));
  out.Set("results", values);
  out.Set("status", Napi::Number::New(env, WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus)));
  return out;
}

}  // namespace

// dropCache(path) -> resident pages after the drop: writes the file back
// (fdatasync), drops its clean page cache with POSIX_FADV_DONTNEED, then
// counts what mincore() still finds resident (0: every page left).
Napi::Value DropCache(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "dropCache(path): path must be a string");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ErrnoError(env, errno, "open", path);
  struct stat st {};
  int err = 0;
  const char *what = "fstat";
  if (fstat(fd, &st) < 0) err = errno;
  if (!err && fdatasync(fd) < 0) err = errno, what = "fdatasync";
  if (!err) {
    err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    what = "posix_fadvise";
  }
  if (err || st.st_size == 0) {
    close(fd);
    if (err) throw ErrnoError(env, err, what, path);
    return Napi::Number::New(env, 0);
  }
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t len = static_cast<size_t>(st.st_size);
  void *p = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
  err = p == MAP_FAILED ? errno : 0;
  close(fd);
  if (err) throw ErrnoError(env, err, "mmap", path);
  std::vector<unsigned char> vec((len + page - 1) / page);
  err = mincore(p, len, vec.data()) < 0 ? errno : 0;
  munmap(p, len);
  if (err) throw ErrnoError(env, err, "mincore", path);
  return Napi::Number::New(env, static_cast<double>(std::count_if(vec.begin(), vec.end(), [](unsigned char v) { return v & 1; })));
}

Napi::Object InitMapping(Napi::Env env, Napi::Object exports) {
  exports.Set("map", Napi::Function::New<Map>(env, "map"));
  exports.Set("unmap", Napi::Function::New<Unmap>(env, "unmap"));
  exports.Set("protect", Napi::Function::New<Protect>(env, "protect"));
  exports.Set("advise", Napi::Function::New<Advise>(env, "advise"));
  exports.Set("hwpoison", Napi::Function::New<Hwpoison>(env, "hwpoison"));
  exports.Set("touch", Napi::Function::New<TouchRange>(env, "touch"));
  exports.Set("msync", Napi::Function::New<Msync>(env, "msync"));
  exports.Set("resident", Napi::Function::New<Resident>(env, "resident"));
  exports.Set("movePages", Napi::Function::New<MovePages>(env, "movePages"));
  exports.Set("pfn", Napi::Function::New<Pfn>(env, "pfn"));
  exports.Set("forkRun", Napi::Function::New<ForkRun>(env, "forkRun"));
  exports.Set("dropCache", Napi::Function::New<DropCache>(env, "dropCache"));
  return exports;
}

}  // namespace guplab
