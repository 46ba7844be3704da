// The ruleset generation id (NFT_MSG_GETGEN), and family names.
#include <libnftnl/gen.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cerrno>
#include <vector>

#include "js.h"
#include "nft/nft.h"
#include "nft/objects.h"

namespace netcg::nft {

uint32_t genid(NetlinkSocket& s) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  uint32_t seq = s.nextSeq();
  nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, seq);
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
  bool seen = false;
  uint32_t id = 0;
  s.request(
      buf.data(), nlh->nlmsg_len, seq, seq,
      [&](const nlmsghdr* reply) {
        auto gen = owned<GenPtr>(nftnl_gen_alloc());
        if (nftnl_gen_nlmsg_parse(reply, gen.get()) >= 0 && nftnl_gen_is_set(gen.get(), NFTNL_GEN_ID)) {
          id = nftnl_gen_get_u32(gen.get(), NFTNL_GEN_ID);
          seen = true;
        }
      },
      "nft.genid");
  if (!seen) throw NetlinkFailure::of(EBADMSG, "nft.genid (no generation in reply)");
  return id;
}

uint16_t familyFromName(const std::string& name, const std::string& path) {
  if (name == "inet") return NFPROTO_INET;
  if (name == "ip") return NFPROTO_IPV4;
  if (name == "ip6") return NFPROTO_IPV6;
  if (name == "arp") return NFPROTO_ARP;
  if (name == "bridge") return NFPROTO_BRIDGE;
  if (name == "netdev") return NFPROTO_NETDEV;
  throw InputError{path, "unknown family '" + name + "'"};
}

const char* familyName(uint16_t family) {
  switch (family) {
    case NFPROTO_INET:
      return "inet";
    case NFPROTO_IPV4:
      return "ip";
    case NFPROTO_IPV6:
      return "ip6";
    case NFPROTO_ARP:
      return "arp";
    case NFPROTO_BRIDGE:
      return "bridge";
    case NFPROTO_NETDEV:
      return "netdev";
    default:
      return nullptr;
  }
}

}  // namespace netcg::nft
