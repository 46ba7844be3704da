// Links (RTM_GETLINK dump) -> RtLink objects. Read-only: netcg needs interface
// indexes and names to route via `via`, never to create or change links.
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <string>
#include <vector>

#include "attrs.h"
#include "decode.h"
#include "dump.h"
#include "rtnl.h"

namespace netcg::rtnl {
namespace {

struct LinkAttrTypes {
  std::vector<mnl_attr_data_type> link = std::vector<mnl_attr_data_type>(IFLA_MAX + 1, MNL_TYPE_UNSPEC);
  std::vector<mnl_attr_data_type> info = std::vector<mnl_attr_data_type>(IFLA_INFO_MAX + 1, MNL_TYPE_UNSPEC);
  LinkAttrTypes() {
    link[IFLA_IFNAME] = MNL_TYPE_NUL_STRING;
    link[IFLA_MTU] = MNL_TYPE_U32;
    link[IFLA_LINKINFO] = MNL_TYPE_NESTED;
    info[IFLA_INFO_KIND] = MNL_TYPE_NUL_STRING;
  }
};

}  // namespace

std::optional<DecodedLink> decodeLink(const nlmsghdr* msg) {
  static const LinkAttrTypes types;
  if (msg->nlmsg_type != RTM_NEWLINK) return std::nullopt;
  AttrIndex attrs(types.link);
  if (!attrs.parse(msg, sizeof(ifinfomsg))) return std::nullopt;
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(msg));
  if (ifi->ifi_index <= 0 || !attrs[IFLA_IFNAME]) return std::nullopt;
  DecodedLink l;
  l.index = static_cast<uint32_t>(ifi->ifi_index);
  l.name = mnl_attr_get_str(attrs[IFLA_IFNAME]);
  l.flags = ifi->ifi_flags;
  if (attrs[IFLA_MTU]) l.mtu = mnl_attr_get_u32(attrs[IFLA_MTU]);
  AttrIndex info(types.info);
  if (info.parseNested(attrs[IFLA_LINKINFO]) && info[IFLA_INFO_KIND]) {
    l.kind = mnl_attr_get_str(info[IFLA_INFO_KIND]);
  }
  return l;
}

Napi::Array linkDump(Napi::Env env, NetlinkSocket& s) {
  const auto links = dumpAll<ifinfomsg>(
      s, RTM_GETLINK, "rtnl.link.dump", [](nlmsghdr*, ifinfomsg& h) { h.ifi_family = AF_UNSPEC; },
      [](const nlmsghdr* msg) { return decodeLink(msg); });

  Napi::Array out = Napi::Array::New(env, links.size());
  for (size_t i = 0; i < links.size(); ++i) {
    const DecodedLink& l = links[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", l.index);
    o.Set("name", l.name);
    o.Set("flags", l.flags);
    o.Set("up", (l.flags & IFF_UP) != 0);
    o.Set("mtu", l.mtu);
    if (!l.kind.empty()) o.Set("kind", l.kind);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

}  // namespace netcg::rtnl
