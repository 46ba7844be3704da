// rtnetlink dump replies -> plain structs, one reply message at a time.
//
// Why separate from the dump functions: these are the code that meets whatever
// the kernel sends, so they must be drivable without a socket or napi — by
// ruleDump/routeDump/linkDump and by the fuzz target (native/fuzz/). Each
// returns nullopt for a message that is not one of ours to report (wrong type or
// family, too short, missing or malformed key attributes); none reads past the
// message or throws.
#pragma once

#include <linux/netlink.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

namespace netcg::rtnl {

struct DecodedRule {
  int family = 4;
  uint32_t table = 0;
  std::string action;
  bool invert = false;
  uint32_t priority = 0;
  std::optional<uint32_t> fwmark, fwmask;
  std::optional<uint8_t> protocol;
};
// An RTM_NEWRULE of address family `af` (AF_INET/AF_INET6).
std::optional<DecodedRule> decodeRule(const nlmsghdr* msg, int af);

struct DecodedRoute {
  int af = AF_INET;
  uint32_t table = 0;
  std::string dst;
  uint8_t dstLen = 0;
  std::optional<uint32_t> oif, priority;
  std::string gateway, prefsrc;
  uint8_t scope = 0, protocol = 0, type = 0;
};
// An RTM_NEWROUTE of family `af`, in `table` when given; cached clones are skipped.
std::optional<DecodedRoute> decodeRoute(const nlmsghdr* msg, int af, std::optional<uint32_t> table);

struct DecodedLink {
  uint32_t index = 0;
  std::string name;
  uint32_t flags = 0;
  uint32_t mtu = 0;
  std::string kind;
};
// An RTM_NEWLINK with an index and a name.
std::optional<DecodedLink> decodeLink(const nlmsghdr* msg);

}  // namespace netcg::rtnl
