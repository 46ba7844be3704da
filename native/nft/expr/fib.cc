// fib: a FIB lookup result ({flags: NFTA_FIB_F_*, result: NFT_FIB_RESULT_*, dreg}).
#include <linux/netfilter/nf_tables.h>

#include "js.h"
#include "nft/expr/expr.h"

namespace netcg::nft::expr {

namespace {

void encodeFib(nftnl_expr* e, const Fields& o, const std::string& path) {
  nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, getU32(o, "flags", path));
  nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, getU32(o, "result", path));
  nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, getReg(o, "dreg", path));
}

bool decodeFib(const nftnl_expr* e, Tape& out) {
  auto flags = readU32(e, NFTNL_EXPR_FIB_FLAGS);
  auto result = readU32(e, NFTNL_EXPR_FIB_RESULT);
  auto dreg = readU32(e, NFTNL_EXPR_FIB_DREG);
  if (!flags || !result || !dreg) return false;
  put(out, "flags", *flags);
  put(out, "result", *result);
  put(out, "dreg", *dreg);
  return true;
}

}  // namespace

const Kind kFib{"fib", encodeFib, decodeFib};

}  // namespace netcg::nft::expr
