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
  Napi::Object apiInfo = Napi::Object::New(env);
  Napi::Object paths = Napi::Object::New(env);
#define GUPLAB_EXPORT_PATH(sym, id, name) paths.Set(static_cast<uint32_t>(id), Napi::String::New(env, name));
  GUPLAB_PATHS(GUPLAB_EXPORT_PATH)
#undef GUPLAB_EXPORT_PATH
#define GUPLAB_EXPORT_API(sym, id, fn, pin, path)                           \
  apis.Set(#fn, Napi::Number::New(env, id));                                \
  {                                                                         \
    Napi::Object info = Napi::Object::New(env);                             \
    info.Set("pin", Napi::Boolean::New(env, pin));                          \
    info.Set("path", paths.Get(static_cast<uint32_t>(GUPLAB_PATH_##path))); \
    apiInfo.Set(#fn, info);                                                 \
  }
  GUPLAB_APIS(GUPLAB_EXPORT_API)
#undef GUPLAB_EXPORT_API
  abi.Set("apis", apis);
  abi.Set("apiInfo", apiInfo);

  Napi::Object flags = Napi::Object::New(env);
#define GUPLAB_EXPORT_FLAG(sym, bit, name) flags.Set(name, Napi::Number::New(env, GUPLAB_FLAG_##sym));
  GUPLAB_FLAGS(GUPLAB_EXPORT_FLAG)
#undef GUPLAB_EXPORT_FLAG
  abi.Set("flags", flags);

  Napi::Object kinds = Napi::Object::New(env);
#define GUPLAB_EXPORT_KIND(sym, bit, name) kinds.Set(name, Napi::Number::New(env, GUPLAB_KIND_##sym));
  GUPLAB_KINDS(GUPLAB_EXPORT_KIND)
#undef GUPLAB_EXPORT_KIND
  abi.Set("kinds", kinds);

  Napi::Object props = Napi::Object::New(env);
#define GUPLAB_EXPORT_PROP(sym, bit, name) props.Set(name, Napi::Number::New(env, GUPLAB_PROP_##sym));
  GUPLAB_PROPS(GUPLAB_EXPORT_PROP)
#undef GUPLAB_EXPORT_PROP
  abi.Set("props", props);
  abi.Set("benchMaxIterations", Napi::Number::New(env, GUPLAB_BENCH_MAX_ITERATIONS));
  abi.Set("benchMaxPages", Napi::Number::New(env, static_cast<double>(GUPLAB_BENCH_MAX_PAGES)));
  abi.Set("mmapPages", Napi::Number::New(env, GUPLAB_MMAP_PAGES));

  Napi::Object events = Napi::Object::New(env);
#define GUPLAB_EXPORT_EVENT(sym, id, name) events.Set(name, Napi::Number::New(env, GUPLAB_EVENT_##sym));
  GUPLAB_EVENTS(GUPLAB_EXPORT_EVENT)
#undef GUPLAB_EXPORT_EVENT
  abi.Set("events", events);
  Napi::Object mirrorFlags = Napi::Object::New(env);
  mirrorFlags.Set("write", Napi::Number::New(env, GUPLAB_MIRROR_WRITE));
  mirrorFlags.Set("snapshot", Napi::Number::New(env, GUPLAB_MIRROR_SNAPSHOT));
  abi.Set("mirrorFlags", mirrorFlags);
  Napi::Object pinSlots = Napi::Object::New(env);
#define GUPLAB_EXPORT_PIN_SLOT(sym, name) pinSlots.Set(#name, Napi::Number::New(env, kPinSlot##sym));
  GUPLAB_PIN_SLOTS(GUPLAB_EXPORT_PIN_SLOT)
#undef GUPLAB_EXPORT_PIN_SLOT
  pinSlots.Set("length", Napi::Number::New(env, kPinSlots));
  abi.Set("pinSlots", pinSlots);
  abi.Set("benchHmmRangeFault", Napi::Number::New(env, GUPLAB_BENCH_HMM_RANGE_FAULT));
  Napi::Object benchModes = Napi::Object::New(env);
  benchModes.Set("batch", Napi::Number::New(env, GUPLAB_BENCH_BATCH));
  benchModes.Set("pass", Napi::Number::New(env, GUPLAB_BENCH_PASS));
  benchModes.Set("empty", Napi::Number::New(env, GUPLAB_BENCH_EMPTY));
  abi.Set("benchModes", benchModes);
  return abi;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abi", AbiConstants(env));
  exports.Set("pageSize", Napi::Number::New(env, static_cast<double>(sysconf(_SC_PAGESIZE))));
  InitDevice(env, exports);
  InitMapping(env, exports);
  InitUffd(env, exports);
  InitConsumers(env, exports);
  return exports;
}

}  // namespace guplab

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return guplab::Init(env, exports);
}

NODE_API_MODULE(guplab, InitAddon)
