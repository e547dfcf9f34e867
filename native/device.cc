// SPDX-License-Identifier: GPL-2.0
// Device: one open file of /dev/guplab and the ioctls on it.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "addon.h"
#include "errors.h"
#include "guplab.h"

namespace guplab {
namespace {

// The signal interrupt() sends: a real-time one that nothing else in Node
// uses, with an empty handler installed without SA_RESTART so that it
// interrupts the ioctl instead of killing the process.
int InterruptSignal() {
  static const int sig = [] {
    int s = SIGRTMIN + 7;
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sigemptyset(&sa.sa_mask);
    sigaction(s, &sa, nullptr);
    return s;
  }();
  return sig;
}

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
    return DefineClass(
        env, "Device",
        {InstanceMethod<&Device::Info>("info"), InstanceMethod<&Device::Pin>("pin"), InstanceMethod<&Device::PreparePin>("preparePin"),
         InstanceMethod<&Device::Release>("release"), InstanceMethod<&Device::Access>("access"),
         InstanceMethod<&Device::PinAsync>("pinAsync"), InstanceMethod<&Device::Bench>("bench"), InstanceMethod<&Device::Mirror>("mirror"),
         InstanceMethod<&Device::MirrorAsync>("mirrorAsync"), InstanceMethod<&Device::MirrorState>("mirrorState"),
         InstanceMethod<&Device::Interrupt>("interrupt"), InstanceMethod<&Device::Close>("close"),
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
    if (fd_ < 0) throw Napi::Error::New(env, "Device is closed: open a new Device to make more calls");
    return fd_;
  }

  void Ioctl(Napi::Env env, unsigned long request, void *arg) {
    if (ioctl(Fd(env), request, arg) < 0) {
      int err = errno;
      std::string hint;
      if (err == ENOTTY) hint = "The loaded module does not know this request: rebuild and reload it (`make load`)";
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
    out.Set("maxHeldPages", Napi::Number::New(env, static_cast<double>(gi.max_held_pages)));
    Napi::Array warn = Napi::Array::New(env, GUPLAB_API_SLOTS);
    for (uint32_t i = 0; i < GUPLAB_API_SLOTS; i++) warn.Set(i, Napi::Number::New(env, gi.warn_flags[i]));
    out.Set("warnFlags", warn);
    Napi::Array unpriv = Napi::Array::New(env, GUPLAB_API_SLOTS);
    for (uint32_t i = 0; i < GUPLAB_API_SLOTS; i++) unpriv.Set(i, Napi::Number::New(env, gi.unpriv_flags[i]));
    out.Set("unprivFlags", unpriv);
    out.Set("admin", Napi::Boolean::New(env, (gi.caller & GUPLAB_CALLER_ADMIN) != 0));
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

  static int32_t PidField(Napi::Env env, Napi::Object obj) {
    Napi::Value v = obj.Get("pid");
    if (v.IsUndefined()) return 0;
    if (!v.IsNumber()) throw Napi::TypeError::New(env, "pid must be a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (d != static_cast<int32_t>(d)) throw Napi::RangeError::New(env, "pid must be a 32-bit integer");
    return static_cast<int32_t>(d);
  }

  static uint32_t Uint32Field(Napi::Env env, Napi::Object obj, const char *key) {
    uint64_t v = obj.Has(key) && !obj.Get(key).IsUndefined() ? Uint64Field(env, obj, key) : 0;
    if (v > UINT32_MAX) throw Napi::RangeError::New(env, std::string(key) + " must fit in 32 bits");
    return static_cast<uint32_t>(v);
  }

  static Napi::Object FactsObject(Napi::Env env, const guplab_page_facts &f) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("pfn", Napi::BigInt::New(env, static_cast<uint64_t>(f.pfn)));
    o.Set("pfnBefore", Napi::BigInt::New(env, static_cast<uint64_t>(f.pfn_before)));
    o.Set("kind", Napi::Number::New(env, f.kind));
    o.Set("props", Napi::Number::New(env, f.props));
    o.Set("folioOrder", Napi::Number::New(env, f.folio_order));
    o.Set("refcount", Napi::Number::New(env, f.refcount));
    o.Set("pincount", Napi::Number::New(env, f.pincount));
    o.Set("zone", Napi::Number::New(env, f.zone));
    std::string zone(f.zone_name, strnlen(f.zone_name, sizeof(f.zone_name)));
    o.Set("zoneName", zone);
    return o;
  }

  // A PIN request and the facts array its answer is written to.
  struct PinCall {
    guplab_pin req;
    std::vector<guplab_page_facts> facts;
    bool want_facts = false;
  };

  // {api, flags, addr, nrPages, pid?, hold?, facts?} -> PinCall. The module
  // validates every field; this only converts types.
  static void ParsePin(Napi::Env env, Napi::Value arg, PinCall *call) {
    if (!arg.IsObject()) throw Napi::TypeError::New(env, "pin(request): request must be an object");
    Napi::Object req = arg.As<Napi::Object>();
    guplab_pin &p = call->req;
    std::memset(&p, 0, sizeof(p));
    p.api = Uint32Field(env, req, "api");
    p.flags = Uint32Field(env, req, "flags");
    p.addr = Uint64Field(env, req, "addr");
    p.nr_pages = Uint64Field(env, req, "nrPages");
    p.pid = PidField(env, req);
    call->want_facts = req.Get("facts").ToBoolean().Value();
    if (req.Get("hold").ToBoolean().Value()) p.mode |= GUPLAB_PIN_HOLD;
    if (call->want_facts) {
      if (p.nr_pages > (1u << 24)) throw Napi::RangeError::New(env, "pin: facts for at most 16M pages per call");
      call->facts.resize(p.nr_pages);
      p.mode |= GUPLAB_PIN_FACTS;
      p.facts = reinterpret_cast<uintptr_t>(call->facts.data());
    }
  }

  // -> {ret, getNs, putNs, handle, facts?}
  static Napi::Object PinResult(Napi::Env env, const PinCall &call) {
    const guplab_pin &p = call.req;
    Napi::Object out = Napi::Object::New(env);
    out.Set("ret", Napi::Number::New(env, static_cast<double>(p.ret)));
    out.Set("getNs", Napi::Number::New(env, static_cast<double>(p.get_ns)));
    out.Set("putNs", Napi::Number::New(env, static_cast<double>(p.put_ns)));
    out.Set("handle", Napi::Number::New(env, static_cast<double>(p.handle)));
    if (call.want_facts) {
      long n = p.ret > 0 ? static_cast<long>(p.ret) : 0;
      Napi::Array arr = Napi::Array::New(env, n);
      for (long i = 0; i < n; i++) arr.Set(static_cast<uint32_t>(i), FactsObject(env, call.facts[i]));
      out.Set("facts", arr);
    }
    return out;
  }

  Napi::Value Pin(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    PinCall call;
    ParsePin(env, info[0], &call);
    Ioctl(env, GUPLAB_IOC_PIN, &call.req);
    return PinResult(env, call);
  }

  // preparePin(Float64Array) -> run(): a PIN whose request and answer live
  // in a Float64Array (slots: PinSlot in addon.h), for GupDevice.pin()
  // without facts and for PreparedPin. run() takes no argument, so a call
  // costs N-API only its callback: no argument query, no unwrap, no object,
  // string key or BigInt. The caller validates the request; the module
  // checks it again. The addr slot holds the address's 64 bits, not a
  // double: TypeScript writes it through a BigUint64Array over the same
  // memory (storing a BigInt there is cheap, Number(bigint) is not).
  struct PreparedPin {
    Device *dev;
    Napi::ObjectReference devRef;                  // keeps the device (its fd) alive
    Napi::Reference<Napi::Float64Array> slotsRef;  // keeps the slots' memory alive
    double *slots;
  };

  static Napi::Value RunPrepared(const Napi::CallbackInfo &info) {
    auto *p = static_cast<PreparedPin *>(info.Data());
    double *s = p->slots;
    struct guplab_pin pin;
    std::memset(&pin, 0, sizeof(pin));
    pin.api = static_cast<__u32>(s[kPinSlotApi]);
    pin.flags = static_cast<__u32>(s[kPinSlotFlags]);
    std::memcpy(&pin.addr, &s[kPinSlotAddr], sizeof(pin.addr));
    pin.nr_pages = static_cast<__u64>(s[kPinSlotNrPages]);
    pin.pid = static_cast<__s32>(s[kPinSlotPid]);
    if (s[kPinSlotHold] != 0) pin.mode = GUPLAB_PIN_HOLD;
    p->dev->Ioctl(info.Env(), GUPLAB_IOC_PIN, &pin);
    s[kPinSlotRet] = static_cast<double>(pin.ret);
    s[kPinSlotGetNs] = static_cast<double>(pin.get_ns);
    s[kPinSlotPutNs] = static_cast<double>(pin.put_ns);
    s[kPinSlotHandle] = static_cast<double>(pin.handle);
    return info.Env().Undefined();
  }

  Napi::Value PreparePin(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      throw Napi::TypeError::New(env, "preparePin(slots): slots must be a Float64Array");
    Napi::Float64Array slots = info[0].As<Napi::Float64Array>();
    if (slots.ElementLength() < kPinSlots)
      throw Napi::RangeError::New(env, "preparePin(slots): slots needs abi.pinSlots.length (" + std::to_string(kPinSlots) + ") elements");
    Fd(env);
    auto *p = new PreparedPin{this, Napi::Persistent(Value()), Napi::Persistent(slots), slots.Data()};
    Napi::Function run = Napi::Function::New<RunPrepared>(env, "run", p);
    run.AddFinalizer([](Napi::Env, PreparedPin *q) { delete q; }, p);
    return run;
  }

  // pinAsync(request) -> Promise of pin()'s answer; for large HOLDs.
  Napi::Value PinAsync(const Napi::CallbackInfo &info);

  // mirror({addr, nrPages, flags}) -> {handle, faultNs, validPages}
  static std::unique_ptr<guplab_mirror> ParseMirror(Napi::Env env, Napi::Value arg) {
    if (!arg.IsObject()) throw Napi::TypeError::New(env, "mirror(request): request must be an object");
    Napi::Object req = arg.As<Napi::Object>();
    auto m = std::make_unique<guplab_mirror>();
    std::memset(m.get(), 0, sizeof(*m));
    m->addr = Uint64Field(env, req, "addr");
    m->nr_pages = Uint64Field(env, req, "nrPages");
    m->flags = Uint32Field(env, req, "flags");
    return m;
  }

  static Napi::Object MirrorResult(Napi::Env env, const guplab_mirror &m) {
    Napi::Object out = Napi::Object::New(env);
    out.Set("handle", Napi::Number::New(env, static_cast<double>(m.handle)));
    out.Set("faultNs", Napi::Number::New(env, static_cast<double>(m.fault_ns)));
    out.Set("validPages", Napi::Number::New(env, static_cast<double>(m.valid_pages)));
    return out;
  }

  Napi::Value Mirror(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    auto m = ParseMirror(env, info[0]);
    Ioctl(env, GUPLAB_IOC_MIRROR, m.get());
    return MirrorResult(env, *m);
  }

  // mirrorAsync(request) -> Promise of mirror()'s answer, on a worker thread:
  // the first fill of a large mirror faults many pages.
  Napi::Value MirrorAsync(const Napi::CallbackInfo &info);

  // mirrorState(handle, pfns) -> {nrPages, validPages, invalidations, faults,
  // retries, events: number[], log: {event, start, end}[], pfns?: BigUint64Array}
  Napi::Value MirrorState(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "mirrorState(handle, pfns): handle must be a number");
    auto st = std::make_unique<guplab_mirror_state>();
    std::memset(st.get(), 0, sizeof(*st));
    st->handle = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
    bool want_pfns = info.Length() > 1 && info[1].ToBoolean().Value();
    std::vector<uint64_t> pfns;
    if (want_pfns) {
      // The size comes from a first call without pfns: a mirror's size is fixed.
      Ioctl(env, GUPLAB_IOC_MIRROR_STATE, st.get());
      pfns.resize(st->nr_pages);
      st->pfns = reinterpret_cast<uintptr_t>(pfns.data());
    }
    Ioctl(env, GUPLAB_IOC_MIRROR_STATE, st.get());
    Napi::Object out = Napi::Object::New(env);
    out.Set("nrPages", Napi::Number::New(env, static_cast<double>(st->nr_pages)));
    out.Set("validPages", Napi::Number::New(env, static_cast<double>(st->valid_pages)));
    out.Set("invalidations", Napi::Number::New(env, static_cast<double>(st->invalidations)));
    out.Set("faults", Napi::Number::New(env, static_cast<double>(st->faults)));
    out.Set("retries", Napi::Number::New(env, static_cast<double>(st->retries)));
    Napi::Array events = Napi::Array::New(env, GUPLAB_EVENT_SLOTS);
    for (uint32_t i = 0; i < GUPLAB_EVENT_SLOTS; i++) events.Set(i, Napi::Number::New(env, st->events[i]));
    out.Set("events", events);
    uint32_t n = std::min<uint32_t>(st->nr_log, GUPLAB_MIRROR_LOG);
    Napi::Array log = Napi::Array::New(env, n);
    for (uint32_t i = 0; i < n; i++) {
      Napi::Object e = Napi::Object::New(env);
      e.Set("event", Napi::Number::New(env, st->log[i].event));
      e.Set("start", Napi::BigInt::New(env, static_cast<uint64_t>(st->log[i].start)));
      e.Set("end", Napi::BigInt::New(env, static_cast<uint64_t>(st->log[i].end)));
      log.Set(i, e);
    }
    out.Set("log", log);
    if (want_pfns) {
      Napi::BigUint64Array arr = Napi::BigUint64Array::New(env, pfns.size());
      std::copy(pfns.begin(), pfns.end(), arr.Data());
      out.Set("pfns", arr);
    }
    return out;
  }

  // access(handle, index, offset, buffer, write): copies between a Uint8Array
  // and a page of a held set through the kernel's mapping of that page.
  Napi::Value Access(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[3].IsTypedArray())
      throw Napi::TypeError::New(env, "access(handle, index, offset, bytes, write): bytes must be a Uint8Array");
    Napi::Uint8Array bytes = info[3].As<Napi::Uint8Array>();
    struct guplab_access a;
    std::memset(&a, 0, sizeof(a));
    a.handle = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
    a.index = static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
    a.offset = info[2].As<Napi::Number>().Uint32Value();
    a.length = static_cast<uint32_t>(bytes.ByteLength());
    a.write = info[4].ToBoolean().Value() ? 1 : 0;
    a.buf = reinterpret_cast<uintptr_t>(bytes.Data());
    Ioctl(env, GUPLAB_IOC_ACCESS, &a);
    return env.Undefined();
  }

  // release(handle, dirty) -> {nrPages, putNs}
  Napi::Value Release(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "release(handle, dirty): handle must be a number");
    struct guplab_release r;
    std::memset(&r, 0, sizeof(r));
    r.handle = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
    r.dirty = info.Length() > 1 && info[1].ToBoolean().Value() ? 1 : 0;
    Ioctl(env, GUPLAB_IOC_RELEASE, &r);
    Napi::Object out = Napi::Object::New(env);
    out.Set("nrPages", Napi::Number::New(env, static_cast<double>(r.nr_pages)));
    out.Set("putNs", Napi::Number::New(env, static_cast<double>(r.put_ns)));
    return out;
  }

