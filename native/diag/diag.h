// NETLINK_SOCK_DIAG translator (inet_diag): the kernel's table of TCP and UDP
// sockets as plain JS objects (SockDiagEntry in src/native/types.ts). Stateless
// and policy-free: which states and ports matter is the caller's; one call is one
// dump request (one family, one protocol) through NetlinkSocket.
#pragma once

#include <linux/netlink.h>
#include <napi.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

#include "../netlink/socket.h"

namespace netcg::diag {

// Which sockets a dump asks for. The kernel filters by family, protocol, state
// and (for listeners and UDP) local port itself; the same test runs on every
// reply too, so a kernel that ignored a field would give the same answer.
struct SockFilter {
  int af = AF_INET;
  uint8_t protocol = 0;  // IPPROTO_TCP or IPPROTO_UDP
  uint32_t states = 0;   // bit (1 << TCP_*) per state, e.g. 1 << TCP_LISTEN
  uint16_t port = 0;     // local port in host order; 0 = any
};

struct DecodedSocket {
  int af = AF_INET;
  uint8_t state = 0;
  std::string address;  // local address as text
  uint16_t port = 0;    // local port, host order
  uint32_t uid = 0;     // the socket's owner, in the user namespace of the asking socket
  uint32_t inode = 0;   // the socket's inode (0 for a socket without a file, e.g. a request)
};

// A SOCK_DIAG_BY_FAMILY reply of family `af` that matches `f`, else nullopt (wrong
// type or family, too short, another state or port). Never reads past the
// message or throws: the fuzz target drives it with arbitrary bytes.
std::optional<DecodedSocket> decodeSocket(const nlmsghdr* msg, const SockFilter& f);

// One dump through `s`, which must be a NETLINK_SOCK_DIAG socket.
Napi::Array sockDump(Napi::Env env, NetlinkSocket& s, const SockFilter& f);

}  // namespace netcg::diag
