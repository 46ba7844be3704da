// lookup: is the register's value in a set ({sreg, set, invert?}); with dreg,
// a map lookup; with dreg 0, a verdict map (`vmap`).
#include <linux/netfilter/nf_tables.h>

#include "js.h"
#include "nft/expr/expr.h"

namespace netcg::nft::expr {

namespace {

void encodeLookup(nftnl_expr* e, const Fields& o, const std::string& path) {
  nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, getReg(o, "sreg", path));
  std::string set = getString(o, "set", path);
  if (set.empty() || set.size() > 255) throw InputError{path + ".set", "invalid set name"};
  nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set.c_str());
  if (auto dreg = getOptReg(o, "dreg", path)) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, *dreg);
  if (getOptBool(o, "invert", false, path)) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
  // NFTNL_EXPR_LOOKUP_SET_ID is filled by the batch when the set is created in it.
}

bool decodeLookup(const nftnl_expr* e, Tape& out) {
  auto sreg = readU32(e, NFTNL_EXPR_LOOKUP_SREG);
  auto set = readStr(e, NFTNL_EXPR_LOOKUP_SET);
  if (!sreg || !set) return false;
  put(out, "sreg", *sreg);
  put(out, "set", *set);
  if (auto dreg = readU32(e, NFTNL_EXPR_LOOKUP_DREG)) put(out, "dreg", *dreg);
  auto flags = readU32(e, NFTNL_EXPR_LOOKUP_FLAGS).value_or(0);
  if (flags & ~uint32_t(NFT_LOOKUP_F_INV)) return false;
  if (flags & NFT_LOOKUP_F_INV) put(out, "invert", true);
  return true;
}

}  // namespace

const Kind kLookup{"lookup", encodeLookup, decodeLookup};

}  // namespace netcg::nft::expr