  // bench({api, flags, addr, nrPages, pagesPerCall, iterations, pid?})
  //   -> Promise<{done, status, ret, getNs: number[], putNs: number[]}>
  // The in-kernel loop runs on a worker thread, off the JS thread.
  Napi::Value Bench(const Napi::CallbackInfo &info);

  void WorkDone() {
    if (--inflight_ == 0 && close_pending_) CloseFd();
  }

  void EnterIoctl() {
    std::lock_guard<std::mutex> guard(threads_lock_);
    threads_.push_back(pthread_self());
  }

  void LeaveIoctl() {
    std::lock_guard<std::mutex> guard(threads_lock_);
    threads_.erase(std::find(threads_.begin(), threads_.end(), pthread_self()));
  }

  // interrupt() -> number of threads signalled. Makes the ioctls in flight
  // on worker threads see a pending signal, which stops BENCH (status
  // -EINTR, samples so far) and slow GUP paths that check for signals.
  // A signal that lands just before a thread enters the ioctl is lost:
  // callers repeat until the work settles.
  Napi::Value Interrupt(const Napi::CallbackInfo &info) {
    std::lock_guard<std::mutex> guard(threads_lock_);
    for (pthread_t t : threads_) pthread_kill(t, InterruptSignal());
    return Napi::Number::New(info.Env(), static_cast<double>(threads_.size()));
  }

