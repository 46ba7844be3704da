// Waiting for a child from spawnInCgroup through its pidfd:
//   pidfdWait(pidfd, nonblocking): waitid(P_PIDFD) — reaps it and reports how it ended.
//   PidfdWatch: a uv_poll on the pidfd in Node's own event loop. A pidfd becomes
//     readable when the process exits; Node's fs/net cannot watch such an fd,
//     so this is what lets JS learn of the exit without polling or a thread.
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <uv.h>

#include <cerrno>
#include <cmath>

#include "../errors.h"
#include "proc.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace netcg::proc {
namespace {

int pidfdArg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber())
    throw makeInputError(env, "pidfd", "must be a file descriptor number");
  const double d = info[0].As<Napi::Number>().DoubleValue();
  if (d < 0 || d > 2147483647.0 || std::floor(d) != d)
    throw makeInputError(env, "pidfd", "must be a file descriptor number");
  return static_cast<int>(d);
}

// Node names signals "SIGTERM"; so do we, so a wrapper can pass them straight on.
Napi::Value signalName(Napi::Env env, int sig) {
  const char* abbrev = sigabbrev_np(sig);
  if (abbrev == nullptr) return Napi::String::New(env, "SIG" + std::to_string(sig));
  return Napi::String::New(env, std::string("SIG") + abbrev);
}

class PidfdWatch : public Napi::ObjectWrap<PidfdWatch> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PidfdWatch",
                       {
                           InstanceMethod<&PidfdWatch::Close>("close"),
                           InstanceMethod<&PidfdWatch::Ref>("ref"),
                           InstanceMethod<&PidfdWatch::Unref>("unref"),
                       });
  }

  // new PidfdWatch(pidfd, onExit): calls onExit() once, when the process has
  // exited (not reaped: call pidfdWait then). Keeps the loop alive like a
  // ChildProcess does, unless unref()'d.
  explicit PidfdWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PidfdWatch>(info) {
    Napi::Env env = info.Env();
    const int fd = pidfdArg(info);
    if (info.Length() < 2 || !info[1].IsFunction()) throw makeInputError(env, "onExit", "must be a function");
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      throw makeSysError(env, EINVAL, "PidfdWatch", "no event loop");
    }
    poll_ = new uv_poll_t;
    const int rc = uv_poll_init(loop, poll_, fd);
    if (rc != 0) {
      delete poll_;
      poll_ = nullptr;
      throw makeSysError(env, -rc, "uv_poll_init", "pidfd " + std::to_string(fd));
    }
    poll_->data = this;
    uv_poll_start(poll_, UV_READABLE, &PidfdWatch::OnReadable);
    onExit_ = Napi::Persistent(info[1].As<Napi::Function>());
    // While watching, the JS object must outlive whatever the caller keeps.
    Napi::ObjectWrap<PidfdWatch>::Ref();
  }

  ~PidfdWatch() override { stop(); }

 private:
  static void OnReadable(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<PidfdWatch*>(handle->data);
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    Napi::FunctionReference cb = std::move(self->onExit_);
    self->stop();  // one exit per process: fire once
    // MakeCallback so promise jobs queued by the callback run afterwards; a
    // throw becomes the process's uncaughtException, as in any Node callback.
    try {
      cb.MakeCallback(env.Global(), {});
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  // Idempotent; releases the self-reference taken while watching.
  void stop() {
    if (poll_ == nullptr) return;
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
    onExit_.Reset();
    if (!finalizing_) Napi::ObjectWrap<PidfdWatch>::Unref();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    stop();
    return info.Env().Undefined();
  }

  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.This();
  }

  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.This();
  }

  void Finalize(Napi::Env) override { finalizing_ = true; }

  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference onExit_;
  bool finalizing_ = false;
};

}  // namespace

Napi::Function DefinePidfdWatch(Napi::Env env) { return PidfdWatch::Define(env); }

// pidfdWait(pidfd, nonblocking): waitid(P_PIDFD, WEXITED). Blocking by default
// (it blocks the event loop: use it after PidfdWatch fired, or nonblocking).
// The pidfd stays open; the caller closes it (fs.closeSync).
Napi::Value PidfdWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = pidfdArg(info);
  const bool nonblocking = info.Length() > 1 && info[1].ToBoolean().Value();
  // uv_poll (PidfdWatch) leaves the pidfd O_NONBLOCK, which turns a blocking
  // waitid into EAGAIN while the child runs: wait for readability ourselves.
  if (!nonblocking) {
    struct pollfd pfd {
      fd, POLLIN, 0
    };
    int ready;
    do ready = poll(&pfd, 1, -1);
    while (ready < 0 && errno == EINTR);
    if (ready < 0) {
      const int err = errno;
      throw makeSysError(env, err, "poll", "pidfd " + std::to_string(fd));
    }
  }
  siginfo_t si{};
  int rc;
  do
    rc = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(fd), &si,
                WEXITED | (nonblocking ? WNOHANG : 0));
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    const int err = errno;
    throw makeSysError(env, err, "waitid", "pidfd " + std::to_string(fd));
  }
  Napi::Object out = Napi::Object::New(env);
  if (si.si_pid == 0) {  // WNOHANG and still running
    out.Set("exited", false);
    return out;
  }
  out.Set("exited", true);
  out.Set("pid", si.si_pid);
  if (si.si_code == CLD_EXITED) {
    out.Set("code", si.si_status);
    out.Set("signal", env.Null());
  } else {  // CLD_KILLED or CLD_DUMPED
    out.Set("code", env.Null());
    out.Set("signal", signalName(env, si.si_status));
  }
  return out;
}

}  // namespace netcg::proc
