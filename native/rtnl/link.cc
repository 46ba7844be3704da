#include <cerrno>

#include "rtnl.h"

namespace netcg::rtnl {
// Skeleton: implemented in a following commit.
Napi::Array linkDump(Napi::Env, NetlinkSocket&) { throw NetlinkFailure{ENOSYS, "rtnl.link.dump"}; }
}  // namespace netcg::rtnl