  friend class IoctlWorker;
  friend class PinWorker;
  friend class MirrorWorker;

  Napi::Value Close(const Napi::CallbackInfo &info) {
    // A BENCH in flight keeps the fd; it is closed when the last one ends.
    if (inflight_ > 0)
      close_pending_ = true;
    else
      CloseFd();
    return info.Env().Undefined();
  }

  Napi::Value Closed(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), fd_ < 0 || close_pending_); }

  std::string path_;
  int fd_ = -1;
  int inflight_ = 0;
  bool close_pending_ = false;
  std::mutex threads_lock_;
  std::vector<pthread_t> threads_;  // worker threads inside an ioctl
};

// Runs one ioctl of a Device on a libuv worker thread and settles a
// Promise with its answer. The thread registers itself while in the ioctl,
// so that Device::Interrupt can signal it (the module's long loops stop on
// a pending signal).
class IoctlWorker : public Napi::AsyncWorker {
 public:
  IoctlWorker(Napi::Env env, Device *device, Napi::Object owner, unsigned long request, void *arg)
      : Napi::AsyncWorker(env, "guplab:ioctl"),
        deferred_(Napi::Promise::Deferred::New(env)),
        device_(device),
        fd_(device->fd_),
        request_(request),
        arg_(arg) {
    owner_ = Napi::Persistent(owner);  // keeps the Device (and its fd) alive
    device_->inflight_++;
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    device_->EnterIoctl();
    if (ioctl(fd_, request_, arg_) < 0) err_ = errno;
    device_->LeaveIoctl();
  }

