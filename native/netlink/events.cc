// Decoding of rtnetlink and nf_tables notifications into flat event records.
#include "netlink/events.h"

#include <arpa/inet.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>

#include "nft/nft.h"
#include "rtnl/attrs.h"

namespace netcg::events {
namespace {

using rtnl::AttrIndex;

std::vector<mnl_attr_data_type> typesOf(size_t max,
                                        std::initializer_list<std::pair<int, mnl_attr_data_type>> known) {
  std::vector<mnl_attr_data_type> t(max + 1, MNL_TYPE_UNSPEC);
  for (auto [type, kind] : known) t[size_t(type)] = kind;
  return t;
}

// The kernel reports AF_INET / AF_INET6; events say 4 / 6 like RtRule/RtRoute.
std::optional<double> family46(int af) {
  if (af == AF_INET) return 4;
  if (af == AF_INET6) return 6;
  return std::nullopt;
}

const char* newOrDel(uint16_t type, uint16_t newType) { return type == newType ? "new" : "del"; }

std::optional<Event> link(const nlmsghdr* msg) {
  static const auto types = typesOf(IFLA_MAX, {{IFLA_IFNAME, MNL_TYPE_NUL_STRING}});
  AttrIndex attrs(types);
  if (!attrs.parse(msg, sizeof(ifinfomsg))) return std::nullopt;
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(msg));
  Event e{{"source", std::string("link")},
          {"type", std::string(newOrDel(msg->nlmsg_type, RTM_NEWLINK))},
          {"ifindex", double(ifi->ifi_index)}};
  if (attrs[IFLA_IFNAME]) e.emplace_back("ifname", std::string(mnl_attr_get_str(attrs[IFLA_IFNAME])));
  e.emplace_back("up", (ifi->ifi_flags & IFF_UP) != 0);
  e.emplace_back("running", (ifi->ifi_flags & IFF_RUNNING) != 0);
  return e;
}

std::optional<Event> addr(const nlmsghdr* msg) {
  static const auto types = typesOf(IFA_MAX, {{IFA_ADDRESS, MNL_TYPE_BINARY}, {IFA_LOCAL, MNL_TYPE_BINARY}});
  AttrIndex attrs(types);
  if (!attrs.parse(msg, sizeof(ifaddrmsg))) return std::nullopt;
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(msg));
  auto family = family46(ifa->ifa_family);
  if (!family) return std::nullopt;
  Event e{{"source", std::string("addr")},
          {"type", std::string(newOrDel(msg->nlmsg_type, RTM_NEWADDR))},
          {"ifindex", double(ifa->ifa_index)},
          {"family", *family}};
  // IFA_LOCAL is the interface's own address on point-to-point IPv4 links.
  std::string text =
      rtnl::formatAddr(ifa->ifa_family, attrs[IFA_LOCAL] ? attrs[IFA_LOCAL] : attrs[IFA_ADDRESS]);
  if (!text.empty()) e.emplace_back("address", text);
  e.emplace_back("prefixLen", double(ifa->ifa_prefixlen));
  return e;
}

std::optional<Event> route(const nlmsghdr* msg) {
  static const auto types = typesOf(RTA_MAX, {{RTA_TABLE, MNL_TYPE_U32},
                                              {RTA_DST, MNL_TYPE_BINARY},
                                              {RTA_OIF, MNL_TYPE_U32},
                                              {RTA_PRIORITY, MNL_TYPE_U32}});
  AttrIndex attrs(types);
  if (!attrs.parse(msg, sizeof(rtmsg))) return std::nullopt;
  const auto* rt = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(msg));
  auto family = family46(rt->rtm_family);
  if (!family || (rt->rtm_flags & RTM_F_CLONED)) return std::nullopt;
  // rtm_table is 8 bits; RTA_TABLE carries the real (32-bit) number.
  const uint32_t table = attrs[RTA_TABLE] ? mnl_attr_get_u32(attrs[RTA_TABLE]) : rt->rtm_table;
  Event e{{"source", std::string("route")},
          {"type", std::string(newOrDel(msg->nlmsg_type, RTM_NEWROUTE))},
          {"family", *family},
          {"table", double(table)}};
  std::string dst = rtnl::formatAddr(rt->rtm_family, attrs[RTA_DST]);
  e.emplace_back("dst", dst.empty() ? std::string(rt->rtm_family == AF_INET6 ? "::" : "0.0.0.0") : dst);
  e.emplace_back("dstLen", double(rt->rtm_dst_len));
  e.emplace_back("protocol", double(rt->rtm_protocol));
  e.emplace_back("routeType", double(rt->rtm_type));
  if (attrs[RTA_OIF]) e.emplace_back("oif", double(mnl_attr_get_u32(attrs[RTA_OIF])));
  return e;
}

std::optional<Event> rule(const nlmsghdr* msg) {
  static const auto types = typesOf(FRA_MAX, {{FRA_TABLE, MNL_TYPE_U32},
                                              {FRA_PRIORITY, MNL_TYPE_U32},
                                              {FRA_FWMARK, MNL_TYPE_U32},
                                              {FRA_PROTOCOL, MNL_TYPE_U8}});
  AttrIndex attrs(types);
  if (!attrs.parse(msg, sizeof(fib_rule_hdr))) return std::nullopt;
  const auto* fr = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(msg));
  auto family = family46(fr->family);
  if (!family) return std::nullopt;
  const uint32_t table = attrs[FRA_TABLE] ? mnl_attr_get_u32(attrs[FRA_TABLE]) : fr->table;
  Event e{{"source", std::string("rule")},
          {"type", std::string(newOrDel(msg->nlmsg_type, RTM_NEWRULE))},
          {"family", *family},
          {"table", double(table)}};
  if (attrs[FRA_PRIORITY]) e.emplace_back("priority", double(mnl_attr_get_u32(attrs[FRA_PRIORITY])));
  if (attrs[FRA_FWMARK]) e.emplace_back("fwmark", double(mnl_attr_get_u32(attrs[FRA_FWMARK])));
  if (attrs[FRA_PROTOCOL]) e.emplace_back("protocol", double(mnl_attr_get_u8(attrs[FRA_PROTOCOL])));
  return e;
}

