// exec(file, argv, env?): the launcher's `exec "$@"`. The program must start as
// it would from a shell, so first undo what Node changed in this process: Node
// ignores SIGPIPE and installs handlers (an ignored signal stays ignored across
// execve), may block signals, and libuv puts stdio pipes/ttys in O_NONBLOCK mode,
// which lives on the shared open file description and confuses ordinary programs.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "../errors.h"
#include "cstrings.h"
#include "proc.h"
#include "signals.h"

namespace netcg::proc {
namespace {

// What we changed, so a failed exec (ENOENT, EACCES) gives Node back a working
// process: with SIGPIPE at its default, a later write to a closed pipe would kill it.
struct ProcessState {
  std::vector<std::pair<int, struct sigaction>> actions;
  sigset_t mask;
  int stdioFlags[3] = {-1, -1, -1};    // F_GETFL: O_NONBLOCK
  int stdioFdFlags[3] = {-1, -1, -1};  // F_GETFD: FD_CLOEXEC
};

ProcessState resetForExec() {
  ProcessState saved;
  // Block everything first: no handler may run halfway through the reset.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved.mask);

  // Only the ignored ones: execve resets the caught ones by itself.
  resetDispositionsForExec(
      false, [&](int sig, const struct sigaction& old) { saved.actions.emplace_back(sig, old); });

  for (int fd = 0; fd <= 2; ++fd) {
    const int flags = fcntl(fd, F_GETFL);
    saved.stdioFlags[fd] = flags;
    if (flags >= 0 && (flags & O_NONBLOCK)) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    const int fdFlags = fcntl(fd, F_GETFD);
    saved.stdioFdFlags[fd] = fdFlags;
    if (fdFlags >= 0 && (fdFlags & FD_CLOEXEC)) fcntl(fd, F_SETFD, fdFlags & ~FD_CLOEXEC);
  }

  // The mask survives execve, so the program must get an empty one.
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
  return saved;
}

void restoreAfterFailedExec(const ProcessState& saved) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, nullptr);
  for (const auto& [sig, action] : saved.actions) sigaction(sig, &action, nullptr);
  for (int fd = 0; fd <= 2; ++fd) {
    if (saved.stdioFlags[fd] >= 0) fcntl(fd, F_SETFL, saved.stdioFlags[fd]);
    if (saved.stdioFdFlags[fd] >= 0) fcntl(fd, F_SETFD, saved.stdioFdFlags[fd]);
  }
  pthread_sigmask(SIG_SETMASK, &saved.mask, nullptr);
}

}  // namespace

// argv is the whole argument vector including argv[0], as for execvp(3); an
// empty array means [file]. With `env`, the program gets exactly that
// environment (execvpe); PATH lookup still uses this process's PATH.
Napi::Value Exec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string file = cString(env, info[0], "file");
  if (!info[1].IsArray()) throw makeInputError(env, "argv", "must be an array of strings");
  Napi::Array argvJs = info[1].As<Napi::Array>();
  std::vector<std::string> argv;
  for (uint32_t i = 0; i < argvJs.Length(); ++i) {
    argv.push_back(cString(env, argvJs.Get(i), "argv[" + std::to_string(i) + "]"));
  }
  if (argv.empty()) argv.push_back(file);

  const bool hasEnv = info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNull();
  std::vector<std::string> envp;
  if (hasEnv) {
    if (!info[2].IsObject()) throw makeInputError(env, "env", "must be an object of strings");
    Napi::Object envJs = info[2].As<Napi::Object>();
    Napi::Array keys = envJs.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      const std::string key = cString(env, keys.Get(i), "env");
      if (key.empty() || key.find('=') != std::string::npos) {
        throw makeInputError(env, "env." + key, "is not a valid variable name");
      }
      envp.push_back(key + "=" + cString(env, envJs.Get(key), "env." + key));
    }
  }

  std::vector<char*> argvPtrs = cPointers(argv);
  std::vector<char*> envPtrs = cPointers(envp);

  const ProcessState saved = resetForExec();
  if (hasEnv) {
    execvpe(file.c_str(), argvPtrs.data(), envPtrs.data());
  } else {
    execvp(file.c_str(), argvPtrs.data());
  }
  const int err = errno;  // exec returned: it failed
  restoreAfterFailedExec(saved);
  throw makeSysError(env, err, "exec", file);
}

}  // namespace netcg::proc
