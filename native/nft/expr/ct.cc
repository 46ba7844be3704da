// ct: load a conntrack property ({key, dreg, dir?}) or set the ct mark ({key: 'mark', sreg}).
#include <linux/netfilter/nf_tables.h>

#include "js.h"
#include "nft/expr/expr.h"

namespace netcg::nft::expr {

namespace {

// Indexed by enum nft_ct_keys; only the keys we model.
const char* const kKeys[] = {"state", "direction", "status", "mark"};
constexpr size_t kKeyCount = sizeof kKeys / sizeof kKeys[0];
static_assert(NFT_CT_STATE == 0 && NFT_CT_DIRECTION == 1 && NFT_CT_STATUS == 2 && NFT_CT_MARK == 3);

void encodeCt(nftnl_expr* e, const Fields& o, const std::string& path) {
  uint32_t key = keyIndex(getString(o, "key", path), kKeys, kKeyCount, path + ".key");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
  auto dreg = getOptReg(o, "dreg", path);
  auto sreg = getOptReg(o, "sreg", path);
  if (dreg.has_value() == sreg.has_value())
    throw InputError{path, "needs exactly one of dreg (load) or sreg (set)"};
  if (sreg && key != NFT_CT_MARK) throw InputError{path + ".key", "only the mark can be set"};
  if (dreg) nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, *dreg);
  if (sreg) nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, *sreg);
  if (auto dir = getOptU32(o, "dir", path)) {
    if (*dir > 1) throw InputError{path + ".dir", "must be 0 (original) or 1 (reply)"};
    nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, uint8_t(*dir));
  }
}

bool decodeCt(const nftnl_expr* e, Tape& out) {
  auto key = readU32(e, NFTNL_EXPR_CT_KEY);
  const char* name = key ? keyName(*key, kKeys, kKeyCount) : nullptr;
  if (name == nullptr) return false;
  put(out, "key", name);
  auto dreg = readU32(e, NFTNL_EXPR_CT_DREG);
  auto sreg = readU32(e, NFTNL_EXPR_CT_SREG);
  if (dreg.has_value() == sreg.has_value()) return false;
  if (dreg) put(out, "dreg", *dreg);
  if (sreg) put(out, "sreg", *sreg);
  if (auto dir = readU8(e, NFTNL_EXPR_CT_DIR)) put(out, "dir", uint32_t(*dir));
  return true;
}

}  // namespace

const Kind kCt{"ct", encodeCt, decodeCt};

}  // namespace netcg::nft::expr
