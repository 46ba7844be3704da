#include "nft/verdict.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "js.h"

namespace netcg::nft {

namespace {
struct Named {
  const char* name;
  int32_t code;
};
constexpr Named kVerdicts[] = {
    {"accept", NF_ACCEPT}, {"drop", NF_DROP},  {"continue", NFT_CONTINUE}, {"return", NFT_RETURN},
    {"break", NFT_BREAK},  {"jump", NFT_JUMP}, {"goto", NFT_GOTO},
};
bool takesChain(int32_t code) { return code == NFT_JUMP || code == NFT_GOTO; }
}  // namespace

const char* verdictName(int32_t code) {
  for (const auto& n : kVerdicts)
    if (code == n.code) return n.name;
  return nullptr;
}

bool verdictTakesChain(int32_t code) { return takesChain(code); }

VerdictValue verdictFromJs(const Fields& v, const std::string& path) {
  std::string code = getString(v, "code", path);
  for (const auto& n : kVerdicts) {
    if (code != n.name) continue;
    VerdictValue out{n.code, ""};
    if (takesChain(n.code)) {
      out.chain = getString(v, "chain", path);
      if (out.chain.empty() || out.chain.size() > 255)
        throw InputError{path + ".chain", "invalid chain name"};
    }
    return out;
  }
  throw InputError{path + ".code", "unknown verdict '" + code + "'"};
}

std::optional<Napi::Object> verdictToJs(Napi::Env env, int32_t code, const char* chain) {
  for (const auto& n : kVerdicts) {
    if (code != n.code) continue;
    Napi::Object o = Napi::Object::New(env);
    o.Set("code", n.name);
    if (takesChain(code)) {
      if (chain == nullptr) return std::nullopt;
      o.Set("chain", chain);
    }
    return o;
  }
  return std::nullopt;
}

}  // namespace netcg::nft
