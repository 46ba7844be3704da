// Verdicts ({ code: 'accept' } / { code: 'jump', chain }) <-> NF_*/NFT_* codes;
// shared by the immediate expression and verdict-map elements.
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>

#include "nft/optape.h"

namespace netcg::nft {

struct VerdictValue {
  int32_t code;
  std::string chain;  // only for jump/goto
};

VerdictValue verdictFromJs(const Fields& v, const std::string& path);  // throws InputError
// nullopt for a code we do not know (the caller reports it as unknown).
std::optional<Napi::Object> verdictToJs(Napi::Env env, int32_t code, const char* chain);

// The JS name of a verdict code (nullptr when unknown), and whether it names a chain.
const char* verdictName(int32_t code);
bool verdictTakesChain(int32_t code);

}  // namespace netcg::nft
