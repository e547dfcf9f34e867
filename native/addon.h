// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <napi.h>

#include <cstddef>

namespace guplab {

// The slots of a prepared PIN's Float64Array (Device.preparePin), exported
// as abi.pinSlots so that TypeScript never retypes an index. In: api, flags,
// addr (its 64 bits, not a double), nrPages, pid, hold (0 or 1); out: ret,
// getNs, putNs, handle.
#define GUPLAB_PIN_SLOTS(X) \
  X(Api, api)               \
  X(Flags, flags)           \
  X(Addr, addr)             \
  X(NrPages, nrPages)       \
  X(Pid, pid)               \
  X(Hold, hold)             \
  X(Ret, ret)               \
  X(GetNs, getNs)           \
  X(PutNs, putNs)           \
  X(Handle, handle)

enum PinSlot : size_t {
#define GUPLAB_PIN_SLOT_ENUM(sym, name) kPinSlot##sym,
  GUPLAB_PIN_SLOTS(GUPLAB_PIN_SLOT_ENUM)
#undef GUPLAB_PIN_SLOT_ENUM
      kPinSlots
};

Napi::Object InitDevice(Napi::Env env, Napi::Object exports);
Napi::Object InitMapping(Napi::Env env, Napi::Object exports);
Napi::Object InitUffd(Napi::Env env, Napi::Object exports);
Napi::Object InitConsumers(Napi::Env env, Napi::Object exports);

}  // namespace guplab
