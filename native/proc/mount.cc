#include <cerrno>

#include "../errors.h"
#include "proc.h"

namespace netcg::proc {
// Skeleton: implemented in a following commit.
Napi::Value Mount(const Napi::CallbackInfo& info) {
  throw makeSysError(info.Env(), ENOSYS, "mount", "not implemented yet");
}
}  // namespace netcg::proc
