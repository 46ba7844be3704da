// libFuzzer target: malformed, truncated and reordered netlink replies through the
// very code the addon runs on a dump's replies — ReplyReader (the receive loop's
// message walk: NLMSG_ERROR/DONE, extended ACK, seq/port checks, multi-part), the
// nf_tables DumpDecoder (libnftnl parse + our expression decoders, writing a tape),
// the rtnetlink decodeRule/Route/Link and the inet_diag decodeSocket — on a commit's answer: the nf_tables
// BatchReplyReader (nft/batch_reply.h) — and on the monitor's notifications:
// events::decodeRtnl/decodeNft (netlink/events.h). Built with ASan+UBSan (scripts/fuzz.sh):
// any crash, out-of-bounds read or undefined behaviour is a finding; errors
// (NetlinkFailure) are the expected outcome for bad input.
//
// Beyond "no crash", a decode that succeeds must leave a well-formed tape (every
// count matches, every string index valid): the JS reader trusts it.
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <sys/socket.h>

#include <dlfcn.h>
#include <setjmp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "diag/diag.h"
#include "fuzz/input.h"
#include "netlink/ack.h"
#include "netlink/events.h"
#include "netlink/socket.h"
#include "nft/batch_reply.h"
#include "nft/decode.h"
#include "nft/tape.h"
#include "rtnl/decode.h"

using namespace netcg;

namespace {

[[noreturn]] void bad(const char* why) {
  fprintf(stderr, "netlink_fuzz: %s\n", why);
  abort();
}

// Walks one tape value; aborts unless it is well-formed.
class TapeCheck {
 public:
  explicit TapeCheck(const nft::Tape& t)
      : d_(t.data().data()), n_(t.data().size()), strings_(t.strings().size()) {}
  void all() {
    while (at_ < n_) value(0);
  }

