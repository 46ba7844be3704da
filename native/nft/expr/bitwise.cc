// bitwise (boolean form): dreg = (sreg & mask) ^ xor over `len` bytes. The
// shift forms are not modelled and decode as unknown.
#include <linux/netfilter/nf_tables.h>

#include "js.h"
#include "nft/expr/expr.h"

namespace netcg::nft::expr {

namespace {

void encodeBitwise(nftnl_expr* e, const Fields& o, const std::string& path) {
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, getReg(o, "sreg", path));
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, getReg(o, "dreg", path));
  uint32_t len = getU32(o, "len", path);
  auto mask = getBytes(o, "mask", path);
  auto xorBytes = getBytes(o, "xor", path);
  if (len == 0 || len > NFT_DATA_VALUE_MAXLEN) throw InputError{path + ".len", "must be 1..64"};
  if (mask.size() != len) throw InputError{path + ".mask", "must be len bytes"};
  if (xorBytes.size() != len) throw InputError{path + ".xor", "must be len bytes"};
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
  nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_MASK, mask.data(), len);
  nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_XOR, xorBytes.data(), len);
}

bool decodeBitwise(const nftnl_expr* e, Tape& out) {
  auto op = readU32(e, NFTNL_EXPR_BITWISE_OP);
  if (op && *op != NFT_BITWISE_BOOL) return false;
  auto sreg = readU32(e, NFTNL_EXPR_BITWISE_SREG);
  auto dreg = readU32(e, NFTNL_EXPR_BITWISE_DREG);
  auto len = readU32(e, NFTNL_EXPR_BITWISE_LEN);
  auto mask = readBytes(e, NFTNL_EXPR_BITWISE_MASK);
  auto xorBytes = readBytes(e, NFTNL_EXPR_BITWISE_XOR);
  if (!sreg || !dreg || !len || !mask || !xorBytes) return false;
  put(out, "sreg", *sreg);
  put(out, "dreg", *dreg);
  put(out, "len", *len);
  put(out, "mask", *mask);
  put(out, "xor", *xorBytes);
  return true;
}

}  // namespace

const Kind kBitwise{"bitwise", encodeBitwise, decodeBitwise};

}  // namespace netcg::nft::expr
