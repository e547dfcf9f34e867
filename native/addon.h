// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <napi.h>

namespace guplab {

Napi::Object InitDevice(Napi::Env env, Napi::Object exports);
Napi::Object InitMapping(Napi::Env env, Napi::Object exports);
Napi::Object InitUffd(Napi::Env env, Napi::Object exports);

}  // namespace guplab