  void OnOK() override {
    Napi::Env env = Env();
    device_->WorkDone();
    if (err_)
      deferred_.Reject(ErrnoError(env, err_, "ioctl", device_->path_).Value());
    else
      deferred_.Resolve(Answer(env));
  }

 protected:
  virtual Napi::Value Answer(Napi::Env env) = 0;

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference owner_;
  Device *device_;
  int fd_;
  unsigned long request_;
  void *arg_;
  int err_ = 0;
};

class PinWorker : public IoctlWorker {
 public:
  PinWorker(Napi::Env env, Device *device, Napi::Object owner, Device::PinCall *call)
      : IoctlWorker(env, device, owner, GUPLAB_IOC_PIN, &call->req), call_(call) {}

 protected:
  Napi::Value Answer(Napi::Env env) override { return Device::PinResult(env, *call_); }

 private:
  std::unique_ptr<Device::PinCall> call_;
};

class BenchWorker : public IoctlWorker {
 public:
  BenchWorker(Napi::Env env, Device *device, Napi::Object owner, std::unique_ptr<guplab_bench> req)
      : IoctlWorker(env, device, owner, GUPLAB_IOC_BENCH, req.get()), req_(std::move(req)), samples_(req_->iterations) {
    req_->samples = reinterpret_cast<uintptr_t>(samples_.data());
  }

