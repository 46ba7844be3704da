// Routes (RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE) <-> RtRoute objects.
// Single-nexthop routes only: netcg never writes multipath routes, and a dump
// reports a multipath route without oif/gateway rather than guessing.
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

std::vector<mnl_attr_data_type> routeAttrTypes() {
  std::vector<mnl_attr_data_type> t(RTA_MAX + 1, MNL_TYPE_UNSPEC);
  t[RTA_TABLE] = MNL_TYPE_U32;
  t[RTA_DST] = MNL_TYPE_BINARY;  // length checked against the family in formatAddr
  t[RTA_OIF] = MNL_TYPE_U32;
  t[RTA_GATEWAY] = MNL_TYPE_BINARY;
  t[RTA_PREFSRC] = MNL_TYPE_BINARY;
  t[RTA_PRIORITY] = MNL_TYPE_U32;
  return t;
}

void putAddr(nlmsghdr* nlh, uint16_t type, int af, const std::string& text, const std::string& path) {
  const std::vector<uint8_t> bytes = parseAddr(af, text, path);
  mnl_attr_put(nlh, type, bytes.size(), bytes.data());
}

}  // namespace

std::optional<DecodedRoute> decodeRoute(const nlmsghdr* msg, int af, std::optional<uint32_t> table) {
  static const std::vector<mnl_attr_data_type> types = routeAttrTypes();
  if (msg->nlmsg_type != RTM_NEWROUTE) return std::nullopt;
  AttrIndex attrs(types);
  if (!attrs.parse(msg, sizeof(rtmsg))) return std::nullopt;
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(msg));
  if (rtm->rtm_family != af) return std::nullopt;
  // Cached clones (PMTU exceptions) are not configuration.
  if (rtm->rtm_flags & RTM_F_CLONED) return std::nullopt;
  DecodedRoute r;
  r.af = af;
  r.table = attrs[RTA_TABLE] ? mnl_attr_get_u32(attrs[RTA_TABLE]) : rtm->rtm_table;
  // Without NETLINK_GET_STRICT_CHK the kernel ignores any table filter in the
  // request and returns every table, so the filter is applied here.
  if (table && r.table != *table) return std::nullopt;
  r.dstLen = rtm->rtm_dst_len;
  r.dst = attrs[RTA_DST] ? formatAddr(af, attrs[RTA_DST]) : (af == AF_INET6 ? "::" : "0.0.0.0");
  if (r.dst.empty()) return std::nullopt;  // malformed RTA_DST: do not report a route we cannot describe
  if (attrs[RTA_OIF]) r.oif = mnl_attr_get_u32(attrs[RTA_OIF]);
  r.gateway = formatAddr(af, attrs[RTA_GATEWAY]);
  r.prefsrc = formatAddr(af, attrs[RTA_PREFSRC]);
  if (attrs[RTA_PRIORITY]) r.priority = mnl_attr_get_u32(attrs[RTA_PRIORITY]);
  r.scope = rtm->rtm_scope;
  r.protocol = rtm->rtm_protocol;
  r.type = rtm->rtm_type;
  return r;
}

