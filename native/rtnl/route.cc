#include <cerrno>

#include "rtnl.h"

namespace netcg::rtnl {
// Skeleton: implemented in a following commit.
void routeChange(NetlinkSocket&, const Napi::Object&, bool add) {
  throw NetlinkFailure{ENOSYS, add ? "rtnl.route.add" : "rtnl.route.del"};
}
Napi::Array routeDump(Napi::Env, NetlinkSocket&, int, std::optional<uint32_t>) {
  throw NetlinkFailure{ENOSYS, "rtnl.route.dump"};
}
}  // namespace netcg::rtnl
