// cmp: compare a register with constant bytes ({sreg, op, data}).
#include <linux/netfilter/nf_tables.h>

#include "js.h"
#include "nft/expr/expr.h"

namespace netcg::nft::expr {

namespace {

// Indexed by enum nft_cmp_ops.
const char* const kOps[] = {"eq", "neq", "lt", "lte", "gt", "gte"};
constexpr size_t kOpCount = sizeof kOps / sizeof kOps[0];

void encodeCmp(nftnl_expr* e, const Fields& o, const std::string& path) {
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, getReg(o, "sreg", path));
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, keyIndex(getString(o, "op", path), kOps, kOpCount, path + ".op"));
  auto data = getBytes(o, "data", path);
  if (data.empty() || data.size() > NFT_DATA_VALUE_MAXLEN)
    throw InputError{path + ".data", "must be 1..64 bytes"};
  nftnl_expr_set_data(e, NFTNL_EXPR_CMP_DATA, data.data(), uint32_t(data.size()));
}

bool decodeCmp(const nftnl_expr* e, Tape& out) {
  auto sreg = readU32(e, NFTNL_EXPR_CMP_SREG);
  auto op = readU32(e, NFTNL_EXPR_CMP_OP);
  auto data = readBytes(e, NFTNL_EXPR_CMP_DATA);
  const char* opName = op ? keyName(*op, kOps, kOpCount) : nullptr;
  if (!sreg || opName == nullptr || !data) return false;
  put(out, "sreg", *sreg);
  put(out, "op", opName);
  put(out, "data", *data);
  return true;
}

}  // namespace

const Kind kCmp{"cmp", encodeCmp, decodeCmp};

}  // namespace netcg::nft::expr
