// SPDX-License-Identifier: GPL-2.0
// The kernel's own GUP consumers, called from user space with no module:
// io_uring fixed buffers (IORING_REGISTER_BUFFERS, raw syscalls, no
// liburing), an O_DIRECT read into a buffer, vmsplice into a pipe,
// process_vm_readv/writev, /proc/self/mem (FOLL_FORCE) and
// MADV_POPULATE_READ/WRITE. Each runs `iterations` times in C and times
// each syscall alone with CLOCK_MONOTONIC, so that a benchmark loop is C,
// not JS. What the kernel answers is data ({ret, errno}); only a setup step
// that is not the call under test (io_uring_setup, open, pipe) throws a
// Node-style error.
#include <fcntl.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "addon.h"
#include "errors.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#endif

namespace guplab {
namespace {

inline double NowNs() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// What a run of one consumer call returns: the last call's return value
// and errno (0 when it succeeded), how many calls completed, and each
// completed call's time.
struct Run {
  long ret = 0;
  int err = 0;
  std::vector<double> ns;
  std::vector<double> ns2;  // a second timed step per iteration (io_uring unregister)
};

Napi::Float64Array Times(Napi::Env env, const std::vector<double> &v) {
  Napi::Float64Array a = Napi::Float64Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) a[i] = v[i];
  return a;
}

Napi::Object ToJs(Napi::Env env, const Run &r) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("ret", Napi::Number::New(env, static_cast<double>(r.ret)));
  out.Set("errno", Napi::Number::New(env, r.err));
  out.Set("code", r.err ? Napi::Value(Napi::String::New(env, strerrorname_np(r.err) ? strerrorname_np(r.err) : "E?")) : env.Null());
  out.Set("done", Napi::Number::New(env, static_cast<double>(r.ns.size())));
  out.Set("ns", Times(env, r.ns));
  out.Set("ns2", Times(env, r.ns2));
  return out;
}

uintptr_t Address(const Napi::Value &v, const char *what) {
  if (!v.IsBigInt()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a bigint");
  bool lossless = false;
  uint64_t a = v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::RangeError::New(v.Env(), std::string(what) + " does not fit 64 bits");
  return static_cast<uintptr_t>(a);
}

size_t Count(const Napi::Value &v, const char *what, size_t min = 0) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(min)) || d != static_cast<double>(static_cast<size_t>(d)) || d > 9007199254740991.0)
    throw Napi::RangeError::New(v.Env(), std::string(what) + " must be a whole number >= " + std::to_string(min));
  return static_cast<size_t>(d);
}

int Fd(const Napi::Value &v) {
  return static_cast<int>(Count(v, "fd"));
}

bool Flag(const Napi::CallbackInfo &info, size_t i) {
  return info.Length() > i && info[i].ToBoolean().Value();
}

// Drops the pages of [addr, addr+len) untimed, so that the next call finds
// none present and faults fresh ones (anonymous memory: zero-filled again).
void Fresh(uintptr_t addr, size_t len) {
  madvise(reinterpret_cast<void *>(addr), len, MADV_DONTNEED);
}

// uringSetup(entries) -> fd of a new io_uring instance (the SQ/CQ rings are
// never mapped: registration needs only the fd). Throws on refusal: ENOSYS
// (no CONFIG_IO_URING, or seccomp), EPERM (kernel.io_uring_disabled).
Napi::Value UringSetup(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  unsigned entries = info.Length() > 0 ? static_cast<unsigned>(Count(info[0], "entries", 1)) : 1;
  struct io_uring_params p {};
  long fd = syscall(__NR_io_uring_setup, entries, &p);
  if (fd < 0) throw ErrnoError(env, errno, "io_uring_setup");
  fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  return Napi::Number::New(env, static_cast<double>(fd));
}

// uringRegister(fd, address, length, iterations) -> run: each iteration
// registers [address, address+length) as one fixed buffer
// (IORING_REGISTER_BUFFERS: the pin) and unregisters it
// (IORING_UNREGISTER_BUFFERS: the unpin); ns holds the register times,
// ns2 the unregister times. Stops at the first refusal.
Napi::Value UringRegister(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) throw Napi::TypeError::New(env, "uringRegister(fd, address, length, iterations)");
  int fd = Fd(info[0]);
  uintptr_t addr = Address(info[1], "address");
  size_t len = Count(info[2], "length", 1);
  size_t iterations = Count(info[3], "iterations", 1);
  struct iovec iov = {reinterpret_cast<void *>(addr), len};
  Run r;
  r.ns.reserve(iterations);
  r.ns2.reserve(iterations);
  for (size_t i = 0; i < iterations; i++) {
    double t0 = NowNs();
    long ret = syscall(__NR_io_uring_register, fd, IORING_REGISTER_BUFFERS, &iov, 1);
    double t1 = NowNs();
    r.ret = ret;
    if (ret < 0) {
      r.err = errno;
      break;
    }
    ret = syscall(__NR_io_uring_register, fd, IORING_UNREGISTER_BUFFERS, nullptr, 0);
    double t2 = NowNs();
    if (ret < 0) {
      r.ret = ret;
      r.err = errno;
      break;
    }
    r.ns.push_back(t1 - t0);
    r.ns2.push_back(t2 - t1);
  }
  return ToJs(env, r);
}

