// One netlink dump request, shared by ruleDump, routeDump, linkDump and the
// sock_diag dump (diag/sock.cc): the request is the same in all (a GET with
// NLM_F_DUMP and a family header, plus the filter attributes a strictly checking
// kernel honours), only the header struct and the decoder differ.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../netlink/socket.h"
#include "attrs.h"

namespace netcg::rtnl {

// Sends `type` (RTM_GETRULE/GETROUTE/GETLINK) as a dump whose extra header is a
// zeroed `Header` prepared by `fill(nlh, header)` (which may add attributes),
// and returns every reply `decode` accepts (it returns nullopt for messages that
// are not ours to report). An interrupted dump is retried (NetlinkSocket::dump).
template <typename Header, typename Fill, typename Decode>
auto dumpAll(NetlinkSocket& s, uint16_t type, const char* op, Fill fill, Decode decode) {
  using Decoded = typename decltype(decode(static_cast<const nlmsghdr*>(nullptr)))::value_type;
  char buf[kRequestBufSize];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  fill(nlh, *static_cast<Header*>(mnl_nlmsg_put_extra_header(nlh, sizeof(Header))));
  std::vector<Decoded> out;
  s.dump(
      buf, nlh->nlmsg_len,
      [&](const nlmsghdr* msg) {
        if (auto d = decode(msg)) out.push_back(std::move(*d));
      },
      [&] { out.clear(); }, op);
  return out;
}

}  // namespace netcg::rtnl
