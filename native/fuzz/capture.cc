// Seed corpus capture: dumps what the fuzz target decodes (nf_tables tables,
// chains, rules, sets, elements; ip rules, routes, links; inet_diag sockets) plus a kernel error
// with extended ACK and the answers to nf_tables batches (acked, refused by one
// message, refused for a stale genid), from the network namespace it runs in,
// and saves the raw reply datagrams in the fuzz input format (input.h).
//
//   nsenter --net=/run/netns/X capture OUTDIR      (see scripts/fuzz-capture.sh)
//
// Port id and sequence numbers are rewritten to the fuzz target's constants so
// the seeds reach the decoders instead of stopping at the "foreign reply" check.
#include <arpa/inet.h>  // before the linux/ headers: both define in_addr
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/fib_rules.h>
#include <linux/inet_diag.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "fuzz/input.h"

using netcg::fuzz::Decoder;
using Datagram = std::vector<char>;

namespace {

[[noreturn]] void die(const std::string& what) {
  fprintf(stderr, "capture: %s: %s\n", what.c_str(), strerror(errno));
  exit(1);
}

// Sends one request and returns every reply datagram, until DONE or an error.
std::vector<Datagram> exchange(int bus, const std::function<void(nlmsghdr*)>& build, bool capAck) {
  mnl_socket* nl = mnl_socket_open(bus);
  if (nl == nullptr || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) die("netlink socket");
  int one = 1, cap = capAck ? 1 : 0;
  setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_CAP_ACK, &cap, sizeof cap);
  std::vector<char> req(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = reinterpret_cast<nlmsghdr*>(req.data());
  build(nlh);
  nlh->nlmsg_seq = netcg::fuzz::kSeq;
  if (mnl_socket_sendto(nl, req.data(), nlh->nlmsg_len) < 0) die("send");
  std::vector<Datagram> out;
  for (bool done = false; !done;) {
    ssize_t need = recv(mnl_socket_get_fd(nl), nullptr, 0, MSG_PEEK | MSG_TRUNC);
    if (need < 0) die("recv");
    Datagram d = Datagram(static_cast<size_t>(need));
    ssize_t n = recv(mnl_socket_get_fd(nl), d.data(), d.size(), 0);
    if (n < 0) die("recv");
    d.resize(size_t(n));
    int left = int(n);
    for (auto* m = reinterpret_cast<nlmsghdr*>(d.data()); mnl_nlmsg_ok(m, left);
         m = mnl_nlmsg_next(m, &left)) {
      m->nlmsg_pid = netcg::fuzz::kPortId;
      m->nlmsg_seq = netcg::fuzz::kSeq;
      if (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR) done = true;
    }
    out.push_back(std::move(d));
  }
  mnl_socket_close(nl);
  return out;
}

// Sends one nf_tables batch: BEGIN (seq kSeq, with `genid` when non-zero), one
// message per op, END; like nft/batch.cc, only the last op asks for an ack.
// Returns every reply queued once sendmsg is back (nfnetlink answers a batch
// synchronously), with the port id rewritten; the seqs are already the target's.
using BuildOp = std::function<nlmsghdr*(char* at, uint32_t seq)>;
std::vector<Datagram> batch(const std::vector<BuildOp>& ops, bool capAck, uint32_t genid = 0) {
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) die("netlink socket");
  int one = 1, cap = capAck ? 1 : 0;
  setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_CAP_ACK, &cap, sizeof cap);
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  size_t used = 0;
  uint32_t seq = netcg::fuzz::kSeq;
  nlmsghdr* begin = nftnl_batch_begin(buf.data(), seq++);
  if (genid != 0) mnl_attr_put_u32(begin, NFNL_BATCH_GENID, htonl(genid));
  used += NLMSG_ALIGN(begin->nlmsg_len);
  for (size_t i = 0; i < ops.size(); i++) {
    nlmsghdr* m = ops[i](buf.data() + used, seq++);
    if (i + 1 == ops.size()) m->nlmsg_flags |= NLM_F_ACK;
    used += NLMSG_ALIGN(m->nlmsg_len);
  }
  used += NLMSG_ALIGN(nftnl_batch_end(buf.data() + used, seq)->nlmsg_len);
  if (mnl_socket_sendto(nl, buf.data(), used) < 0) die("send batch");
  std::vector<Datagram> out;
  for (;;) {
    Datagram d(MNL_SOCKET_BUFFER_SIZE);
    ssize_t n = recv(mnl_socket_get_fd(nl), d.data(), d.size(), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) die("recv batch");
    d.resize(size_t(n));
    int left = int(n);
    for (auto* m = reinterpret_cast<nlmsghdr*>(d.data()); mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left))
      m->nlmsg_pid = netcg::fuzz::kPortId;
    out.push_back(std::move(d));
  }
  mnl_socket_close(nl);
  return out;
}

