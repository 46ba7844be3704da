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

// Which routes a dump asks for. A strictly checking kernel filters by all of
// these itself (rtm_table/RTA_TABLE, rtm_protocol, rtm_type, RTA_OIF); the
// same test runs on every reply too, so an older kernel that ignores the filter
// yields the same answer, only slower.
struct RouteFilter {
  int af = AF_INET;
  std::optional<uint32_t> table, oif;
  std::optional<uint8_t> protocol, type;
  bool matches(const DecodedRoute& r) const {
    return (!table || r.table == *table) && (!oif || r.oif == oif) &&
           (!protocol || r.protocol == *protocol) && (!type || r.type == *type);
  }
};

// Rules cannot be filtered by the kernel (fib_valid_dumprule_req accepts no
// filter), and are few: this one runs on the replies only.
struct RuleFilter {
  int af = AF_INET;
  std::optional<uint32_t> table;
  std::optional<uint8_t> protocol;
  bool matches(const DecodedRule& r) const {
    return (!table || r.table == *table) && (!protocol || r.protocol == protocol);
  }
};

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
