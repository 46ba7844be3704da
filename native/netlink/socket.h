// A netlink socket bound to one network namespace, with a strict receive loop.
//
// Why a class: every request needs the same discipline (fresh sequence number,
// reply matched on seq and port id, NLMSG_ERROR turned into a typed error with the
// kernel's extended ACK, NLM_F_DUMP_INTR reported so the caller can retry), and we
// want that written once, not once per message kind.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace netcg {

// What went wrong on the wire. Converted to the JS error class in errors.h.
struct NetlinkFailure {
  int errnum = 0;                // positive errno (EEXIST, ENOENT, ...)
  std::string op;                // e.g. "nft.commit", "rtnl.route.add"
  std::string extAckMsg;         // NLMSGERR_ATTR_MSG, empty when the kernel sent none
  int64_t extAckOffset = -1;     // NLMSGERR_ATTR_OFFS: byte offset into the failed request
  int64_t failedIndex = -1;      // index of the failed message in a batch, when known
  bool dumpInterrupted = false;  // NLM_F_DUMP_INTR seen: the dump is inconsistent
};

// Callback for each data message of a reply (not NLMSG_DONE / NLMSG_ERROR).
using OnMessage = std::function<void(const nlmsghdr*)>;

// The receive loop's bookkeeping for one request, without the socket: fed the
// reply datagram by datagram. Separate so that the code that walks what the
// kernel sends can be driven by the fuzz target (native/fuzz/) as well.
class ReplyReader {
 public:
  ReplyReader(uint32_t portId, uint32_t firstSeq, uint32_t lastSeq, bool isDump, std::string op);
  // Walks every message of one datagram of `n` bytes at `data` (aligned as
  // recv(2) leaves it). Throws NetlinkFailure on a foreign or truncated reply.
  void feed(const char* data, size_t n, const OnMessage& onMessage);
  bool done() const { return done_; }
  bool failed() const { return failed_; }
  // Once done (or drained after a failure): throws the first kernel error, the
  // first exception of onMessage, or the dump's interruption, in that order.
  void finish();

 private:
  uint32_t portId_, firstSeq_, lastSeq_;
  bool isDump_;
  std::string op_;
  std::set<uint32_t> pending_;
  NetlinkFailure firstError_;
  // An exception from onMessage must not leave the rest of the reply unread.
  std::exception_ptr callbackError_;
  bool failed_ = false, done_ = false, interrupted_ = false;
};

class NetlinkSocket {
 public:
  // Opens a socket of `bus` (NETLINK_NETFILTER, NETLINK_ROUTE) inside the network
  // namespace at `netnsPath` (e.g. /run/netns/x); empty path = the caller's namespace.
  // Enables NETLINK_EXT_ACK and NETLINK_CAP_ACK and grows the receive buffer.
  // Throws NetlinkFailure on error.
  NetlinkSocket(int bus, const std::string& netnsPath);
  ~NetlinkSocket();
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  uint32_t portId() const;
  uint32_t nextSeq();  // monotonically increasing, never 0

  using OnMessage = netcg::OnMessage;

  // Sends `len` bytes (one message or a whole batch) and reads replies until every
  // sequence number in [firstSeq, lastSeq] is acknowledged (requests must carry
  // NLM_F_ACK) or, for a dump, until NLMSG_DONE. Any reply with a foreign seq or
  // port id is an error (EPROTO). The first NLMSG_ERROR with errno != 0 becomes a
  // NetlinkFailure (failedIndex = its seq - firstSeq). For dumps, NLM_F_DUMP_INTR
  // on any part sets dumpInterrupted and throws after the dump is drained.
  void request(const void* buf, size_t len, uint32_t firstSeq, uint32_t lastSeq, const OnMessage& onMessage,
               const std::string& op);

  int fd() const;

 private:
  mnl_socket* nl_ = nullptr;
  uint32_t seq_ = 0;
  std::vector<char> rxbuf_;  // grows to the kernel's largest dump chunk
};

}  // namespace netcg
