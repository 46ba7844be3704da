// flock(fd, exclusive, wait): advisory whole-file lock on an fd JS opened. netcg
// serializes concurrent applies with it; unlike a pid lockfile, the kernel drops
// the lock when the holder dies, so a killed apply never leaves a stale lock.
#include <sys/file.h>

#include <cerrno>

#include "../errors.h"
#include "proc.h"

namespace netcg::proc {

Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw makeInputError(env, "fd", "must be a file descriptor number");
  const int fd = info[0].As<Napi::Number>().Int32Value();
  const bool exclusive = info[1].ToBoolean().Value();
  const bool wait = info[2].ToBoolean().Value();
  const int op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  int rc;
  do {
    rc = flock(fd, op);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return Napi::Boolean::New(env, true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);  // held by someone else
  throw makeSysError(env, errno, "flock", "fd " + std::to_string(fd));
}

}  // namespace netcg::proc
