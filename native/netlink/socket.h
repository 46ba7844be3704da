// A netlink socket bound to one network namespace, with THE receive loop.
//
// Why a class: every request needs the same discipline (fresh sequence number,
// only the kernel's datagrams accepted, reply matched on seq and port id,
// NLMSG_ERROR turned into a typed error with the kernel's extended ACK,
// interrupted dumps retried, buffers sized and read back), and we want that
// written once, not once per message kind. Requests, dumps, nf_tables batches
// (nft/batch.cc) and the event monitor (netlink/monitor.cc) all read through
// NetlinkSocket::receive; what they do with a datagram is a Receiver.
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

// What went wrong on the wire: THE failure type of the native layer. Converted
// to the JS error class in errors.h.
struct NetlinkFailure {
  int errnum = 0;                // positive errno (EEXIST, ENOENT, ...)
  std::string op;                // e.g. "nft.commit", "rtnl.route.add"
  std::string extAckMsg;         // NLMSGERR_ATTR_MSG, empty when the kernel sent none
  int64_t extAckOffset = -1;     // NLMSGERR_ATTR_OFFS: byte offset into the failed request
  int64_t failedIndex = -1;      // index of the failed message in a batch, when known
  bool dumpInterrupted = false;  // NLM_F_DUMP_INTR seen (after the retries): the dump is inconsistent
  bool acksLost = false;         // ENOBUFS while reading acks: some acknowledgements were lost
  std::string detail;            // a sentence for the message, e.g. which limit to raise

  static NetlinkFailure of(int errnum, std::string op, std::string detail = "") {
    NetlinkFailure f;
    f.errnum = errnum;
    f.op = std::move(op);
    f.detail = std::move(detail);
    return f;
  }
};

// Callback for each data message of a reply (not NLMSG_DONE / NLMSG_ERROR).
using OnMessage = std::function<void(const nlmsghdr*)>;

// What the receive loop hands datagrams to. Only datagrams sent by the kernel
// (sender port 0) reach it: anyone privileged in the namespace may send to a
// netlink socket, and a forged reply must not be taken for the kernel's.
class Receiver {
 public:
  virtual ~Receiver() = default;
  // One datagram of `n` bytes at `data`, aligned as recv(2) leaves it.
  virtual void datagram(const char* data, size_t n) = 0;
  // ENOBUFS: the kernel dropped messages meant for this socket.
  virtual void overrun() = 0;
  // Stop reading (everything expected has arrived).
  virtual bool done() const = 0;
  // Block for more while not done; false: read only what is queued now.
  virtual bool waitForMore() const = 0;
};

// The receive loop's bookkeeping for one request or dump, without the socket:
// fed the reply datagram by datagram. Separate so that the code that walks what
// the kernel sends can be driven by the fuzz target (native/fuzz/) as well.
class ReplyReader : public Receiver {
 public:
  ReplyReader(uint32_t portId, uint32_t firstSeq, uint32_t lastSeq, bool isDump, std::string op,
              OnMessage onMessage = nullptr);
  // Walks every message of one datagram. Throws NetlinkFailure on a foreign or truncated reply.
  void feed(const char* data, size_t n, const OnMessage& onMessage);
  void datagram(const char* data, size_t n) override { feed(data, n, onMessage_); }
  void overrun() override;
  bool done() const override { return done_; }
  // After an error every reply is already queued: drain without blocking.
  bool waitForMore() const override { return !failed_; }
  bool failed() const { return failed_; }
  bool interrupted() const { return interrupted_; }
  // Once done (or drained after a failure): throws the first kernel error, the
  // first exception of onMessage, or the dump's interruption, in that order.
  void finish();

 private:
  uint32_t portId_, firstSeq_, lastSeq_;
  bool isDump_;
  std::string op_;
  OnMessage onMessage_;
  std::set<uint32_t> pending_;
  NetlinkFailure firstError_;
  // An exception from onMessage must not leave the rest of the reply unread.
  std::exception_ptr callbackError_;
  bool failed_ = false, done_ = false, interrupted_ = false, acksLost_ = false;
};

// Socket buffer sizes as the kernel granted them (getsockopt after setsockopt:
// the kernel doubles the request and caps it at net.core.[rw]mem_max unless the
// caller may use SO_*BUFFORCE).
struct BufferSizes {
  int rcvbuf = 0, sndbuf = 0;
};