void routeChange(NetlinkSocket& s, const Napi::Object& route, bool add) {
  const std::string path = "route";
  const int af = afFromFamily(getU32(route, "family", path), path);
  const uint32_t table = getU32(route, "table", path);
  const std::string dst = getString(route, "dst", path);
  const uint32_t dstLen = getU32(route, "dstLen", path);
  if (dstLen > addrLen(af) * 8) {
    throw InputError{path + ".dstLen", "must be at most " + std::to_string(addrLen(af) * 8) + ", got " +
                                           std::to_string(dstLen)};
  }
  const std::optional<uint32_t> oif = getOptU32(route, "oif", path);
  const std::optional<std::string> gateway = getOptString(route, "gateway", path);
  const std::optional<std::string> prefsrc = getOptString(route, "prefsrc", path);
  const std::optional<uint8_t> scope = getOptU8(route, "scope", path);
  const std::optional<uint8_t> protocol = getOptU8(route, "protocol", path);
  const std::optional<uint8_t> type = getOptU8(route, "type", path);
  const std::optional<uint32_t> priority = getOptU32(route, "priority", path);

  char buf[kRequestBufSize];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
  // EXCL: adding a route that exists is EEXIST, never a silent replace.
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
  nlh->nlmsg_seq = s.nextSeq();

  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = static_cast<uint8_t>(af);
  rtm->rtm_dst_len = static_cast<uint8_t>(dstLen);
  rtm->rtm_table = table < 256 ? static_cast<uint8_t>(table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
  if (add) {
    // Unset fields get the values `ip route add` would choose, so the same object
    // yields the same route through either backend: proto boot, unicast, and
    // link scope for a unicast route without a gateway (host scope for local).
    rtm->rtm_protocol = protocol.value_or(RTPROT_BOOT);
    rtm->rtm_type = type.value_or(RTN_UNICAST);
    uint8_t dfltScope = RT_SCOPE_UNIVERSE;
    if (rtm->rtm_type == RTN_LOCAL) {
      dfltScope = RT_SCOPE_HOST;
    } else if (rtm->rtm_type == RTN_UNICAST && !gateway) {
      dfltScope = RT_SCOPE_LINK;
    }
    rtm->rtm_scope = scope.value_or(dfltScope);
  } else {
    // On delete, 0 / RT_SCOPE_NOWHERE mean "any": only the fields given must match.
    rtm->rtm_protocol = protocol.value_or(RTPROT_UNSPEC);
    rtm->rtm_type = type.value_or(RTN_UNSPEC);
    rtm->rtm_scope = scope.value_or(RT_SCOPE_NOWHERE);
  }

  mnl_attr_put_u32(nlh, RTA_TABLE, table);
  if (dstLen > 0)
    putAddr(nlh, RTA_DST, af, dst, path + ".dst");
  else
    parseAddr(af, dst, path + ".dst");  // still reject a malformed default address
  if (oif) mnl_attr_put_u32(nlh, RTA_OIF, *oif);
  if (gateway) putAddr(nlh, RTA_GATEWAY, af, *gateway, path + ".gateway");
  if (prefsrc) putAddr(nlh, RTA_PREFSRC, af, *prefsrc, path + ".prefsrc");
  if (priority) mnl_attr_put_u32(nlh, RTA_PRIORITY, *priority);

  s.request(
      buf, nlh->nlmsg_len, nlh->nlmsg_seq, nlh->nlmsg_seq, [](const nlmsghdr*) {},
      add ? "rtnl.route.add" : "rtnl.route.del");
}

namespace {

// The dump request's header and attributes: the filter, for a kernel that
// honours it. Without strict checking the kernel would read these fields its
// own legacy way, so the request is then the bare family.
void putRouteFilter(nlmsghdr* nlh, rtmsg& h, const RouteFilter& f, bool strict) {
  h.rtm_family = static_cast<uint8_t>(f.af);
  if (!strict) return;
  if (f.table) {
    h.rtm_table = *f.table < 256 ? static_cast<uint8_t>(*f.table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
    mnl_attr_put_u32(nlh, RTA_TABLE, *f.table);
  }
  if (f.protocol) h.rtm_protocol = *f.protocol;
  if (f.type) h.rtm_type = *f.type;
  if (f.oif) mnl_attr_put_u32(nlh, RTA_OIF, *f.oif);
}

std::vector<DecodedRoute> dumpRoutes(NetlinkSocket& s, const RouteFilter& f) {
  try {
    return dumpAll<rtmsg>(
        s, RTM_GETROUTE, "rtnl.route.dump",
        [&](nlmsghdr* nlh, rtmsg& h) { putRouteFilter(nlh, h, f, s.strictChecking()); },
        [&](const nlmsghdr* msg) -> std::optional<DecodedRoute> {
          auto r = decodeRoute(msg, f.af, f.table);
          if (r && !f.matches(*r)) return std::nullopt;
          return r;
        });
  } catch (const NetlinkFailure& e) {
    // A filtered table that does not exist (ENOENT), a device that does not (ENODEV):
    // no route matches. Only a strict kernel answers so.
    if (s.strictChecking() && ((f.table && e.errnum == ENOENT) || (f.oif && e.errnum == ENODEV))) return {};
    throw;
  }
}

}  // namespace

Napi::Array routeDump(Napi::Env env, NetlinkSocket& s, const RouteFilter& filter) {
  const std::vector<DecodedRoute> routes = dumpRoutes(s, filter);
  Napi::Array out = Napi::Array::New(env, routes.size());
  for (size_t i = 0; i < routes.size(); ++i) {
    const DecodedRoute& r = routes[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("family", familyFromAf(r.af));
    o.Set("table", r.table);
    o.Set("dst", r.dst);
    o.Set("dstLen", r.dstLen);
    if (r.oif) o.Set("oif", *r.oif);
    if (!r.gateway.empty()) o.Set("gateway", r.gateway);
    if (!r.prefsrc.empty()) o.Set("prefsrc", r.prefsrc);
    o.Set("scope", r.scope);
    o.Set("protocol", r.protocol);
    o.Set("type", r.type);
    if (r.priority) o.Set("priority", *r.priority);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

}  // namespace netcg::rtnl
