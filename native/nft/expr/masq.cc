// masq: source NAT to the output interface's address, optionally with a port range.
// Fields are optional and sent only when given, as the kernel dumps them back.
#include "js.h"
#include "nft/expr/expr.h"

namespace netcg::nft::expr {

namespace {

void encodeMasq(nftnl_expr* e, const Fields& o, const std::string& path) {
  auto min = getOptReg(o, "regProtoMin", path);
  auto max = getOptReg(o, "regProtoMax", path);
  if (max && !min) throw InputError{path + ".regProtoMax", "needs regProtoMin"};
  if (min) nftnl_expr_set_u32(e, NFTNL_EXPR_MASQ_REG_PROTO_MIN, *min);
  if (max) nftnl_expr_set_u32(e, NFTNL_EXPR_MASQ_REG_PROTO_MAX, *max);
  // The kernel dumps flags only when non-zero, so 0 is "absent".
  if (auto flags = getOptU32(o, "flags", path); flags && *flags != 0)
    nftnl_expr_set_u32(e, NFTNL_EXPR_MASQ_FLAGS, *flags);
}

bool decodeMasq(const nftnl_expr* e, Tape& out) {
  if (auto min = readU32(e, NFTNL_EXPR_MASQ_REG_PROTO_MIN)) put(out, "regProtoMin", *min);
  if (auto max = readU32(e, NFTNL_EXPR_MASQ_REG_PROTO_MAX)) put(out, "regProtoMax", *max);
  if (auto flags = readU32(e, NFTNL_EXPR_MASQ_FLAGS)) put(out, "flags", *flags);
  return true;
}

}  // namespace

const Kind kMasq{"masq", encodeMasq, decodeMasq};

}  // namespace netcg::nft::expr
