// The fuzz input format, shared by the fuzz target and the capture helper:
//
//   u8  decoder   (Decoder below, modulo its count)
//   u8  options   nft dumps: bit 0: filter on table "netcg"; bit 1: on family inet.
//                 BatchAcks: bits 0-2: the batch has 3 + that many messages
//                 (BEGIN, ops' messages, END; seqs from kSeq); bit 3: each op
//                 made two messages (as a chunked element list does).
//                 SockDiag: the filter (see Decoder::SockDiag)
//   then datagrams, each: u16 length (little endian), that many bytes
//   (a last datagram shorter than its length takes what is left; an empty one
//   stands for a recv(2) that failed with ENOBUFS, which the receive loop
//   reports to its Receiver as an overrun)
//
// Each datagram is one recv(2) of a reply, fed to the same ReplyReader and
// decoders the addon uses. Replies carry port id kPortId and sequence kSeq
// (the capture helper rewrites the kernel's values to these).
#pragma once

#include <cstdint>

namespace netcg::fuzz {

enum class Decoder : uint8_t {
  NftTables,
  NftChains,
  NftRules,
  NftSets,
  NftElements,
  RtRules4,
  RtRules6,
  RtRoutes4,
  RtRoutes6,
  RtLinks,
  Ack,        // a non-dump request's acknowledgements (errors, extended ACK)
  BatchAcks,  // an nf_tables batch's answer (nft/batch_reply.h), shape from options
  Events,     // multicast notifications (netlink/events.h); options bit 0: nf_tables, else rtnetlink
  SockDiag,   // an inet_diag dump (diag/diag.h); options bit 0: IPv6, bit 1: UDP, bit 2: port filter 5354,
              // bit 3: every state (else TCP LISTEN / UDP CLOSE)
  Count
};

constexpr uint32_t kPortId = 4242;
constexpr uint32_t kSeq = 1000;
// Ack requests span [kSeq, kSeq + kAckSpan - 1], as a batch of that many messages would.
constexpr uint32_t kAckSpan = 3;

// BatchAcks: the number of messages in the batch, BEGIN and END included.
constexpr uint32_t batchMessages(uint8_t options) { return 3 + (options & 7); }
constexpr bool batchOpsSpanTwo(uint8_t options) { return (options & 8) != 0; }

// SockDiag: the port bit 2 of the options filters on.
constexpr uint16_t kSockDiagPort = 5354;

}  // namespace netcg::fuzz
