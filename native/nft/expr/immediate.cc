// immediate: load constant bytes into a data register ({dreg, data}) or set the
// verdict register ({dreg: 0, verdict}).
#include <linux/netfilter/nf_tables.h>

#include "js.h"
#include "nft/expr/expr.h"
#include "nft/verdict.h"

namespace netcg::nft::expr {

namespace {

void encodeImmediate(nftnl_expr* e, const Fields& o, const std::string& path) {
  uint32_t dreg = getReg(o, "dreg", path);
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
  auto verdict = getOptObject(o, "verdict", path);
  auto data = getOptBytes(o, "data", path);
  if (verdict.has_value() == data.has_value()) throw InputError{path, "needs exactly one of data or verdict"};
  if (verdict) {
    if (dreg != NFT_REG_VERDICT) throw InputError{path + ".dreg", "a verdict goes to register 0"};
    VerdictValue v = verdictFromJs(*verdict, path + ".verdict");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, uint32_t(v.code));
    if (!v.chain.empty()) nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, v.chain.c_str());
    return;
  }
  if (dreg == NFT_REG_VERDICT) throw InputError{path + ".dreg", "data cannot go to the verdict register"};
  if (data->empty() || data->size() > NFT_DATA_VALUE_MAXLEN)
    throw InputError{path + ".data", "must be 1..64 bytes"};
  nftnl_expr_set_data(e, NFTNL_EXPR_IMM_DATA, data->data(), uint32_t(data->size()));
}

bool decodeImmediate(const nftnl_expr* e, Tape& out) {
  auto dreg = readU32(e, NFTNL_EXPR_IMM_DREG);
  if (!dreg) return false;
  put(out, "dreg", *dreg);
  if (auto code = readU32(e, NFTNL_EXPR_IMM_VERDICT)) {
    // The chain attribute is NUL-terminated (readStr checked), so data() is a C string.
    auto chain = readStr(e, NFTNL_EXPR_IMM_CHAIN);
    return putVerdict(out, "verdict", int32_t(*code), chain ? chain->data() : nullptr);
  }
  auto data = readBytes(e, NFTNL_EXPR_IMM_DATA);
  if (!data) return false;
  put(out, "data", *data);
  return true;
}

}  // namespace

const Kind kImmediate{"immediate", encodeImmediate, decodeImmediate};

}  // namespace netcg::nft::expr