BuildOp tableOp(uint16_t type, const char* table) {
  return [=](char* at, uint32_t seq) {
    nlmsghdr* m =
        nftnl_nlmsg_build_hdr(at, type, NFPROTO_INET, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0, seq);
    mnl_attr_put_strz(m, NFTA_TABLE_NAME, table);
    return m;
  };
}

BuildOp chainOp(uint16_t type, const char* table, const char* chain) {
  return [=](char* at, uint32_t seq) {
    nlmsghdr* m =
        nftnl_nlmsg_build_hdr(at, type, NFPROTO_INET, type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0, seq);
    mnl_attr_put_strz(m, NFTA_CHAIN_TABLE, table);
    mnl_attr_put_strz(m, NFTA_CHAIN_NAME, chain);
    return m;
  };
}

void save(const std::string& dir, const std::string& name, Decoder which, uint8_t options,
          const std::vector<Datagram>& datagrams) {
  std::string path = dir + "/" + name;
  FILE* f = fopen(path.c_str(), "wb");
  if (f == nullptr) die(path);
  fputc(int(which), f);
  fputc(options, f);
  size_t messages = 0;
  for (const Datagram& d : datagrams) {
    if (d.size() > 0xffff) {
      errno = EMSGSIZE;
      die(path + ": datagram over 64 KiB");
    }
    fputc(int(d.size() & 0xff), f);
    fputc(int(d.size() >> 8), f);
    fwrite(d.data(), 1, d.size(), f);
    messages++;
  }
  if (fclose(f) != 0) die(path);
  printf("%s: %zu datagram(s)\n", path.c_str(), messages);
}

std::vector<Datagram> nftDump(uint16_t type, const std::function<void(nlmsghdr*)>& payload = {}) {
  return exchange(
      NETLINK_NETFILTER,
      [&](nlmsghdr* nlh) {
        nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(nlh), type, NFPROTO_UNSPEC, NLM_F_DUMP, 0);
        if (payload) payload(nlh);
      },
      true);
}

template <typename Header>
std::vector<Datagram> rtDump(uint16_t type, uint8_t family) {
  return exchange(
      NETLINK_ROUTE,
      [&](nlmsghdr* nlh) {
        mnl_nlmsg_put_header(nlh);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        auto* h = static_cast<Header*>(mnl_nlmsg_put_extra_header(nlh, sizeof(Header)));
        *reinterpret_cast<uint8_t*>(h) = family;  // every rtnetlink header starts with its family
      },
      true);
}