// directRead(fd, address, length, offset, iterations, fresh) -> run: pread
// of a file opened with O_DIRECT into [address, address+length). fresh:
// MADV_DONTNEED on the buffer before each read (untimed), so each read
// faults its pages in through GUP.
Napi::Value DirectRead(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5) throw Napi::TypeError::New(env, "directRead(fd, address, length, offset, iterations, fresh?)");
  int fd = Fd(info[0]);
  uintptr_t addr = Address(info[1], "address");
  size_t len = Count(info[2], "length", 1);
  off_t off = static_cast<off_t>(Count(info[3], "offset"));
  size_t iterations = Count(info[4], "iterations", 1);
  bool fresh = Flag(info, 5);
  Run r;
  r.ns.reserve(iterations);
  for (size_t i = 0; i < iterations; i++) {
    if (fresh) Fresh(addr, len);
    double t0 = NowNs();
    ssize_t ret = pread(fd, reinterpret_cast<void *>(addr), len, off);
    double t1 = NowNs();
    r.ret = static_cast<long>(ret);
    if (ret < 0) {
      r.err = errno;
      break;
    }
    r.ns.push_back(t1 - t0);
  }
  return ToJs(env, r);
}

// vmsplice(address, length, iterations) -> run: vmsplice of
// [address, address+length) into a fresh pipe (sized to hold it), the pipe
// then drained and closed untimed. ret is the bytes the pipe took.
Napi::Value Vmsplice(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) throw Napi::TypeError::New(env, "vmsplice(address, length, iterations)");
  uintptr_t addr = Address(info[0], "address");
  size_t len = Count(info[1], "length", 1);
  size_t iterations = Count(info[2], "iterations", 1);
  std::vector<char> sink(65536);
  Run r;
  r.ns.reserve(iterations);
  for (size_t i = 0; i < iterations; i++) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) throw ErrnoError(env, errno, "pipe2");
    if (len > 65536 && fcntl(p[1], F_SETPIPE_SZ, static_cast<int>(len)) < 0) {
      int err = errno;
      close(p[0]);
      close(p[1]);
      throw ErrnoError(env, err, "fcntl", "", "F_SETPIPE_SZ: a pipe this large needs root or a larger /proc/sys/fs/pipe-max-size");
    }
    struct iovec iov = {reinterpret_cast<void *>(addr), len};
    double t0 = NowNs();
    ssize_t ret = vmsplice(p[1], &iov, 1, 0);
    double t1 = NowNs();
    int err = ret < 0 ? errno : 0;
    for (ssize_t left = ret; left > 0;) {
      ssize_t got = read(p[0], sink.data(), sink.size());
      if (got <= 0) break;
      left -= got;
    }
    close(p[0]);
    close(p[1]);
    r.ret = static_cast<long>(ret);
    if (ret < 0) {
      r.err = err;
      break;
    }
    r.ns.push_back(t1 - t0);
  }
  return ToJs(env, r);
}

// processVm(pid, local, remote, length, write, iterations, fresh) -> run:
// process_vm_readv (write false: remote -> local) or process_vm_writev
// (remote <- local) of one iovec each side. The kernel pins the remote
// side (the target's memory); the local side is copied. fresh:
// MADV_DONTNEED on the remote range before each call (the target must be
// this process).
Napi::Value ProcessVm(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6) throw Napi::TypeError::New(env, "processVm(pid, local, remote, length, write, iterations, fresh?)");
  pid_t pid = static_cast<pid_t>(Count(info[0], "pid", 1));
  uintptr_t local = Address(info[1], "local");
  uintptr_t remote = Address(info[2], "remote");
  size_t len = Count(info[3], "length", 1);
  bool write = info[4].ToBoolean().Value();
  size_t iterations = Count(info[5], "iterations", 1);
  bool fresh = Flag(info, 6);
  struct iovec l = {reinterpret_cast<void *>(local), len};
  struct iovec rv = {reinterpret_cast<void *>(remote), len};
  Run r;
  r.ns.reserve(iterations);
  for (size_t i = 0; i < iterations; i++) {
    if (fresh) Fresh(remote, len);
    double t0 = NowNs();
    ssize_t ret = write ? process_vm_writev(pid, &l, 1, &rv, 1, 0) : process_vm_readv(pid, &l, 1, &rv, 1, 0);
    double t1 = NowNs();
    r.ret = static_cast<long>(ret);
    if (ret < 0) {
      r.err = errno;
      break;
    }
    r.ns.push_back(t1 - t0);
  }
  return ToJs(env, r);
}