// NFT_MSG_* -> the name nft(8) monitor would use, lower case.
const char* nftTypeName(uint16_t msg) {
  switch (msg) {
    case NFT_MSG_NEWTABLE:
      return "newtable";
    case NFT_MSG_DELTABLE:
      return "deltable";
    case NFT_MSG_NEWCHAIN:
      return "newchain";
    case NFT_MSG_DELCHAIN:
      return "delchain";
    case NFT_MSG_NEWRULE:
      return "newrule";
    case NFT_MSG_DELRULE:
      return "delrule";
    case NFT_MSG_NEWSET:
      return "newset";
    case NFT_MSG_DELSET:
      return "delset";
    case NFT_MSG_NEWSETELEM:
      return "newsetelem";
    case NFT_MSG_DELSETELEM:
      return "delsetelem";
    case NFT_MSG_NEWGEN:
      return "newgen";
    case NFT_MSG_NEWOBJ:
      return "newobj";
    case NFT_MSG_DELOBJ:
      return "delobj";
    case NFT_MSG_NEWFLOWTABLE:
      return "newflowtable";
    case NFT_MSG_DELFLOWTABLE:
      return "delflowtable";
    default:
      return nullptr;
  }
}

// The attribute holding the object's own name, per message kind (all kinds put
// the table name in attribute 1).
int nameAttr(uint16_t msg) {
  switch (msg) {
    case NFT_MSG_NEWCHAIN:
    case NFT_MSG_DELCHAIN:
      return NFTA_CHAIN_NAME;
    case NFT_MSG_NEWRULE:
    case NFT_MSG_DELRULE:
      return NFTA_RULE_CHAIN;
    case NFT_MSG_NEWSET:
    case NFT_MSG_DELSET:
      return NFTA_SET_NAME;
    case NFT_MSG_NEWSETELEM:
    case NFT_MSG_DELSETELEM:
      return NFTA_SET_ELEM_LIST_SET;
    default:
      return -1;
  }
}

const char* nameKey(uint16_t msg) {
  switch (msg) {
    case NFT_MSG_NEWCHAIN:
    case NFT_MSG_DELCHAIN:
    case NFT_MSG_NEWRULE:
    case NFT_MSG_DELRULE:
      return "chain";
    default:
      return "set";
  }
}

}  // namespace

std::optional<Event> decodeRtnl(const nlmsghdr* msg) {
  switch (msg->nlmsg_type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
      return link(msg);
    case RTM_NEWADDR:
    case RTM_DELADDR:
      return addr(msg);
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
      return route(msg);
    case RTM_NEWRULE:
    case RTM_DELRULE:
      return rule(msg);
    default:
      return std::nullopt;
  }
}

std::optional<Event> decodeNft(const nlmsghdr* msg) {
  if (NFNL_SUBSYS_ID(msg->nlmsg_type) != NFNL_SUBSYS_NFTABLES) return std::nullopt;
  const uint16_t kind = NFNL_MSG_TYPE(msg->nlmsg_type);
  const char* type = nftTypeName(kind);
  if (type == nullptr) return std::nullopt;
  // Attribute numbers overlap between kinds, so each kind validates its own.
  const int name = nameAttr(kind);
  std::vector<mnl_attr_data_type> types(8, MNL_TYPE_UNSPEC);
  if (kind == NFT_MSG_NEWGEN) {
    types[NFTA_GEN_ID] = MNL_TYPE_U32;
    types[NFTA_GEN_PROC_PID] = MNL_TYPE_U32;
    types[NFTA_GEN_PROC_NAME] = MNL_TYPE_NUL_STRING;
  } else {
    types[1] = MNL_TYPE_NUL_STRING;  // NFTA_{TABLE_NAME,CHAIN_TABLE,RULE_TABLE,SET_TABLE,...}
    if (name > 0) types[size_t(name)] = MNL_TYPE_NUL_STRING;
  }
  AttrIndex attrs(types);
  if (!attrs.parse(msg, sizeof(nfgenmsg))) return std::nullopt;
  const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(msg));
  Event e{{"source", std::string("nft")}, {"type", std::string(type)}};
  if (kind == NFT_MSG_NEWGEN) {
    if (attrs[NFTA_GEN_ID]) e.emplace_back("genid", double(ntohl(mnl_attr_get_u32(attrs[NFTA_GEN_ID]))));
    if (attrs[NFTA_GEN_PROC_PID])
      e.emplace_back("pid", double(ntohl(mnl_attr_get_u32(attrs[NFTA_GEN_PROC_PID]))));
    if (attrs[NFTA_GEN_PROC_NAME])
      e.emplace_back("comm", std::string(mnl_attr_get_str(attrs[NFTA_GEN_PROC_NAME])));
    return e;
  }
  if (const char* fam = nft::familyName(nfg->nfgen_family)) e.emplace_back("family", std::string(fam));
  if (attrs[1]) e.emplace_back("table", std::string(mnl_attr_get_str(attrs[1])));
  if (name > 0 && attrs[size_t(name)])
    e.emplace_back(nameKey(kind), std::string(mnl_attr_get_str(attrs[size_t(name)])));
  return e;
}

}  // namespace netcg::events
