// Netlink notifications (multicast events) -> small flat records.
//
// Separate from the monitor (sockets, event loop, napi) so that the code that
// meets whatever the kernel multicasts can be driven without a socket, e.g. by
// a fuzz target. Each decoder returns nullopt for a message it does not
// describe; none reads past the message or throws.
#pragma once

#include <linux/netlink.h>

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace netcg::events {

// One event: ordered key/value pairs, turned into a plain JS object as is.
// Generic on purpose: the monitor reports what the kernel said; which events
// matter is the caller's decision.
using Value = std::variant<std::string, double, bool>;
using Event = std::vector<std::pair<std::string, Value>>;

// RTM_{NEW,DEL}{LINK,ADDR,ROUTE,RULE}: source link | addr | route | rule.
std::optional<Event> decodeRtnl(const nlmsghdr* msg);

// nf_tables notifications (NFNL_SUBSYS_NFTABLES): source nft, type newtable,
// delrule, newgen, ... with the table/chain/set names when the message has them.
std::optional<Event> decodeNft(const nlmsghdr* msg);

}  // namespace netcg::events
