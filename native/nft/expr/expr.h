// Expression registry: one {encode, decode} pair per expression kind, each in its
// own file (expr/<kind>.cc). The JS `type` is the kernel's expression name.
//
// Decoding is strict: an attribute is only read when present with exactly the
// expected length, and an expression we do not understand (unknown kind, or a
// variant we do not model) becomes { type: '<name>', unknown: true } instead of
// a guess or a crash. A dump must never read out of bounds, whatever it holds.
#pragma once

#include <libnftnl/expr.h>
#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nft/objects.h"
#include "nft/optape.h"
#include "nft/tape.h"

namespace netcg::nft::expr {

// Fills an expression already allocated with the kind's kernel name.
using Encoder = void (*)(nftnl_expr* e, const Fields& o, const std::string& path);
// Writes the members after `type` into the open object on `out` (key() then a
// value, per member); returns false for "unknown variant" (the caller rolls back).
// No napi here: see nft/tape.h for why.
using Decoder = bool (*)(const nftnl_expr* e, Tape& out);

struct Kind {
  const char* name;  // JS type == kernel expression name
  Encoder encode;
  Decoder decode;
};

// Defined one per file.
extern const Kind kMeta, kCmp, kPayload, kImmediate, kBitwise, kLookup, kCounter, kRedir, kMasq, kReject, kCt,
    kSocket, kFib;

// Encodes one JS expression; the caller owns the result (until nftnl_rule_add_expr).
// Throws InputError naming `path`.
ExprPtr encode(const Fields& o, const std::string& path);
// Writes one kernel expression as an object on `out`; never throws for malformed
// or unknown input (an unknown one is { type, unknown: true }).
void decode(const nftnl_expr* e, Tape& out);

// ---- strict attribute readers for decoders (nullopt when absent or mis-sized)
std::optional<uint8_t> readU8(const nftnl_expr* e, uint16_t attr);
std::optional<uint32_t> readU32(const nftnl_expr* e, uint16_t attr);
std::optional<uint64_t> readU64(const nftnl_expr* e, uint16_t attr);
// Views into the expression: valid while `e` lives.
struct Bytes {
  const void* data;
  uint32_t len;
};
std::optional<Bytes> readBytes(const nftnl_expr* e, uint16_t attr);
std::optional<std::string_view> readStr(const nftnl_expr* e, uint16_t attr);

// One-line members for decoders.
inline void put(Tape& t, const char* k, uint32_t v) {
  t.key(k);
  t.u32(v);
}
inline void put(Tape& t, const char* k, std::string_view v) {
  t.key(k);
  t.str(v);
}
inline void put(Tape& t, const char* k, const char* v) {
  t.key(k);
  t.str(v);
}
inline void put(Tape& t, const char* k, double v) {
  t.key(k);
  t.f64(v);
}
inline void put(Tape& t, const char* k, bool v) {
  t.key(k);
  t.boolean(v);
}
inline void put(Tape& t, const char* k, const Bytes& v) {
  t.key(k);
  t.bytes(v.data, v.len);
}
// A verdict object ({code} or {code, chain}); false when the code is unknown or a jump lacks its chain.
bool putVerdict(Tape& t, const char* k, int32_t code, const char* chain);

// ---- encoder helpers
// A register number: NFT_REG_VERDICT..NFT_REG32_15 (0..23).
uint32_t getReg(const Fields& o, const char* key, const std::string& path);
std::optional<uint32_t> getOptReg(const Fields& o, const char* key, const std::string& path);
// Index of `name` in `names` (a table indexed by kernel value; nullptr = unnamed).
uint32_t keyIndex(const std::string& name, const char* const* names, size_t count, const std::string& path);
// Name for kernel value `v`, nullptr when out of the table or unnamed.
const char* keyName(uint32_t v, const char* const* names, size_t count);

}  // namespace netcg::nft::expr
