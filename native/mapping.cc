// SPDX-License-Identifier: GPL-2.0
// Memory for experiments: mmap'd regions handed to JS as external
// ArrayBuffers whose finalizer unmaps them.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "addon.h"
#include "errors.h"

namespace guplab {
namespace {

constexpr size_t kHugeAlign = 2UL << 20;  // PMD size on x86_64 and arm64 (4K granule)

struct Region {
  void *start;
  size_t length;
};

void UnmapRegion(Napi::Env, void *, Region *region) {
  munmap(region->start, region->length);
  delete region;
}

// mapAnonymous(length, {thp: "on"|"off"|"default", populate: bool, holeAfter: bool})
//   -> {buffer: ArrayBuffer, address: bigint}
// thp "on" starts the buffer on a 2 MiB boundary so the kernel can back it
// with PMD-mapped huge pages. holeAfter leaves the page after the buffer
// unmapped (reserved by this mmap, then released), for partial-GUP tests.
Napi::Value MapAnonymous(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber())
    throw Napi::TypeError::New(env, "mapAnonymous(length): length must be a number");
  double len_d = info[0].As<Napi::Number>().DoubleValue();
  if (!(len_d >= 1) || len_d != static_cast<double>(static_cast<size_t>(len_d)))
    throw Napi::RangeError::New(env, "mapAnonymous: length must be a positive integer");
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t length = (static_cast<size_t>(len_d) + page - 1) & ~(page - 1);

  std::string thp = "default";
  bool populate = false;
  bool hole_after = false;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object opts = info[1].As<Napi::Object>();
    if (opts.Has("thp") && !opts.Get("thp").IsUndefined()) thp = opts.Get("thp").ToString().Utf8Value();
    populate = opts.Get("populate").ToBoolean().Value();
    hole_after = opts.Get("holeAfter").ToBoolean().Value();
  }
  if (thp != "on" && thp != "off" && thp != "default")
    throw Napi::TypeError::New(env, "mapAnonymous: thp must be \"on\", \"off\" or \"default\"");

  const size_t align = thp == "on" ? kHugeAlign : page;
  const size_t map_len = length + (align - page) + (hole_after ? page : 0);
  void *base = mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) throw ErrnoError(env, errno, "mmap");

  // Trim the alignment slack (and the hole) so the region is exactly the buffer.
  const uintptr_t b = reinterpret_cast<uintptr_t>(base);
  const uintptr_t start = (b + align - 1) & ~(align - 1);
  const uintptr_t end = start + length;
  if (start > b) munmap(base, start - b);
  if (b + map_len > end) munmap(reinterpret_cast<void *>(end), b + map_len - end);
  void *ptr = reinterpret_cast<void *>(start);

  int advice = thp == "on" ? MADV_HUGEPAGE : thp == "off" ? MADV_NOHUGEPAGE : -1;
  if (advice >= 0 && madvise(ptr, length, advice) < 0) {
    int err = errno;
    munmap(ptr, length);
    throw ErrnoError(env, err, "madvise", "",
                     err == EINVAL ? "This kernel has no transparent huge pages (CONFIG_TRANSPARENT_HUGEPAGE)" : "");
  }
  if (populate) {
    // Write every page so each is faulted in and private to this process.
    for (size_t off = 0; off < length; off += page) static_cast<volatile char *>(ptr)[off] = 1;
  }

  auto *region = new Region{ptr, length};
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, ptr, length, UnmapRegion, region);
  Napi::Object out = Napi::Object::New(env);
  out.Set("buffer", buffer);
  out.Set("address", Napi::BigInt::New(env, static_cast<uint64_t>(start)));
  return out;
}

}  // namespace

Napi::Object InitMapping(Napi::Env env, Napi::Object exports) {
  exports.Set("mapAnonymous", Napi::Function::New<MapAnonymous>(env, "mapAnonymous"));
  return exports;
}

}  // namespace guplab