// SOCK_DIAG_BY_FAMILY for one family and protocol: every socket in `states`.
std::vector<Datagram> sockDump(uint8_t family, uint8_t protocol, uint32_t states) {
  return exchange(
      NETLINK_SOCK_DIAG,
      [&](nlmsghdr* nlh) {
        mnl_nlmsg_put_header(nlh);
        nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        auto* r = static_cast<inet_diag_req_v2*>(mnl_nlmsg_put_extra_header(nlh, sizeof(inet_diag_req_v2)));
        r->sdiag_family = family;
        r->sdiag_protocol = protocol;
        r->idiag_states = states;
      },
      true);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: capture OUTDIR (inside a throwaway network namespace)\n");
    return 2;
  }
  const std::string dir = argv[1];
  save(dir, "nft-tables", Decoder::NftTables, 0, nftDump(NFT_MSG_GETTABLE));
  save(dir, "nft-chains", Decoder::NftChains, 0, nftDump(NFT_MSG_GETCHAIN));
  save(dir, "nft-rules", Decoder::NftRules, 0, nftDump(NFT_MSG_GETRULE));
  save(dir, "nft-rules-netcg", Decoder::NftRules, 3, nftDump(NFT_MSG_GETRULE));
  std::vector<Datagram> sets = nftDump(NFT_MSG_GETSET);
  save(dir, "nft-sets", Decoder::NftSets, 0, sets);

  // Every set's elements: the set names come from the set dump just taken.
  for (const Datagram& d : sets) {
    int left = int(d.size());
    for (auto* m = reinterpret_cast<const nlmsghdr*>(d.data()); mnl_nlmsg_ok(m, left);
         m = mnl_nlmsg_next(m, &left)) {
      if (m->nlmsg_type < NLMSG_MIN_TYPE) continue;
      nftnl_set* s = nftnl_set_alloc();
      if (nftnl_set_nlmsg_parse(m, s) == 0) {
        std::string table = nftnl_set_get_str(s, NFTNL_SET_TABLE),
                    name = nftnl_set_get_str(s, NFTNL_SET_NAME);
        uint16_t family = uint16_t(nftnl_set_get_u32(s, NFTNL_SET_FAMILY));
        auto elems = exchange(
            NETLINK_NETFILTER,
            [&](nlmsghdr* nlh) {
              nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(nlh), NFT_MSG_GETSETELEM, family, NLM_F_DUMP, 0);
              nftnl_set* ref = nftnl_set_alloc();
              nftnl_set_set_str(ref, NFTNL_SET_TABLE, table.c_str());
              nftnl_set_set_str(ref, NFTNL_SET_NAME, name.c_str());
              nftnl_set_elems_nlmsg_build_payload(nlh, ref);
              nftnl_set_free(ref);
            },
            true);
        save(dir, "nft-elements-" + table + "-" + name, Decoder::NftElements, 0, elems);
      }
      nftnl_set_free(s);
    }
  }

  save(dir, "rt-rules4", Decoder::RtRules4, 0, rtDump<fib_rule_hdr>(RTM_GETRULE, AF_INET));
  save(dir, "rt-rules6", Decoder::RtRules6, 0, rtDump<fib_rule_hdr>(RTM_GETRULE, AF_INET6));
  save(dir, "rt-routes4", Decoder::RtRoutes4, 0, rtDump<rtmsg>(RTM_GETROUTE, AF_INET));
  save(dir, "rt-routes6", Decoder::RtRoutes6, 0, rtDump<rtmsg>(RTM_GETROUTE, AF_INET6));
  save(dir, "rt-links", Decoder::RtLinks, 0, rtDump<ifinfomsg>(RTM_GETLINK, AF_UNSPEC));
  // Options as Decoder::SockDiag reads them: bit 0 IPv6, bit 1 UDP, bit 3 every state.
  save(dir, "sock-tcp4", Decoder::SockDiag, 0, sockDump(AF_INET, IPPROTO_TCP, 1u << 10));
  save(dir, "sock-tcp6", Decoder::SockDiag, 1, sockDump(AF_INET6, IPPROTO_TCP, 1u << 10));
  save(dir, "sock-udp4", Decoder::SockDiag, 2, sockDump(AF_INET, IPPROTO_UDP, 1u << 7));
  save(dir, "sock-udp6-port", Decoder::SockDiag, 3 | 4, sockDump(AF_INET6, IPPROTO_UDP, 1u << 7));
  save(dir, "sock-tcp4-all", Decoder::SockDiag, 8, sockDump(AF_INET, IPPROTO_TCP, 0xffffffffu));

  // A kernel refusal with extended ACK, with and without the echoed request.
  for (bool capped : {false, true}) {
    auto acks = exchange(
        NETLINK_NETFILTER,
        [](nlmsghdr* nlh) {
          nftnl_nlmsg_build_hdr(reinterpret_cast<char*>(nlh), NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, 0);
          mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, "no-such-table");
        },
        capped);
    save(dir, capped ? "ack-enoent-capped" : "ack-enoent", Decoder::Ack, 0, acks);
  }

  // nf_tables batches (options: the message count, see input.h): acked; refused
  // by its second op (ENOENT with extended ACK, echoed request or capped); refused
  // whole on BEGIN's seq for a stale generation id (ERESTART).
  save(dir, "batch-acked", Decoder::BatchAcks, 1,
       batch({tableOp(NFT_MSG_NEWTABLE, "fz"), chainOp(NFT_MSG_NEWCHAIN, "fz", "c")}, true));
  for (bool capped : {false, true}) {
    auto acks = batch({tableOp(NFT_MSG_NEWTABLE, "fz2"), chainOp(NFT_MSG_DELCHAIN, "fz2", "no-such-chain"),
                       chainOp(NFT_MSG_NEWCHAIN, "fz2", "c")},
                      capped);
    save(dir, capped ? "batch-enoent-capped" : "batch-enoent", Decoder::BatchAcks, 2, acks);
  }
  save(dir, "batch-stale-genid", Decoder::BatchAcks, 0,
       batch({tableOp(NFT_MSG_NEWTABLE, "fz3")}, true, 0xfffffff0));
  return 0;
}
