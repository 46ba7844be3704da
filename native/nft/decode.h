// nf_tables dump replies -> tape (nft/tape.h), one reply message at a time.
//
// Why separate from the socket: the decoders are the code that meets whatever
// the kernel (or a hostile peer) sends, so they must be drivable without a live
// socket or napi — by dump.cc for real dumps and by the fuzz target
// (native/fuzz/) for malformed ones. Each call either writes one complete array
// item, writes nothing (not wanted, or not ours to describe), or throws
// NetlinkFailure (EBADMSG) before writing anything.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nft/objects.h"
#include "nft/tape.h"

namespace netcg::nft {

struct DumpFilter {
  std::optional<uint16_t> family;
  std::optional<std::string> table;
  bool wants(uint16_t fam, const char* tableName) const {
    if (family && *family != fam) return false;
    if (table && (tableName == nullptr || *table != tableName)) return false;
    return true;
  }
};

class DumpDecoder {
 public:
  DumpDecoder(DumpFilter filter, Tape& t) : filter_(std::move(filter)), t_(t) {}

  // Inside an open array: one NFT_MSG_NEWTABLE / NEWCHAIN / NEWRULE reply each.
  void table(const nlmsghdr* nlh);
  void chain(const nlmsghdr* nlh);
  void rule(const nlmsghdr* nlh);
  // A NEWSET reply parsed and kept (its elements are a separate request); null when not wanted.
  SetPtr set(const nlmsghdr* nlh);
  // Opens the set's object and writes its members up to the key "elements"; the
  // caller writes the elements array (elements() per reply) and closes the object.
  void beginSet(nftnl_set* set);
  // Inside the elements array: every element of one NEWSETELEM reply.
  void elements(const nlmsghdr* nlh);

  size_t tableCount() const { return tableCount_; }
  const DumpFilter& filter() const { return filter_; }

 private:
  // The message copied with a NUL byte after it. libnftnl 1.2.4 accepts string
  // attributes without a terminating NUL (MNL_TYPE_STRING) and strdup()s them:
  // an over-read past the message (found by native/fuzz). With the guard every
  // such read stops inside our copy. Valid while the next call does not replace it.
  const nlmsghdr* guarded(const nlmsghdr* nlh);
  void ruleWithUnknownExprs(const nlmsghdr* nlh);
  void elementObject(nftnl_set_elem* e);

  DumpFilter filter_;
  Tape& t_;
  std::vector<char> guard_;
  size_t tableCount_ = 0;
};

}  // namespace netcg::nft
