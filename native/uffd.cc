// SPDX-License-Identifier: GPL-2.0
// A userfaultfd handler on its own thread, for experiments on how GUP waits
// for (or gives up on) faults that user space resolves: it registers a
// range for missing-page faults and answers each with UFFDIO_COPY of a page
// filled with one byte value.
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#include "addon.h"
#include "errors.h"

namespace guplab {
namespace {

class FaultHandler : public Napi::ObjectWrap<FaultHandler> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FaultHandler",
                       {InstanceMethod<&FaultHandler::Stop>("stop"), InstanceAccessor<&FaultHandler::Faults>("faults")});
  }

  // new FaultHandler(address: bigint, length: number, fill: number)
  explicit FaultHandler(const Napi::CallbackInfo &info) : Napi::ObjectWrap<FaultHandler>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsBigInt() || !info[1].IsNumber() || !info[2].IsNumber())
      throw Napi::TypeError::New(env, "FaultHandler(address: bigint, length: number, fill: number, userModeOnly?: boolean)");
    // UFFD_USER_MODE_ONLY (5.11+): faults taken in kernel mode (GUP) are not
    // handled; the value is the kernel's, older headers lack the name.
    const int user_mode_only = info.Length() > 3 && info[3].ToBoolean().Value() ? 1 : 0;
    bool lossless = false;
    uint64_t start = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
    uint64_t length = static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    fill_.assign(page_, static_cast<char>(info[2].As<Napi::Number>().Uint32Value()));

    fd_ = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | user_mode_only));
    if (fd_ < 0) {
      int err = errno;
      throw ErrnoError(env, err, "userfaultfd", "",
                       err == EPERM ? "Kernel-mode faults need CAP_SYS_PTRACE (root) or vm.unprivileged_userfaultfd=1" : "");
    }
    struct uffdio_api api {};
    api.api = UFFD_API;
    struct uffdio_register reg {};
    reg.range.start = start;
    reg.range.len = length;
    reg.mode = UFFDIO_REGISTER_MODE_MISSING;
    if (ioctl(fd_, UFFDIO_API, &api) < 0 || ioctl(fd_, UFFDIO_REGISTER, &reg) < 0) {
      int err = errno;
      close(fd_);
      fd_ = -1;
      throw ErrnoError(env, err, "ioctl", "userfaultfd");
    }
    try {
      thread_ = std::thread([this] { Serve(); });
    } catch (const std::system_error &e) {
      close(fd_);
      fd_ = -1;
      throw ErrnoError(env, e.code().value(), "pthread_create", "", "The process is out of threads or memory");
    }
  }

  ~FaultHandler() override { Shutdown(); }

 private:
  // Answers missing-page faults until stopped; polls so that stop() is prompt.
  void Serve() {
    while (!stop_.load()) {
      struct pollfd pfd = {fd_, POLLIN, 0};
      if (poll(&pfd, 1, 20) <= 0) continue;
      struct uffd_msg msg;
      if (read(fd_, &msg, sizeof(msg)) != sizeof(msg)) continue;
      if (msg.event != UFFD_EVENT_PAGEFAULT) continue;
      struct uffdio_copy copy {};
      copy.dst = msg.arg.pagefault.address & ~static_cast<uint64_t>(page_ - 1);
      copy.src = reinterpret_cast<uintptr_t>(fill_.data());
      copy.len = page_;
      if (ioctl(fd_, UFFDIO_COPY, &copy) == 0 || errno == EEXIST) faults_++;
    }
  }

  void Shutdown() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  Napi::Value Stop(const Napi::CallbackInfo &info) {
    Shutdown();
    return Napi::Number::New(info.Env(), faults_.load());
  }

  Napi::Value Faults(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), faults_.load()); }

  int fd_ = -1;
  size_t page_ = 4096;
  std::vector<char> fill_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint32_t> faults_{0};
};

}  // namespace

Napi::Object InitUffd(Napi::Env env, Napi::Object exports) {
  exports.Set("FaultHandler", FaultHandler::Define(env));
  return exports;
}

}  // namespace guplab
