// One netlink socket inside one network namespace, with THE receive loop.
#include "netlink/socket.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <exception>
#include <set>
#include <system_error>
#include <thread>

#include "netlink/ack.h"

namespace netcg {

namespace {

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

// A dump is paced by our reads; a batch's acks are sized per batch (send()).
// 8 MiB is what a monitor needs to ride out a burst of notifications.
constexpr size_t kInitialRcvbuf = 8 << 20;
// netlink_sendmsg refuses a datagram longer than sk_sndbuf minus this.
constexpr size_t kSndbufOverhead = 32;

// Closes an fd on every path out of a scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// socket(2) in the namespace at `path`. A socket belongs to the namespace it is
// created in, forever; setns(2) moves only the calling thread, so a helper
// thread enters the namespace, creates the socket and exits: Node's threads
// never change namespace (as proc/sysctl.cc does for /proc/sys).
int socketIn(int bus, const std::string& path) {
  if (path.empty()) {
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, bus);
    if (fd < 0) throw NetlinkFailure::of(errno, "netlink.open");
    return fd;
  }
  Fd ns;
  ns.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns.fd < 0) throw NetlinkFailure::of(errno, "netns.open " + path);
  int fd = -1, err = 0;
  const char* step = "netns.setns ";
  try {
    std::thread helper([&] {
      if (::setns(ns.fd, CLONE_NEWNET) != 0) {
        err = errno;
        return;
      }
      step = "netlink.open in ";
      fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, bus);
      if (fd < 0) err = errno;
    });
    helper.join();
  } catch (const std::system_error& e) {  // no thread could be started
    throw NetlinkFailure::of(e.code().value() != 0 ? e.code().value() : EAGAIN, "netlink.open thread");
  }
  if (fd < 0) throw NetlinkFailure::of(err, step + path);
  return fd;
}

void setFlag(int fd, int option) {
  int one = 1;
  setsockopt(fd, SOL_NETLINK, option, &one, sizeof one);
}

}  // namespace

NetlinkSocket::NetlinkSocket(int bus, const std::string& netnsPath) {
  Fd raw;
  raw.fd = socketIn(bus, netnsPath);
  nl_ = mnl_socket_fdopen(raw.fd);
  if (nl_ == nullptr) throw NetlinkFailure::of(errno != 0 ? errno : ENOMEM, "netlink.open");
  raw.fd = -1;  // owned by nl_ now
  if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mnl_socket_close(nl_);
    nl_ = nullptr;
    throw NetlinkFailure::of(e, "netlink.bind");
  }
  const int sock = fd();
  setFlag(sock, NETLINK_EXT_ACK);
  setFlag(sock, NETLINK_CAP_ACK);
  if (bus == NETLINK_ROUTE) {
    int one = 1;
    strict_ = setsockopt(sock, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one) == 0;
  }
  growBuffer(SO_RCVBUF, kInitialRcvbuf);
  int sndbuf = 0;
  socklen_t sl = sizeof sndbuf;
  if (getsockopt(sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) == 0) buffers_.sndbuf = sndbuf;
  rxbuf_.resize(32768);  // grows on demand (see receive)
  seq_ = static_cast<uint32_t>(::time(nullptr));
}

NetlinkSocket::~NetlinkSocket() {
  if (nl_ != nullptr) mnl_socket_close(nl_);
}

uint32_t NetlinkSocket::portId() const { return mnl_socket_get_portid(nl_); }

uint32_t NetlinkSocket::nextSeq() {
  if (++seq_ == 0) ++seq_;
  return seq_;
}

int NetlinkSocket::fd() const { return mnl_socket_get_fd(nl_); }

int NetlinkSocket::growBuffer(int which, size_t bytes) {
  const int sock = fd();
  const int want = int(std::min<size_t>(bytes, INT_MAX / 2));
  const int force = which == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
  // *FORCE ignores net.core.[rw]mem_max but needs CAP_NET_ADMIN; else the plain
  // option, which the kernel caps at the sysctl.
  if (setsockopt(sock, SOL_SOCKET, force, &want, sizeof want) != 0)
    setsockopt(sock, SOL_SOCKET, which, &want, sizeof want);
  int granted = 0;
  socklen_t len = sizeof granted;
  if (getsockopt(sock, SOL_SOCKET, which, &granted, &len) != 0) granted = 0;
  (which == SO_RCVBUF ? buffers_.rcvbuf : buffers_.sndbuf) = granted;
  return granted;
}

