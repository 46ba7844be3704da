// Maps the JS `type` to its kind, and the strict attribute readers.
#include <linux/netfilter/nf_tables.h>

#include <cstring>

#include "js.h"
#include "nft/expr/expr.h"
#include "nft/verdict.h"

namespace netcg::nft::expr {

namespace {

const Kind* const kKinds[] = {&kMeta,  &kCmp,  &kPayload, &kImmediate, &kBitwise, &kLookup, &kCounter,
                              &kRedir, &kMasq, &kReject,  &kCt,        &kSocket,  &kFib};

const Kind* findKind(const char* name) {
  for (const Kind* k : kKinds)
    if (std::strcmp(k->name, name) == 0) return k;
  return nullptr;
}

// Present and exactly `size` bytes, else nullptr.
const void* sized(const nftnl_expr* e, uint16_t attr, uint32_t size) {
  if (!nftnl_expr_is_set(e, attr)) return nullptr;
  uint32_t len = 0;
  const void* p = nftnl_expr_get(e, attr, &len);
  return p != nullptr && len == size ? p : nullptr;
}

}  // namespace

ExprPtr encode(const Fields& o, const std::string& path) {
  std::string type = getString(o, "type", path);
  const Kind* kind = findKind(type.c_str());
  if (kind == nullptr) throw InputError{path + ".type", "unknown expression type '" + type + "'"};
  ExprPtr e(nftnl_expr_alloc(kind->name));
  if (!e) throw InputError{path + ".type", "libnftnl cannot build '" + type + "'"};
  kind->encode(e.get(), o, path);
  return e;
}

void decode(const nftnl_expr* e, Tape& out) {
  const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
  const Kind* kind = name != nullptr ? findKind(name) : nullptr;
  Tape::Mark start = out.mark();
  out.beginObject();
  put(out, "type", name != nullptr ? name : "?");
  if (kind != nullptr) {
    if (kind->decode(e, out)) {
      out.end();
      return;
    }
    // A variant we do not model: drop what the decoder wrote, keep only the type.
    out.rollback(start);
    out.beginObject();
    put(out, "type", name);
  }
  out.key("unknown");
  out.boolean(true);
  out.end();
}

bool putVerdict(Tape& t, const char* k, int32_t code, const char* chain) {
  const char* name = verdictName(code);
  if (name == nullptr) return false;
  bool jumps = verdictTakesChain(code);
  if (jumps && chain == nullptr) return false;
  t.key(k);
  t.beginObject();
  put(t, "code", name);
  if (jumps) put(t, "chain", chain);
  t.end();
  return true;
}

std::optional<uint8_t> readU8(const nftnl_expr* e, uint16_t attr) {
  if (const void* p = sized(e, attr, 1)) return *static_cast<const uint8_t*>(p);
  return std::nullopt;
}

std::optional<uint32_t> readU32(const nftnl_expr* e, uint16_t attr) {
  if (const void* p = sized(e, attr, 4)) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  return std::nullopt;
}

std::optional<uint64_t> readU64(const nftnl_expr* e, uint16_t attr) {
  if (const void* p = sized(e, attr, 8)) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  return std::nullopt;
}

std::optional<Bytes> readBytes(const nftnl_expr* e, uint16_t attr) {
  if (!nftnl_expr_is_set(e, attr)) return std::nullopt;
  uint32_t len = 0;
  const void* p = nftnl_expr_get(e, attr, &len);
  if (p == nullptr || len > NFT_DATA_VALUE_MAXLEN) return std::nullopt;
  return Bytes{p, len};
}

std::optional<std::string_view> readStr(const nftnl_expr* e, uint16_t attr) {
  if (!nftnl_expr_is_set(e, attr)) return std::nullopt;
  uint32_t len = 0;
  const auto* p = static_cast<const char*>(nftnl_expr_get(e, attr, &len));
  const void* nul = p != nullptr && len > 0 ? std::memchr(p, '\0', len) : nullptr;
  if (nul == nullptr) return std::nullopt;
  return std::string_view(p, size_t(static_cast<const char*>(nul) - p));
}

uint32_t getReg(const Fields& o, const char* key, const std::string& path) {
  uint32_t r = getU32(o, key, path);
  if (r > NFT_REG32_15) throw InputError{path + "." + key, "register out of range (0..23)"};
  return r;
}

std::optional<uint32_t> getOptReg(const Fields& o, const char* key, const std::string& path) {
  if (!has(o, key)) return std::nullopt;
  return getReg(o, key, path);
}

uint32_t keyIndex(const std::string& name, const char* const* names, size_t count, const std::string& path) {
  for (size_t i = 0; i < count; i++)
    if (names[i] != nullptr && name == names[i]) return uint32_t(i);
  throw InputError{path, "unknown key '" + name + "'"};
}

const char* keyName(uint32_t v, const char* const* names, size_t count) {
  return v < count ? names[v] : nullptr;
}

}  // namespace netcg::nft::expr
