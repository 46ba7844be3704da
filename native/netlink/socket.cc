// One netlink socket inside one network namespace, with a strict receive loop.
#include "netlink/socket.h"

#include "netlink/ack.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <ctime>
#include <set>

namespace netcg {

namespace {

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

// A dump is paced by our reads, but a batch's acks all arrive at once (one per
// message), so the buffer must be large before a big transaction. 8 MiB holds
// the acks of ~10k messages; nft/batch.cc grows it further when needed.
constexpr int kInitialRcvbuf = 8 << 20;

NetlinkFailure failure(int errnum, const std::string& op) {
  NetlinkFailure f;
  f.errnum = errnum;
  f.op = op;
  return f;
}

// Closes an fd on every path out of the constructor.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Enters the target namespace for the lifetime of this object (this thread only:
// setns affects the calling thread), and always returns to the original one.
class NetnsGuard {
 public:
  explicit NetnsGuard(const std::string& path) {
    if (path.empty()) return;
    target_.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (target_.fd < 0) throw failure(errno, "netns.open " + path);
    home_.fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home_.fd < 0) throw failure(errno, "netns.open self");
    if (::setns(target_.fd, CLONE_NEWNET) != 0) throw failure(errno, "netns.setns " + path);
    entered_ = true;
  }
  ~NetnsGuard() {
    // Failing to return would silently leave Node's main thread in the wrong
    // namespace; nothing sane can continue after that.
    if (entered_ && ::setns(home_.fd, CLONE_NEWNET) != 0) std::abort();
  }

 private:
  Fd target_, home_;
  bool entered_ = false;
};

void growBuffer(int fd, int optForce, int optPlain, int bytes) {
  // *FORCE ignores rmem_max/wmem_max but needs CAP_NET_ADMIN; fall back quietly.
  if (setsockopt(fd, SOL_SOCKET, optForce, &bytes, sizeof bytes) != 0)
    setsockopt(fd, SOL_SOCKET, optPlain, &bytes, sizeof bytes);
}

}  // namespace

NetlinkSocket::NetlinkSocket(int bus, const std::string& netnsPath) {
  {
    NetnsGuard inNetns(netnsPath);
    // The socket belongs to the namespace it is created in, forever.
    nl_ = mnl_socket_open2(bus, SOCK_CLOEXEC);
    if (nl_ == nullptr) throw failure(errno, "netlink.open");
  }
  if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mnl_socket_close(nl_);
    nl_ = nullptr;
    throw failure(e, "netlink.bind");
  }
  int one = 1;
  int fd = mnl_socket_get_fd(nl_);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  growBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, kInitialRcvbuf);
  rxbuf_.resize(32768);  // grows on demand (see request)
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

void NetlinkSocket::request(const void* buf, size_t len, uint32_t firstSeq, uint32_t lastSeq,
                            const OnMessage& onMessage, const std::string& op) {
  int sock = fd();
  const auto* first = static_cast<const nlmsghdr*>(buf);
  const bool isDump = len >= sizeof(nlmsghdr) && (first->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;

  // Large batches need a send buffer at least as large as the datagram.
  int sndbuf = 0;
  socklen_t sl = sizeof sndbuf;
  if (getsockopt(sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) == 0 && size_t(sndbuf) < len + 65536)
    growBuffer(sock, SO_SNDBUFFORCE, SO_SNDBUF, int(len + 65536));

  // Replies left over from an earlier request that ended in an error would
  // otherwise be read as foreign replies to this one.
  while (::recv(sock, rxbuf_.data(), rxbuf_.size(), MSG_DONTWAIT | MSG_TRUNC) > 0) {
  }

  ssize_t sent = mnl_socket_sendto(nl_, buf, len);
  if (sent < 0) throw failure(errno, op);
  if (size_t(sent) != len) throw failure(EMSGSIZE, op);

  ReplyReader reader(portId(), firstSeq, lastSeq, isDump, op);
  while (!reader.done()) {
    // After an error every reply is already queued (nfnetlink answers a batch
    // synchronously inside sendmsg), so drain without blocking.
    int flags = reader.failed() ? MSG_DONTWAIT : 0;
    // Peek the size first so a datagram larger than our buffer is never truncated.
    ssize_t need = ::recv(sock, nullptr, 0, MSG_PEEK | MSG_TRUNC | flags);
    if (need < 0) {
      if (errno == EINTR) continue;
      if (reader.failed() && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      throw failure(errno, op);
    }
    if (size_t(need) > rxbuf_.size()) rxbuf_.resize(size_t(need));
    ssize_t n = ::recv(sock, rxbuf_.data(), rxbuf_.size(), flags);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (reader.failed() && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      throw failure(errno, op);
    }
    reader.feed(rxbuf_.data(), size_t(n), onMessage);
  }
  reader.finish();
}

ReplyReader::ReplyReader(uint32_t portId, uint32_t firstSeq, uint32_t lastSeq, bool isDump, std::string op)
    : portId_(portId), firstSeq_(firstSeq), lastSeq_(lastSeq), isDump_(isDump), op_(std::move(op)) {
  if (!isDump)
    for (uint32_t s = firstSeq; s != lastSeq + 1; s++) pending_.insert(s);
}

void ReplyReader::feed(const char* data, size_t n, const OnMessage& onMessage) {
  // Batches are framed by BEGIN (firstSeq - 1) and END (lastSeq + 1); the kernel
  // answers on BEGIN's seq when it refuses the whole batch (e.g. ERESTART).
  auto ours = [&](uint32_t seq) { return seq + 1 >= firstSeq_ && seq <= lastSeq_ + 1; };
  const std::string& op = op_;
  int remaining = static_cast<int>(n);
  for (auto* nlh = reinterpret_cast<const nlmsghdr*>(data); ack::messageFits(nlh, remaining);
       nlh = mnl_nlmsg_next(nlh, &remaining)) {
    if (nlh->nlmsg_pid != portId_ || !ours(nlh->nlmsg_seq)) throw failure(EPROTO, op + " (foreign reply)");
    if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) interrupted_ = true;

    if (nlh->nlmsg_type == NLMSG_ERROR) {
      if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr)) throw failure(EBADMSG, op);
      const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      pending_.erase(nlh->nlmsg_seq);
      if (err->error != 0 && !failed_) {
        failed_ = true;
        firstError_ = failure(ack::errnoOf(err->error), op);
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
          firstError_ = failure(ack::errnoOf(e), op);
        }
      }
      if (isDump_) done_ = true;
    } else if (nlh->nlmsg_type >= NLMSG_MIN_TYPE) {
      if (!failed_ && !callbackError_) {
        try {
          onMessage(nlh);
        } catch (...) {
          callbackError_ = std::current_exception();
        }
      }
    }
  }
  if (remaining > 0) throw failure(EBADMSG, op + " (truncated reply)");
  if (!isDump_ && pending_.empty()) done_ = true;
}

void ReplyReader::finish() {
  if (failed_) throw firstError_;
  if (callbackError_) std::rethrow_exception(callbackError_);
  if (interrupted_) {
    NetlinkFailure f = failure(EINTR, op_ + " (dump interrupted)");
    f.dumpInterrupted = true;
    throw f;
  }
}

}  // namespace netcg
