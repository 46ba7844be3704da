// reject: answer with an ICMP error or TCP reset ({rejectType: NFT_REJECT_*, code}).
#include <linux/netfilter/nf_tables.h>

#include "js.h"
#include "nft/expr/expr.h"

namespace netcg::nft::expr {

namespace {

void encodeReject(nftnl_expr* e, const Fields& o, const std::string& path) {
  nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, getU32(o, "rejectType", path));
  uint32_t code = getU32(o, "code", path);
  if (code > 255) throw InputError{path + ".code", "must be 0..255"};
  nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, uint8_t(code));
}

bool decodeReject(const nftnl_expr* e, Tape& out) {
  auto type = readU32(e, NFTNL_EXPR_REJECT_TYPE);
  if (!type) return false;
  put(out, "rejectType", *type);
  // A TCP reset has no code on the wire; 0 is what we would have sent.
  put(out, "code", uint32_t(readU8(e, NFTNL_EXPR_REJECT_CODE).value_or(0)));
  return true;
}

}  // namespace

const Kind kReject{"reject", encodeReject, decodeReject};

}  // namespace netcg::nft::expr