size_t NetlinkSocket::receive(Receiver& r, const std::string& op, size_t maxDatagrams) {
  const int sock = fd();
  size_t count = 0;
  while (!r.done() && count < maxDatagrams) {
    const int flags = r.waitForMore() ? 0 : MSG_DONTWAIT;
    // Peek the size first so a datagram larger than our buffer is never truncated.
    ssize_t n = ::recv(sock, nullptr, 0, MSG_PEEK | MSG_TRUNC | flags);
    sockaddr_nl from{};
    if (n >= 0) {
      if (size_t(n) > rxbuf_.size()) rxbuf_.resize(size_t(n));
      socklen_t fromLen = sizeof from;
      n = ::recvfrom(sock, rxbuf_.data(), rxbuf_.size(), flags, reinterpret_cast<sockaddr*>(&from), &fromLen);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {  // reported once; what is still queued stays readable
        r.overrun();
        continue;
      }
      if ((errno == EAGAIN || errno == EWOULDBLOCK) && flags != 0) break;
      throw NetlinkFailure::of(errno, op);
    }
    count++;
    if (from.nl_family != AF_NETLINK || from.nl_pid != 0) continue;  // not the kernel: dropped
    r.datagram(rxbuf_.data(), size_t(n));
  }
  return count;
}

namespace {

// Reads and forgets whatever is queued.
class Discard : public Receiver {
 public:
  void datagram(const char*, size_t) override {}
  void overrun() override {}
  bool done() const override { return false; }
  bool waitForMore() const override { return false; }
};

}  // namespace

void NetlinkSocket::discardQueued() {
  Discard d;
  receive(d, "netlink.discard");
}

void NetlinkSocket::send(const void* buf, size_t len, size_t rcvbufHint, const std::string& op) {
  discardQueued();
  if (rcvbufHint > size_t(buffers_.rcvbuf)) growBuffer(SO_RCVBUF, rcvbufHint);
  if (len + kSndbufOverhead > size_t(buffers_.sndbuf)) growBuffer(SO_SNDBUF, len + 65536);
  const size_t limit = buffers_.sndbuf > int(kSndbufOverhead) ? size_t(buffers_.sndbuf) - kSndbufOverhead : 0;
  auto oversized = [&] {
    return NetlinkFailure::of(EMSGSIZE, op,
                              "the batch is " + std::to_string(len) +
                                  " bytes, the socket's send buffer allows " + std::to_string(limit) +
                                  " (raise net.core.wmem_max to at least " + std::to_string(len + 65536) +
                                  ", or run with CAP_NET_ADMIN)");
  };
  if (len > limit) throw oversized();
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = ::sendto(fd(), buf, len, 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0 && errno == EMSGSIZE) throw oversized();
  if (sent < 0) throw NetlinkFailure::of(errno, op);
  if (size_t(sent) != len) throw oversized();
}

