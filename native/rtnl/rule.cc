#include <cerrno>

#include "rtnl.h"

namespace netcg::rtnl {
// Skeleton: implemented in a following commit.
void ruleChange(NetlinkSocket&, const Napi::Object&, bool add) {
  throw NetlinkFailure{ENOSYS, add ? "rtnl.rule.add" : "rtnl.rule.del"};
}
Napi::Array ruleDump(Napi::Env, NetlinkSocket&, int) { throw NetlinkFailure{ENOSYS, "rtnl.rule.dump"}; }
}  // namespace netcg::rtnl
