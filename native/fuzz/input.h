// The fuzz input format, shared by the fuzz target and the capture helper:
//
//   u8  decoder   (Decoder below, modulo its count)
//   u8  options   bit 0: filter on table "netcg"; bit 1: filter on family inet
//   then datagrams, each: u16 length (little endian), that many bytes
//   (a last datagram shorter than its length takes what is left)
//
// Each datagram is one recv(2) of a reply, fed to the same ReplyReader and
// decoders the addon uses. Replies carry port id kPortId and sequence kSeq
// (the capture helper rewrites the kernel's values to these).
#pragma once

#include <cstdint>

namespace netcg::fuzz {

enum class Decoder : uint8_t {
  NftTables, NftChains, NftRules, NftSets, NftElements,
  RtRules4, RtRules6, RtRoutes4, RtRoutes6, RtLinks,
  Ack,  // a non-dump request's acknowledgements (errors, extended ACK)
  Count
};

constexpr uint32_t kPortId = 4242;
constexpr uint32_t kSeq = 1000;
// Ack requests span [kSeq, kSeq + kAckSpan - 1], as a batch of that many messages would.
constexpr uint32_t kAckSpan = 3;

}  // namespace netcg::fuzz
