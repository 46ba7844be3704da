// redir: redirect to a local port taken from registers (DNAT to the host).
// Fields are optional and sent only when given, as the kernel dumps them back.
#include "js.h"
#include "nft/expr/expr.h"

namespace netcg::nft::expr {

namespace {

void encodeRedir(nftnl_expr* e, const Fields& o, const std::string& path) {
  auto min = getOptReg(o, "regProtoMin", path);
  auto max = getOptReg(o, "regProtoMax", path);
  if (max && !min) throw InputError{path + ".regProtoMax", "needs regProtoMin"};
  if (min) nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN, *min);
  if (max) nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MAX, *max);
  // The kernel dumps flags only when non-zero, so 0 is "absent".
  if (auto flags = getOptU32(o, "flags", path); flags && *flags != 0)
    nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_FLAGS, *flags);
}

bool decodeRedir(const nftnl_expr* e, Tape& out) {
  if (auto min = readU32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN)) put(out, "regProtoMin", *min);
  if (auto max = readU32(e, NFTNL_EXPR_REDIR_REG_PROTO_MAX)) put(out, "regProtoMax", *max);
  if (auto flags = readU32(e, NFTNL_EXPR_REDIR_FLAGS)) put(out, "flags", *flags);
  return true;
}

}  // namespace

const Kind kRedir{"redir", encodeRedir, decodeRedir};

}  // namespace netcg::nft::expr
