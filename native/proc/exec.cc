#include <cerrno>

#include "../errors.h"
#include "proc.h"

namespace netcg::proc {
// Skeleton: implemented in a following commit.
Napi::Value Exec(const Napi::CallbackInfo& info) {
  throw makeSysError(info.Env(), ENOSYS, "exec", "not implemented yet");
}
}  // namespace netcg::proc
