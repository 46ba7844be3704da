// The kernel's answer to one nf_tables batch, walked datagram by datagram
// without the socket, so the fuzz target (native/fuzz/) drives the very code
// nft/batch.cc runs after its sendmsg.
//
// The batch is BEGIN (beginSeq), the ops' messages, END (endSeq); only the last
// op message (confirmSeq) asks for an ack. Every reply must be an NLMSG_ERROR
// from the kernel to our port with a seq inside the batch: an ack (error 0), or
// a failure reported by its seq and mapped back to the op that made the message.
#pragma once

#include <linux/netlink.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "netlink/ack.h"
#include "netlink/socket.h"

namespace netcg::nft {

class BatchReplyReader : public Receiver {
 public:
  // opOf(m): the index of the op that produced message m of the batch (-1 for BEGIN/END).
  BatchReplyReader(uint32_t portId, uint32_t beginSeq, uint32_t endSeq, uint32_t confirmSeq,
                   std::function<int64_t(size_t)> opOf, std::string op)
      : portId_(portId),
        beginSeq_(beginSeq),
        endSeq_(endSeq),
        confirmSeq_(confirmSeq),
        opOf_(std::move(opOf)),
        op_(std::move(op)) {}

  // nfnetlink answers a batch inside sendmsg: everything is queued by the time
  // the loop reads, so it reads until nothing is left.
  void datagram(const char* data, size_t n) override { feed(data, n); }
  // ENOBUFS: the receive buffer overflowed with error acks. The first ones are
  // queued (the kernel drops what does not fit), so reading goes on and the
  // first real error is still the one reported, flagged acksLost.
  void overrun() override { acksLost_ = true; }
  bool done() const override { return false; }
  bool waitForMore() const override { return false; }

  // Walks the messages of one datagram of `n` bytes at `data` (aligned as recv(2)
  // leaves it). Throws NetlinkFailure on a foreign, unexpected or truncated reply.
  void feed(const char* data, size_t n) {
    int remaining = int(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(data); ack::messageFits(nlh, remaining);
         nlh = mnl_nlmsg_next(nlh, &remaining)) {
      if (nlh->nlmsg_pid != portId_ || nlh->nlmsg_seq < beginSeq_ || nlh->nlmsg_seq > endSeq_)
        throw failure(EPROTO, op_ + " (foreign reply)");
      if (nlh->nlmsg_type != NLMSG_ERROR) throw failure(EPROTO, op_ + " (unexpected reply)");
      if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr)) throw failure(EBADMSG, op_);
      const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      if (err->error == 0) {
        if (nlh->nlmsg_seq == confirmSeq_) confirmed_ = true;
        continue;
      }
      if (failed_) continue;  // the first failure is the one reported
      failed_ = true;
      first_ = failure(ack::errnoOf(err->error), op_);
      first_.failedIndex = opOf_(size_t(nlh->nlmsg_seq - beginSeq_));
      ack::parseExtAck(nlh, first_);
    }
    if (remaining > 0) throw failure(EBADMSG, op_ + " (truncated reply)");
  }

  // Once everything queued is read: throws the first failure, or EPROTO when the
  // batch was neither refused nor acknowledged.
  // With lost acks and no error among those read, the outcome is unknown: ENOBUFS.
  void finish() const {
    if (failed_) {
      NetlinkFailure f = first_;
      f.acksLost = acksLost_;
      throw f;
    }
    if (confirmed_) return;
    if (!acksLost_) throw failure(EPROTO, op_ + " (the batch was not acknowledged)");
    NetlinkFailure f = failure(ENOBUFS, op_);
    f.acksLost = true;
    throw f;
  }

 private:
  static NetlinkFailure failure(int errnum, const std::string& op) { return NetlinkFailure::of(errnum, op); }

  uint32_t portId_, beginSeq_, endSeq_, confirmSeq_;
  std::function<int64_t(size_t)> opOf_;
  std::string op_;
  bool failed_ = false, confirmed_ = false, acksLost_ = false;
  NetlinkFailure first_;
};

}  // namespace netcg::nft
