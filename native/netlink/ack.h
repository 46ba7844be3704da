// How the kernel frames its answers, for every receive loop that walks them
// (netlink/socket.cc's ReplyReader, nft/batch_reply.h): the bounds of a message
// walk, the errno of an NLMSG_ERROR/DONE and its extended ACK. Written once,
// so a hostile or truncated reply is refused the same way everywhere; the fuzz
// target (native/fuzz/) drives both loops. Header-only: the loops are in
// separate translation units of both the addon and the fuzz executable.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cstddef>
#include <cstring>

#include "netlink/socket.h"

namespace netcg::ack {

// The kernel reports -errno (-4095..-1); anything else, e.g. INT_MIN, whose
// negation overflows (found by native/fuzz), is a protocol error.
inline int errnoOf(int negative) { return negative < 0 && negative >= -4095 ? -negative : EPROTO; }

// mnl_nlmsg_ok compares (int)nlmsg_len <= len, so a length of 2^31 or more
// passes as negative and the walk then runs off the buffer (found by native/fuzz).
inline bool messageFits(const nlmsghdr* nlh, int remaining) {
  return remaining >= int(sizeof(nlmsghdr)) && nlh->nlmsg_len >= sizeof(nlmsghdr) &&
         nlh->nlmsg_len <= unsigned(remaining);
}

// NLMSGERR_ATTR_MSG / _OFFS of an NLMSG_ERROR (the sockets ask for them with
// NETLINK_EXT_ACK). The caller has checked the payload holds an nlmsgerr.
inline void parseExtAck(const nlmsghdr* nlh, NetlinkFailure& f) {
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return;
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  size_t offset = sizeof(nlmsgerr);
  // Without NLM_F_CAPPED the kernel echoes the whole failed request first. The
  // attributes start where nlmsg_put's aligned reservation ends (an echoed length
  // that is not a multiple of 4 left them misaligned; found by native/fuzz).
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
    if (err->msg.nlmsg_len < sizeof(nlmsghdr)) return;
    offset = NLMSG_ALIGN(offset + (err->msg.nlmsg_len - sizeof(nlmsghdr)));
  }
  size_t payloadLen = mnl_nlmsg_get_payload_len(nlh);
  if (offset > payloadLen) return;
  const auto* base = static_cast<const char*>(mnl_nlmsg_get_payload(nlh)) + offset;
  size_t remaining = payloadLen - offset;
  const nlattr* attr = reinterpret_cast<const nlattr*>(base);
  while (mnl_attr_ok(attr, static_cast<int>(remaining))) {
    uint16_t type = mnl_attr_get_type(attr);
    uint16_t len = mnl_attr_get_payload_len(attr);
    if (type == NLMSGERR_ATTR_MSG && len > 0) {
      const char* s = static_cast<const char*>(mnl_attr_get_payload(attr));
      f.extAckMsg.assign(s, strnlen(s, len));
    } else if (type == NLMSGERR_ATTR_OFFS && len >= sizeof(uint32_t)) {
      f.extAckOffset = mnl_attr_get_u32(attr);
    }
    size_t step = MNL_ALIGN(attr->nla_len);
    if (step > remaining) break;
    remaining -= step;
    attr = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(attr) + step);
  }
}

}  // namespace netcg::ack
