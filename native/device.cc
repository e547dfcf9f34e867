// SPDX-License-Identifier: GPL-2.0
// Device: one open file of /dev/guplab and the ioctls on it.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "addon.h"
#include "errors.h"
#include "guplab.h"

namespace guplab {
namespace {

std::string OpenHint(int err) {
  switch (err) {
  case ENOENT:
  case ENODEV:
  case ENXIO:
    return "The guplab module is not loaded: run `make load` (or `insmod kmod/guplab.ko`) "
           "as root, or run inside the VM with `npx guplab vm run -- <command>`";
  case EACCES:
  case EPERM:
    return "/dev/guplab is mode 0600: run as root";
  default:
    return "";
  }
}

class Device : public Napi::ObjectWrap<Device> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Device",
                       {InstanceMethod<&Device::Info>("info"),
                        InstanceMethod<&Device::Pin>("pin"),
                        InstanceMethod<&Device::Close>("close"),
                        InstanceAccessor<&Device::Closed>("closed")});
  }

  explicit Device(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Device>(info) {
    Napi::Env env = info.Env();
    path_ = "/dev/" GUPLAB_DEVICE_NAME;
    if (info.Length() > 0 && !info[0].IsUndefined()) {
      if (!info[0].IsString()) throw Napi::TypeError::New(env, "Device(path): path must be a string");
      path_ = info[0].As<Napi::String>().Utf8Value();
    }
    fd_ = open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0) {
      int err = errno;
      throw ErrnoError(env, err, "open", path_, OpenHint(err));
    }
  }

  ~Device() override { CloseFd(); }

 private:
  void CloseFd() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  int Fd(Napi::Env env) const {
    if (fd_ < 0)
      throw Napi::Error::New(env, "Device is closed: open a new Device to make more calls");
    return fd_;
  }

  void Ioctl(Napi::Env env, unsigned long request, void *arg) {
    if (ioctl(Fd(env), request, arg) < 0) {
      int err = errno;
      std::string hint;
      if (err == ENOTTY)
        hint = "The loaded module does not know this request: rebuild and reload it (`make load`)";
      throw ErrnoError(env, err, "ioctl", path_, hint);
    }
  }

  Napi::Value Info(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    struct guplab_info gi;
    std::memset(&gi, 0, sizeof(gi));
    Ioctl(env, GUPLAB_IOC_INFO, &gi);

    Napi::Object out = Napi::Object::New(env);
    out.Set("abiVersion", gi.abi_version);
    out.Set("pageSize", gi.page_size);
    out.Set("apiMask", Napi::BigInt::New(env, static_cast<uint64_t>(gi.api_mask)));
    out.Set("flagMask", Napi::Number::New(env, static_cast<double>(gi.flag_mask)));
    out.Set("maxPages", Napi::Number::New(env, static_cast<double>(gi.max_pages)));
    gi.release[sizeof(gi.release) - 1] = '\0';
    out.Set("release", gi.release);
    return out;
  }

  static uint64_t Uint64Field(Napi::Env env, Napi::Object obj, const char *key) {
    Napi::Value v = obj.Get(key);
    if (v.IsBigInt()) {
      bool lossless = false;
      uint64_t u = v.As<Napi::BigInt>().Uint64Value(&lossless);
      if (!lossless) throw Napi::RangeError::New(env, std::string("pin: ") + key + " does not fit in 64 bits");
      return u;
    }
    if (v.IsNumber()) {
      double d = v.As<Napi::Number>().DoubleValue();
      if (!(d >= 0) || d != static_cast<double>(static_cast<uint64_t>(d)) || d > 9007199254740991.0)
        throw Napi::RangeError::New(env, std::string("pin: ") + key + " must be a non-negative safe integer");
      return static_cast<uint64_t>(d);
    }
    throw Napi::TypeError::New(env, std::string("pin: ") + key + " must be a number or bigint");
  }

  // pin({api, flags, addr, nrPages}) -> {ret, getNs, putNs}. The module
  // validates every field; this only converts types.
  Napi::Value Pin(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject())
      throw Napi::TypeError::New(env, "pin(request): request must be an object");
    Napi::Object req = info[0].As<Napi::Object>();

    struct guplab_pin p;
    std::memset(&p, 0, sizeof(p));
    uint64_t api = Uint64Field(env, req, "api");
    uint64_t flags = Uint64Field(env, req, "flags");
    if (api > UINT32_MAX || flags > UINT32_MAX)
      throw Napi::RangeError::New(env, "pin: api and flags must fit in 32 bits");
    p.api = static_cast<__u32>(api);
    p.flags = static_cast<__u32>(flags);
    p.addr = Uint64Field(env, req, "addr");
    p.nr_pages = Uint64Field(env, req, "nrPages");
    Ioctl(env, GUPLAB_IOC_PIN, &p);

    Napi::Object out = Napi::Object::New(env);
    out.Set("ret", Napi::Number::New(env, static_cast<double>(p.ret)));
    out.Set("getNs", Napi::Number::New(env, static_cast<double>(p.get_ns)));
    out.Set("putNs", Napi::Number::New(env, static_cast<double>(p.put_ns)));
    return out;
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    CloseFd();
    return info.Env().Undefined();
  }

  Napi::Value Closed(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), fd_ < 0);
  }

  std::string path_;
  int fd_ = -1;
};

}  // namespace

Napi::Object InitDevice(Napi::Env env, Napi::Object exports) {
  exports.Set("Device", Device::Define(env));
  return exports;
}

}  // namespace guplab
