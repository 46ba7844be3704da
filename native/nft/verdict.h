// Verdicts ({ code: 'accept' } / { code: 'jump', chain }) <-> NF_*/NFT_* codes;
// shared by the immediate expression and verdict-map elements.
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>

namespace netcg::nft {

struct VerdictValue {
  int32_t code;
  std::string chain;  // only for jump/goto
};

VerdictValue verdictFromJs(const Napi::Object& v, const std::string& path);  // throws InputError
// nullopt for a code we do not know (the caller reports it as unknown).
std::optional<Napi::Object> verdictToJs(Napi::Env env, int32_t code, const char* chain);

}  // namespace netcg::nft
