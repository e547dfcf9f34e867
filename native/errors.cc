// SPDX-License-Identifier: GPL-2.0
#include "errors.h"

#include <cstring>

namespace guplab {

Napi::Error ErrnoError(Napi::Env env, int err, const char *syscall, const std::string &path, const std::string &hint) {
  const char *name = strerrorname_np(err);
  std::string code = name ? name : "E" + std::to_string(err);
  std::string message = code + ": " + std::strerror(err) + ", " + syscall;
  if (!path.empty()) message += " '" + path + "'";
  if (!hint.empty()) message += ". " + hint;

  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", code);
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", syscall);
  if (!path.empty()) error.Set("path", path);
  if (!hint.empty()) error.Set("hint", hint);
  return error;
}

}  // namespace guplab
