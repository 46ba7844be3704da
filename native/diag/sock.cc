// inet_diag dumps (SOCK_DIAG_BY_FAMILY with inet_diag_req_v2) -> SockDiagEntry
// objects: local address and port, state, owner uid and inode per socket.
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

#include <cstring>
#include <vector>

#include "../rtnl/dump.h"
#include "diag.h"

namespace netcg::diag {

std::optional<DecodedSocket> decodeSocket(const nlmsghdr* msg, const SockFilter& f) {
  if (msg->nlmsg_type != SOCK_DIAG_BY_FAMILY) return std::nullopt;
  if (msg->nlmsg_len < NLMSG_HDRLEN || mnl_nlmsg_get_payload_len(msg) < sizeof(inet_diag_msg))
    return std::nullopt;
  inet_diag_msg m;  // copied: the payload need not be aligned for the struct
  std::memcpy(&m, mnl_nlmsg_get_payload(msg), sizeof m);
  if (m.idiag_family != f.af || m.idiag_state >= 32 || !(f.states & (1u << m.idiag_state)))
    return std::nullopt;
  DecodedSocket d;
  d.af = f.af;
  d.state = m.idiag_state;
  d.port = ntohs(m.id.idiag_sport);
  if (f.port != 0 && d.port != f.port) return std::nullopt;
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(f.af, m.id.idiag_src, text, sizeof text) == nullptr) return std::nullopt;
  d.address = text;
  d.uid = m.idiag_uid;
  d.inode = m.idiag_inode;
  return d;
}

Napi::Array sockDump(Napi::Env env, NetlinkSocket& s, const SockFilter& f) {
  const auto sockets = rtnl::dumpAll<inet_diag_req_v2>(
      s, SOCK_DIAG_BY_FAMILY, "sockdiag.dump",
      [&](nlmsghdr*, inet_diag_req_v2& r) {
        r.sdiag_family = uint8_t(f.af);
        r.sdiag_protocol = f.protocol;
        r.idiag_states = f.states;
        r.id.idiag_sport = htons(f.port);  // listeners and UDP: filtered by the kernel
        r.id.idiag_cookie[0] = r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
      },
      [&](const nlmsghdr* msg) { return decodeSocket(msg, f); });

  Napi::Array out = Napi::Array::New(env, sockets.size());
  for (size_t i = 0; i < sockets.size(); ++i) {
    const DecodedSocket& d = sockets[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("family", d.af == AF_INET6 ? 6 : 4);
    o.Set("protocol", f.protocol);
    o.Set("state", d.state);
    o.Set("address", d.address);
    o.Set("port", d.port);
    o.Set("uid", d.uid);
    o.Set("inode", d.inode);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

}  // namespace netcg::diag