 private:
  void value(int depth) {
    if (depth > 64) bad("tape nested too deep");
    switch (nft::Tag(take<uint8_t>())) {
      case nft::Tag::Obj:
        for (uint32_t i = 0, c = take<uint32_t>(); i < c; i++) {
          str();
          value(depth + 1);
        }
        return;
      case nft::Tag::Arr:
        for (uint32_t i = 0, c = take<uint32_t>(); i < c; i++) value(depth + 1);
        return;
      case nft::Tag::Str:
        str();
        return;
      case nft::Tag::U32:
        take<uint32_t>();
        return;
      case nft::Tag::I32:
        take<int32_t>();
        return;
      case nft::Tag::F64:
        take<double>();
        return;
      case nft::Tag::Bytes: {
        uint32_t len = take<uint32_t>();
        if (n_ - at_ < len) bad("tape bytes overrun");
        at_ += len;
        return;
      }
      case nft::Tag::True:
      case nft::Tag::False:
        return;
    }
    bad("tape bad tag");
  }
  void str() {
    if (take<uint32_t>() >= strings_) bad("tape bad string index");
  }
  template <typename T>
  T take() {
    if (n_ - at_ < sizeof(T)) bad("tape short");
    T v;
    memcpy(&v, d_ + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  const uint8_t* d_;
  size_t n_, at_ = 0, strings_;
};

// libnftnl 1.2.4 calls exit() (abi_breakage) when an attribute has the wrong
// size for its type, instead of failing the parse. In the addon that ends the
// Node process on such a message (the kernel never sends one): a known
// limitation, see native/fuzz/README.md. Here, while a decoder runs, exit()
// jumps back to drive() and the input counts as rejected, so the fuzzer keeps
// searching for memory errors behind it. (exit() is noexcept in glibc's headers,
// so a C++ exception cannot be used; the jump skips destructors, hence
// detect_leaks=0 in scripts/fuzz.sh.) The executable's exit() interposes libc's.
bool gDecoding = false;
jmp_buf gExitJump;

}  // namespace

extern "C" void exit(int status) {
  if (gDecoding) {
    gDecoding = false;
    longjmp(gExitJump, 1);
  }
  using Exit = void (*)(int);
  reinterpret_cast<Exit>(dlsym(RTLD_NEXT, "exit"))(status);
  _exit(status);  // not reached
}

namespace {

struct Datagrams {
  std::vector<std::vector<char>> list;
  Datagrams(const uint8_t* p, size_t n) {
    while (n >= 2) {
      size_t len = size_t(p[0]) | size_t(p[1]) << 8;
      p += 2, n -= 2;
      if (len > n) len = n;
      // A buffer of exactly the datagram's size, so ASan sees any over-read.
      list.emplace_back(reinterpret_cast<const char*>(p), reinterpret_cast<const char*>(p) + len);
      p += len, n -= len;
    }
  }
};

// Hands one datagram to a Receiver as NetlinkSocket::receive does; an empty
// datagram stands for a recv(2) that failed with ENOBUFS (an overrun).
void deliver(Receiver& r, const std::vector<char>& d) {
  if (d.empty())
    r.overrun();
  else
    r.datagram(d.data(), d.size());
}

// Feeds the datagrams as the receive loop would, until the reader is done or,
// once it no longer waits for more (after an error or lost acks), to the end.
bool drive(const Datagrams& in, bool isDump, uint32_t lastSeq, const OnMessage& each) {
  ReplyReader reader(fuzz::kPortId, fuzz::kSeq, lastSeq, isDump, "fuzz", each);
  try {
    for (const auto& d : in.list) {
      if (reader.done()) break;
      if (setjmp(gExitJump) != 0) return false;  // libnftnl called exit()
      gDecoding = true;
      deliver(reader, d);
      gDecoding = false;
    }
    if (!reader.done() && reader.waitForMore()) return false;  // would block for more
    reader.finish();
    return true;
  } catch (const NetlinkFailure&) {
    gDecoding = false;  // the jump target dies with this frame
    return false;
  }
}

void decodeNft(fuzz::Decoder which, uint8_t options, const Datagrams& in) {
  nft::DumpFilter filter;
  if (options & 1) filter.table = "netcg";
  if (options & 2) filter.family = NFPROTO_INET;
  nft::Tape t;
  nft::DumpDecoder d(filter, t);
  std::vector<nft::SetPtr> sets;
  t.beginArray();
  bool ok = drive(in, true, fuzz::kSeq, [&](const nlmsghdr* nlh) {
    switch (which) {
      case fuzz::Decoder::NftTables:
        d.table(nlh);
        break;
      case fuzz::Decoder::NftChains:
        d.chain(nlh);
        break;
      case fuzz::Decoder::NftRules:
        d.rule(nlh);
        break;
      case fuzz::Decoder::NftSets:
        if (nft::SetPtr s = d.set(nlh)) sets.push_back(std::move(s));
        break;
      default:
        d.elements(nlh);
        break;
    }
  });
  if (!ok) return;  // the dump would be discarded with its tape
  for (auto& s : sets) {
    t.item();
    d.beginSet(s.get());
    t.beginArray();
    t.end();
    t.end();
  }
  t.end();
  if (t.depth() != 0) bad("tape left open");
  TapeCheck(t).all();
}

void decodeRtnl(fuzz::Decoder which, const Datagrams& in) {
  size_t reported = 0;
  drive(in, true, fuzz::kSeq, [&](const nlmsghdr* nlh) {
    switch (which) {
      case fuzz::Decoder::RtRules4:
      case fuzz::Decoder::RtRules6:
        if (auto r = rtnl::decodeRule(nlh, which == fuzz::Decoder::RtRules4 ? AF_INET : AF_INET6)) {
          if (r->action.empty()) bad("rule without action");
          reported++;
        }
        break;
      case fuzz::Decoder::RtRoutes4:
      case fuzz::Decoder::RtRoutes6: {
        std::optional<uint32_t> table;
        if (nlh->nlmsg_seq & 1) table = 43;  // also the filtered path
        if (auto r = rtnl::decodeRoute(nlh, which == fuzz::Decoder::RtRoutes4 ? AF_INET : AF_INET6, table)) {
          if (r->dst.empty() || (table && r->table != *table)) bad("route reported inconsistently");
          reported++;
        }
        break;
      }
      default:
        if (auto l = rtnl::decodeLink(nlh)) {
          if (l->index == 0 || l->name.size() >= 4096) bad("link reported inconsistently");
          reported++;
        }
        break;
    }
  });
  (void)reported;
}

// An inet_diag dump as diag/sock.cc reads it, with the filter the options give. A
// socket it reports must pass that filter and carry a printable address.
void decodeSockDiag(uint8_t options, const Datagrams& in) {
  diag::SockFilter f;
  f.af = (options & 1) ? AF_INET6 : AF_INET;
  f.protocol = (options & 2) ? 17 : 6;
  f.states = (options & 8) ? 0xffffffffu : (options & 2) ? 1u << 7 : 1u << 10;
  f.port = (options & 4) ? fuzz::kSockDiagPort : 0;
  drive(in, true, fuzz::kSeq, [&](const nlmsghdr* nlh) {
    if (auto s = diag::decodeSocket(nlh, f)) {
      if (s->af != f.af || (f.port != 0 && s->port != f.port) || !(f.states & (1u << s->state)))
        bad("socket reported outside its filter");
      if (s->address.empty() || s->address.size() >= 46) bad("socket address unprintable");
    }
  });
}

// The answer to a batch as nft/batch.cc reads it after its sendmsg. A failure
// must name a real errno and an op of the batch (or none, for BEGIN/END).
void decodeBatchAcks(uint8_t options, const Datagrams& in) {
  const uint32_t count = fuzz::batchMessages(options), begin = fuzz::kSeq, end = begin + count - 1;
  const uint32_t span = fuzz::batchOpsSpanTwo(options) ? 2 : 1;
  auto opOf = [&](size_t m) -> int64_t {
    if (m >= count) bad("batch reply mapped outside the batch");
    return m == 0 || m == count - 1 ? -1 : int64_t((m - 1) / span);
  };
  nft::BatchReplyReader reader(fuzz::kPortId, begin, end, end - 1, opOf, "fuzz");
  try {
    for (const auto& d : in.list) deliver(reader, d);
    reader.finish();
  } catch (const NetlinkFailure& f) {
    if (f.errnum <= 0 || f.errnum > 4095) bad("batch failure without an errno");
    if (f.acksLost && f.errnum != ENOBUFS && f.failedIndex < -1) bad("lost acks without the first error");
    if (f.failedIndex < -1 || f.failedIndex > int64_t(count)) bad("batch failure names no op");
  }
}

// Notifications as the monitor (netlink/monitor.cc) walks and decodes them: no
// reply bookkeeping, every message of a datagram goes to one bus's decoder.
void decodeEvents(uint8_t options, const Datagrams& in) {
  const bool nft = options & 1;
  for (const auto& d : in.list) {
    int remaining = int(d.size());
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(d.data()); ack::messageFits(nlh, remaining);
         nlh = mnl_nlmsg_next(nlh, &remaining)) {
      auto ev = nft ? events::decodeNft(nlh) : events::decodeRtnl(nlh);
      if (ev && (ev->empty() || ev->front().first != "source")) bad("event without its source first");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  auto which = fuzz::Decoder(data[0] % uint8_t(fuzz::Decoder::Count));
  uint8_t options = data[1];
  Datagrams in(data + 2, size - 2);
  switch (which) {
    case fuzz::Decoder::NftTables:
    case fuzz::Decoder::NftChains:
    case fuzz::Decoder::NftRules:
    case fuzz::Decoder::NftSets:
    case fuzz::Decoder::NftElements:
      decodeNft(which, options, in);
      break;
    case fuzz::Decoder::Ack:
      drive(in, false, fuzz::kSeq + fuzz::kAckSpan - 1, [](const nlmsghdr*) {});
      break;
    case fuzz::Decoder::BatchAcks:
      decodeBatchAcks(options, in);
      break;
    case fuzz::Decoder::Events:
      decodeEvents(options, in);
      break;
    case fuzz::Decoder::SockDiag:
      decodeSockDiag(options, in);
      break;
    default:
      decodeRtnl(which, in);
      break;
  }
  return 0;
}