class NetlinkSocket {
 public:
  // Opens a socket of `bus` (NETLINK_NETFILTER, NETLINK_ROUTE) inside the network
  // namespace at `netnsPath` (e.g. /run/netns/x); empty path = the caller's namespace.
  // The socket is created on a short-lived helper thread that enters the
  // namespace, so Node's own threads never change namespace. Enables
  // NETLINK_EXT_ACK, NETLINK_CAP_ACK, on rtnetlink NETLINK_GET_STRICT_CHK, and
  // grows the receive buffer. Throws NetlinkFailure on error.
  NetlinkSocket(int bus, const std::string& netnsPath);
  ~NetlinkSocket();
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  uint32_t portId() const;
  uint32_t nextSeq();  // monotonically increasing, never 0
  int fd() const;
  // The kernel checks dump requests strictly and honours their filters
  // (NETLINK_GET_STRICT_CHK, Linux 4.20+). Without it filters are ignored.
  bool strictChecking() const { return strict_; }
  const BufferSizes& buffers() const { return buffers_; }
  // Dump restarts after NLM_F_DUMP_INTR, and data messages received by dumps,
  // since the socket was opened (diagnostics: what a filter saved, what churn cost).
  uint64_t dumpRetries() const { return dumpRetries_; }
  uint64_t dumpMessages() const { return dumpMessages_; }

  using OnMessage = netcg::OnMessage;

  // Sends `len` bytes (one message) and reads replies until every sequence
  // number in [firstSeq, lastSeq] is acknowledged (requests must carry
  // NLM_F_ACK) or, for a dump, until NLMSG_DONE. The first NLMSG_ERROR with
  // errno != 0 becomes a NetlinkFailure (failedIndex = its seq - firstSeq). For
  // dumps, NLM_F_DUMP_INTR sets dumpInterrupted and throws after the dump is drained.
  void request(const void* buf, size_t len, uint32_t firstSeq, uint32_t lastSeq, const OnMessage& onMessage,
               const std::string& op);

  // A dump request (one message with NLM_F_DUMP) read to its end; when the
  // kernel flags it interrupted (NLM_F_DUMP_INTR, or ENOBUFS lost a part) it is
  // sent again with a fresh seq, at most kDumpAttempts times in all, after
  // `restart()` dropped what the caller collected. Then the failure carries
  // dumpInterrupted. Returns the number of retries.
  static constexpr int kDumpAttempts = 8;
  int dump(const void* buf, size_t len, const OnMessage& onMessage, const std::function<void()>& restart,
           const std::string& op);

  // Sends a datagram of `len` bytes (a batch) after growing the send buffer to
  // hold it and the receive buffer to `rcvbufHint`. An oversized batch fails
  // with EMSGSIZE naming the batch size, the granted limit and the sysctl to raise.
  void send(const void* buf, size_t len, size_t rcvbufHint, const std::string& op);

  // THE receive loop: hands every datagram the kernel queued for this socket to
  // `r` until r.done(), or, when r does not wait for more, until nothing is
  // queued; at most `maxDatagrams`. Peeks each datagram's size first so none is
  // truncated; drops datagrams not sent by the kernel. Returns how many it read.
  size_t receive(Receiver& r, const std::string& op, size_t maxDatagrams = SIZE_MAX);

  // Discards whatever is queued (replies left over from an earlier request that
  // ended in an error would otherwise be read as foreign replies to the next).
  void discardQueued();

  // Grows SO_RCVBUF or SO_SNDBUF to at least `bytes` (SO_*BUFFORCE first,
  // needs CAP_NET_ADMIN; else capped by net.core.[rw]mem_max) and reads back
  // what the kernel granted (the kernel doubles the request for its own
  // bookkeeping). Also sets a smaller size when asked (the monitor's tests do).
  int growBuffer(int which, size_t bytes);

 private:
  mnl_socket* nl_ = nullptr;
  uint32_t seq_ = 0;
  bool strict_ = false;
  BufferSizes buffers_;
  uint64_t dumpRetries_ = 0, dumpMessages_ = 0;
  std::vector<char> rxbuf_;  // grows to the kernel's largest datagram
};

}  // namespace netcg