void NetlinkSocket::request(const void* buf, size_t len, uint32_t firstSeq, uint32_t lastSeq,
                            const OnMessage& onMessage, const std::string& op) {
  const auto* first = static_cast<const nlmsghdr*>(buf);
  const bool isDump = len >= sizeof(nlmsghdr) && (first->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  send(buf, len, 0, op);
  ReplyReader reader(portId(), firstSeq, lastSeq, isDump, op, onMessage);
  receive(reader, op);
  reader.finish();
}

int NetlinkSocket::dump(const void* buf, size_t len, const OnMessage& onMessage,
                        const std::function<void()>& restart, const std::string& op) {
  std::vector<char> req(static_cast<const char*>(buf), static_cast<const char*>(buf) + len);
  auto* nlh = reinterpret_cast<nlmsghdr*>(req.data());
  const OnMessage counted = [&](const nlmsghdr* msg) {
    dumpMessages_++;
    onMessage(msg);
  };
  for (int attempt = 1;; attempt++) {
    nlh->nlmsg_seq = nextSeq();
    try {
      request(req.data(), len, nlh->nlmsg_seq, nlh->nlmsg_seq, counted, op);
      return attempt - 1;
    } catch (const NetlinkFailure& f) {
      if (!f.dumpInterrupted) throw;
      if (attempt >= kDumpAttempts) {
        NetlinkFailure again = f;
        again.detail = "still interrupted after " + std::to_string(attempt) + " attempts";
        throw again;
      }
    }
    dumpRetries_++;
    restart();
  }
}

ReplyReader::ReplyReader(uint32_t portId, uint32_t firstSeq, uint32_t lastSeq, bool isDump, std::string op,
                         OnMessage onMessage)
    : portId_(portId),
      firstSeq_(firstSeq),
      lastSeq_(lastSeq),
      isDump_(isDump),
      op_(std::move(op)),
      onMessage_(std::move(onMessage)) {
  if (!isDump)
    for (uint32_t s = firstSeq; s != lastSeq + 1; s++) pending_.insert(s);
}

void ReplyReader::overrun() {
  // A dump missing a part is as good as interrupted: it is retried. Lost acks
  // end the wait: what the request caused is queued already (the kernel answers
  // inside sendmsg), so the rest is drained without blocking.
  if (isDump_) interrupted_ = true;
  acksLost_ = true;
}

void ReplyReader::feed(const char* data, size_t n, const OnMessage& onMessage) {
  // Batches are framed by BEGIN (firstSeq - 1) and END (lastSeq + 1); the kernel
  // answers on BEGIN's seq when it refuses the whole batch (e.g. ERESTART).
  auto ours = [&](uint32_t seq) { return seq + 1 >= firstSeq_ && seq <= lastSeq_ + 1; };
  int remaining = static_cast<int>(n);
  for (auto* nlh = reinterpret_cast<const nlmsghdr*>(data); ack::messageFits(nlh, remaining);
       nlh = mnl_nlmsg_next(nlh, &remaining)) {
    if (nlh->nlmsg_pid != portId_ || !ours(nlh->nlmsg_seq))
      throw NetlinkFailure::of(EPROTO, op_ + " (foreign reply)");
    if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) interrupted_ = true;

    if (nlh->nlmsg_type == NLMSG_ERROR) {
      if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr)) throw NetlinkFailure::of(EBADMSG, op_);
      const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      pending_.erase(nlh->nlmsg_seq);
      if (err->error != 0 && !failed_) {
        failed_ = true;
        firstError_ = NetlinkFailure::of(ack::errnoOf(err->error), op_);
        if (nlh->nlmsg_seq >= firstSeq_ && nlh->nlmsg_seq <= lastSeq_)
          firstError_.failedIndex = int64_t(nlh->nlmsg_seq - firstSeq_);
        ack::parseExtAck(nlh, firstError_);
      }
      if (isDump_ && err->error != 0) done_ = true;
    } else if (nlh->nlmsg_type == NLMSG_DONE) {
      // A dump that failed midway reports the errno in NLMSG_DONE's payload.
      if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
        int e = *static_cast<const int*>(mnl_nlmsg_get_payload(nlh));
        if (e < 0 && !failed_) {
          failed_ = true;
          firstError_ = NetlinkFailure::of(ack::errnoOf(e), op_);
        }
      }
      if (isDump_) done_ = true;
    } else if (nlh->nlmsg_type >= NLMSG_MIN_TYPE) {
      if (!failed_ && !callbackError_ && onMessage) {
        try {
          onMessage(nlh);
        } catch (...) {
          callbackError_ = std::current_exception();
        }
      }
    }
  }
  if (remaining > 0) throw NetlinkFailure::of(EBADMSG, op_ + " (truncated reply)");
  if (!isDump_ && pending_.empty()) done_ = true;
}

void ReplyReader::finish() {
  if (failed_) {
    NetlinkFailure f = firstError_;
    f.acksLost = acksLost_ && !isDump_;
    throw f;
  }
  if (callbackError_) std::rethrow_exception(callbackError_);
  if (interrupted_) {
    NetlinkFailure f = NetlinkFailure::of(EINTR, op_ + " (dump interrupted)");
    f.dumpInterrupted = true;
    throw f;
  }
  if (!done_) {  // acks lost and none of them an error: the outcome is unknown
    NetlinkFailure f = NetlinkFailure::of(ENOBUFS, op_);
    f.acksLost = true;
    throw f;
  }
}

}  // namespace netcg
