// meta: load a packet/socket property into a register ({key, dreg}), or set one
// from a register ({key, sreg}, e.g. `meta mark set`).
#include <linux/netfilter/nf_tables.h>

#include "js.h"
#include "nft/expr/expr.h"

namespace netcg::nft::expr {

namespace {

// Indexed by enum nft_meta_keys; nullptr = a key we do not model.
const char* const kKeys[] = {
    "len",     "protocol", "priority", "mark",     "iif",       "oif",    "iifname", "oifname", "iiftype",
    "oiftype", "skuid",    "skgid",    "nftrace",  "rtclassid", nullptr,  "nfproto", "l4proto", nullptr,
    nullptr,   "pkttype",  "cpu",      "iifgroup", "oifgroup",  "cgroup", "prandom",
};
constexpr size_t kKeyCount = sizeof kKeys / sizeof kKeys[0];

void encodeMeta(nftnl_expr* e, const Fields& o, const std::string& path) {
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY,
                     keyIndex(getString(o, "key", path), kKeys, kKeyCount, path + ".key"));
  auto dreg = getOptReg(o, "dreg", path);
  auto sreg = getOptReg(o, "sreg", path);
  if (dreg.has_value() == sreg.has_value())
    throw InputError{path, "needs exactly one of dreg (load) or sreg (set)"};
  if (dreg) nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, *dreg);
  if (sreg) nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, *sreg);
}

bool decodeMeta(const nftnl_expr* e, Tape& out) {
  auto key = readU32(e, NFTNL_EXPR_META_KEY);
  const char* name = key ? keyName(*key, kKeys, kKeyCount) : nullptr;
  if (name == nullptr) return false;
  put(out, "key", name);
  auto dreg = readU32(e, NFTNL_EXPR_META_DREG);
  auto sreg = readU32(e, NFTNL_EXPR_META_SREG);
  if (dreg.has_value() == sreg.has_value()) return false;
  if (dreg) put(out, "dreg", *dreg);
  if (sreg) put(out, "sreg", *sreg);
  return true;
}

}  // namespace

const Kind kMeta{"meta", encodeMeta, decodeMeta};

}  // namespace netcg::nft::expr