// procMem(address, length, write, iterations, traced) -> run: pread (write
// false) or pwrite of /proc/PID/mem at [address, address+length) through a
// private scratch buffer; a write stores what the scratch holds (what a
// read of the same range returned first, so a write changes nothing a
// readable page held). traced: the range is that of a forked child this
// process traces (PTRACE_TRACEME, stopped), through /proc/<child>/mem, as a
// debugger reaches it: mem_rw() passes FOLL_FORCE to its tracer under both
// CONFIG_PROC_MEM_ALWAYS_FORCE and CONFIG_PROC_MEM_FORCE_PTRACE. Otherwise
// /proc/self/mem, which is forced only under ALWAYS_FORCE. The kernel's
// mem_rw() answers -EIO when it copied nothing.
Napi::Value ProcMem(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) throw Napi::TypeError::New(env, "procMem(address, length, write, iterations, traced?)");
  uintptr_t addr = Address(info[0], "address");
  size_t len = Count(info[1], "length", 1);
  bool write = info[2].ToBoolean().Value();
  size_t iterations = Count(info[3], "iterations", 1);
  bool traced = Flag(info, 4);
  pid_t child = 0;
  std::string path = "/proc/self/mem";
  if (traced) {
    child = fork();
    if (child < 0) throw ErrnoError(env, errno, "fork");
    if (child == 0) {
      // Only async-signal-safe calls in the child of a threaded process.
      if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) < 0) _exit(2);
      raise(SIGSTOP);
      _exit(0);
    }
    int status = 0;
    if (waitpid(child, &status, WUNTRACED) < 0 || !WIFSTOPPED(status)) {
      int err = errno ? errno : ECHILD;
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      throw ErrnoError(env, err, "ptrace", "",
                       "the child could not be traced (PTRACE_TRACEME refused: a seccomp filter, or Yama ptrace_scope=3)");
    }
    path = "/proc/" + std::to_string(child) + "/mem";
  }
  auto reap = [&]() {
    if (child > 0) {
      int status = 0;
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
    }
  };
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    reap();
    throw ErrnoError(env, err, "open", path);
  }
  std::vector<char> scratch(len, 0x5a);
  if (write) (void)!pread(fd, scratch.data(), len, static_cast<off_t>(addr));  // keep the bytes where readable
  Run r;
  r.ns.reserve(iterations);
  for (size_t i = 0; i < iterations; i++) {
    double t0 = NowNs();
    ssize_t ret =
        write ? pwrite(fd, scratch.data(), len, static_cast<off_t>(addr)) : pread(fd, scratch.data(), len, static_cast<off_t>(addr));
    double t1 = NowNs();
    r.ret = static_cast<long>(ret);
    if (ret < 0) {
      r.err = errno;
      break;
    }
    r.ns.push_back(t1 - t0);
  }
  close(fd);
  reap();
  return ToJs(env, r);
}

// populate(address, length, write, iterations, fresh) -> run:
// madvise(MADV_POPULATE_READ or _WRITE); fresh: MADV_DONTNEED before each
// call (untimed).
Napi::Value Populate(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) throw Napi::TypeError::New(env, "populate(address, length, write, iterations, fresh?)");
  uintptr_t addr = Address(info[0], "address");
  size_t len = Count(info[1], "length", 1);
  bool write = info[2].ToBoolean().Value();
  size_t iterations = Count(info[3], "iterations", 1);
  bool fresh = Flag(info, 4);
  Run r;
  r.ns.reserve(iterations);
  for (size_t i = 0; i < iterations; i++) {
    if (fresh) Fresh(addr, len);
    double t0 = NowNs();
    int ret = madvise(reinterpret_cast<void *>(addr), len, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
    double t1 = NowNs();
    r.ret = ret;
    if (ret < 0) {
      r.err = errno;
      break;
    }
    r.ns.push_back(t1 - t0);
  }
  return ToJs(env, r);
}

}  // namespace

Napi::Object InitConsumers(Napi::Env env, Napi::Object exports) {
  Napi::Object c = Napi::Object::New(env);
  c.Set("uringSetup", Napi::Function::New<UringSetup>(env, "uringSetup"));
  c.Set("uringRegister", Napi::Function::New<UringRegister>(env, "uringRegister"));
  c.Set("directRead", Napi::Function::New<DirectRead>(env, "directRead"));
  c.Set("vmsplice", Napi::Function::New<Vmsplice>(env, "vmsplice"));
  c.Set("processVm", Napi::Function::New<ProcessVm>(env, "processVm"));
  c.Set("procMem", Napi::Function::New<ProcMem>(env, "procMem"));
  c.Set("populate", Napi::Function::New<Populate>(env, "populate"));
  exports.Set("consumers", c);
  return exports;
}

}  // namespace guplab
