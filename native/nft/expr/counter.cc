// counter: packets and bytes seen (initial values on add, live values on dump).
#include "js.h"
#include "nft/expr/expr.h"

namespace netcg::nft::expr {

namespace {

void encodeCounter(nftnl_expr* e, const Fields& o, const std::string& path) {
  uint64_t packets = !has(o, "packets") ? 0 : getU64(o, "packets", path);
  uint64_t bytes = !has(o, "bytes") ? 0 : getU64(o, "bytes", path);
  nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, packets);
  nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, bytes);
}

bool decodeCounter(const nftnl_expr* e, Tape& out) {
  auto packets = readU64(e, NFTNL_EXPR_CTR_PACKETS);
  auto bytes = readU64(e, NFTNL_EXPR_CTR_BYTES);
  if (!packets || !bytes) return false;
  // Doubles are exact to 2^53: 9 PB or 9e15 packets, beyond any real counter.
  put(out, "packets", double(*packets));
  put(out, "bytes", double(*bytes));
  return true;
}

}  // namespace

const Kind kCounter{"counter", encodeCounter, decodeCounter};

}  // namespace netcg::nft::expr
