// SPDX-License-Identifier: GPL-2.0
// Entry point: exports the ABI constants (from kmod/uapi/guplab.h, so that
// TypeScript never retypes a number), the Device class and the mappings.
#include "addon.h"

#include <unistd.h>

#include "guplab.h"

namespace guplab {
namespace {

Napi::Object AbiConstants(Napi::Env env) {
  Napi::Object abi = Napi::Object::New(env);
  abi.Set("version", Napi::Number::New(env, GUPLAB_ABI_VERSION));
  abi.Set("devicePath", "/dev/" GUPLAB_DEVICE_NAME);

  Napi::Object apis = Napi::Object::New(env);
#define GUPLAB_EXPORT_API(sym, id, name) apis.Set(name, Napi::Number::New(env, id));
  GUPLAB_APIS(GUPLAB_EXPORT_API)
#undef GUPLAB_EXPORT_API
  abi.Set("apis", apis);

  Napi::Object flags = Napi::Object::New(env);
#define GUPLAB_EXPORT_FLAG(sym, bit, name) flags.Set(name, Napi::Number::New(env, GUPLAB_FLAG_##sym));
  GUPLAB_FLAGS(GUPLAB_EXPORT_FLAG)
#undef GUPLAB_EXPORT_FLAG
  abi.Set("flags", flags);

  Napi::Object kinds = Napi::Object::New(env);
  kinds.Set("anon", Napi::Number::New(env, GUPLAB_KIND_ANON));
  kinds.Set("file", Napi::Number::New(env, GUPLAB_KIND_FILE));
  kinds.Set("shmem", Napi::Number::New(env, GUPLAB_KIND_SHMEM));
  kinds.Set("hugetlb", Napi::Number::New(env, GUPLAB_KIND_HUGETLB));
  kinds.Set("zoneDevice", Napi::Number::New(env, GUPLAB_KIND_ZONE_DEVICE));
  kinds.Set("ksm", Napi::Number::New(env, GUPLAB_KIND_KSM));
  abi.Set("kinds", kinds);

  Napi::Object props = Napi::Object::New(env);
  props.Set("longtermPinnable", Napi::Number::New(env, GUPLAB_PROP_LONGTERM_PINNABLE));
  props.Set("maybeDmaPinned", Napi::Number::New(env, GUPLAB_PROP_MAYBE_DMA_PINNED));
  props.Set("zoneMovable", Napi::Number::New(env, GUPLAB_PROP_ZONE_MOVABLE));
  props.Set("pfnChanged", Napi::Number::New(env, GUPLAB_PROP_PFN_CHANGED));
  abi.Set("props", props);
  abi.Set("benchMaxIterations", Napi::Number::New(env, GUPLAB_BENCH_MAX_ITERATIONS));
  abi.Set("benchMaxPages", Napi::Number::New(env, static_cast<double>(GUPLAB_BENCH_MAX_PAGES)));
  return abi;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abi", AbiConstants(env));
  exports.Set("pageSize", Napi::Number::New(env, static_cast<double>(sysconf(_SC_PAGESIZE))));
  InitDevice(env, exports);
  InitMapping(env, exports);
  InitUffd(env, exports);
  return exports;
}

}  // namespace guplab

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return guplab::Init(env, exports);
}

NODE_API_MODULE(guplab, InitAddon)
