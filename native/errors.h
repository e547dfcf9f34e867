// SPDX-License-Identifier: GPL-2.0
// Node-style errors (code, errno, syscall, path) from an errno value.
#pragma once

#include <napi.h>
#include <string>

namespace guplab {

// Builds an Error like Node's fs errors: message "CODE: strerror, syscall 'path'"
// followed by the hint when one is given. errno is stored negated, as Node does.
Napi::Error ErrnoError(Napi::Env env, int err, const char *syscall, const std::string &path = "", const std::string &hint = "");

}  // namespace guplab