 protected:
  Napi::Value Answer(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    out.Set("done", Napi::Number::New(env, req_->done));
    out.Set("status", Napi::Number::New(env, req_->status));
    out.Set("ret", Napi::Number::New(env, static_cast<double>(req_->ret)));
    Napi::Array get = Napi::Array::New(env, req_->done);
    Napi::Array put = Napi::Array::New(env, req_->done);
    for (uint32_t i = 0; i < req_->done; i++) {
      get.Set(i, Napi::Number::New(env, static_cast<double>(samples_[i].get_ns)));
      put.Set(i, Napi::Number::New(env, static_cast<double>(samples_[i].put_ns)));
    }
    out.Set("getNs", get);
    out.Set("putNs", put);
    return out;
  }

 private:
  std::unique_ptr<guplab_bench> req_;
  std::vector<guplab_bench_sample> samples_;
};

class MirrorWorker : public IoctlWorker {
 public:
  MirrorWorker(Napi::Env env, Device *device, Napi::Object owner, std::unique_ptr<guplab_mirror> req)
      : IoctlWorker(env, device, owner, GUPLAB_IOC_MIRROR, req.get()), req_(std::move(req)) {}

 protected:
  Napi::Value Answer(Napi::Env env) override { return Device::MirrorResult(env, *req_); }

 private:
  std::unique_ptr<guplab_mirror> req_;
};

Napi::Value Device::MirrorAsync(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto m = ParseMirror(env, info[0]);
  Fd(env);
  auto *worker = new MirrorWorker(env, this, Value(), std::move(m));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value Device::PinAsync(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto call = std::make_unique<PinCall>();
  ParsePin(env, info[0], call.get());
  Fd(env);
  auto *worker = new PinWorker(env, this, Value(), call.release());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value Device::Bench(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "bench(request): request must be an object");
  Napi::Object req = info[0].As<Napi::Object>();
  auto req_ptr = std::make_unique<guplab_bench>();
  guplab_bench &b = *req_ptr;
  std::memset(&b, 0, sizeof(b));
  b.api = Uint32Field(env, req, "api");
  b.flags = Uint32Field(env, req, "flags");
  b.addr = Uint64Field(env, req, "addr");
  b.nr_pages = Uint64Field(env, req, "nrPages");
  b.pages_per_call = Uint64Field(env, req, "pagesPerCall");
  b.iterations = Uint32Field(env, req, "iterations");
  b.pid = PidField(env, req);
  b.mode = Uint32Field(env, req, "mode");
  if (b.iterations < 1 || b.iterations > GUPLAB_BENCH_MAX_ITERATIONS)
    throw Napi::RangeError::New(env, "bench: iterations must be 1 .. " + std::to_string(GUPLAB_BENCH_MAX_ITERATIONS));
  Fd(env);
  auto *worker = new BenchWorker(env, this, Value(), std::move(req_ptr));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

Napi::Object InitDevice(Napi::Env env, Napi::Object exports) {
  exports.Set("Device", Device::Define(env));
  return exports;
}

}  // namespace guplab
