// payload (load): copy `len` bytes at `offset` from a header into a register.
// Payload writes (checksum-updating statements) are not modelled: they decode
// as unknown.
#include <linux/netfilter/nf_tables.h>

#include "js.h"
#include "nft/expr/expr.h"

namespace netcg::nft::expr {

namespace {

// Indexed by enum nft_payload_bases.
const char* const kBases[] = {"ll", "network", "transport"};
constexpr size_t kBaseCount = sizeof kBases / sizeof kBases[0];

void encodePayload(nftnl_expr* e, const Fields& o, const std::string& path) {
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE,
                     keyIndex(getString(o, "base", path), kBases, kBaseCount, path + ".base"));
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, getU32(o, "offset", path));
  uint32_t len = getU32(o, "len", path);
  if (len == 0 || len > NFT_DATA_VALUE_MAXLEN) throw InputError{path + ".len", "must be 1..64"};
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, getReg(o, "dreg", path));
}

bool decodePayload(const nftnl_expr* e, Tape& out) {
  if (nftnl_expr_is_set(e, NFTNL_EXPR_PAYLOAD_SREG)) return false;  // a write
  auto base = readU32(e, NFTNL_EXPR_PAYLOAD_BASE);
  auto offset = readU32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
  auto len = readU32(e, NFTNL_EXPR_PAYLOAD_LEN);
  auto dreg = readU32(e, NFTNL_EXPR_PAYLOAD_DREG);
  const char* baseName = base ? keyName(*base, kBases, kBaseCount) : nullptr;
  if (baseName == nullptr || !offset || !len || !dreg) return false;
  put(out, "base", baseName);
  put(out, "offset", *offset);
  put(out, "len", *len);
  put(out, "dreg", *dreg);
  return true;
}

}  // namespace

const Kind kPayload{"payload", encodePayload, decodePayload};

}  // namespace netcg::nft::expr
