// socket: a property of the packet's local socket ({key, dreg}); for cgroupv2,
// `level` is the ancestor level of the cgroup path to compare.
#include <linux/netfilter/nf_tables.h>

#include "js.h"
#include "nft/expr/expr.h"

namespace netcg::nft::expr {

namespace {

#ifndef NFT_SOCKET_CGROUPV2
#define NFT_SOCKET_CGROUPV2 3
#endif

// Indexed by enum nft_socket_keys.
const char* const kKeys[] = {"transparent", "mark", "wildcard", "cgroupv2"};
constexpr size_t kKeyCount = sizeof kKeys / sizeof kKeys[0];

void encodeSocket(nftnl_expr* e, const Fields& o, const std::string& path) {
  uint32_t key = keyIndex(getString(o, "key", path), kKeys, kKeyCount, path + ".key");
  nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_KEY, key);
  nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_DREG, getReg(o, "dreg", path));
  auto level = getOptU32(o, "level", path);
  if (key == NFT_SOCKET_CGROUPV2 && !level) throw InputError{path + ".level", "is required for cgroupv2"};
  if (key != NFT_SOCKET_CGROUPV2 && level) throw InputError{path + ".level", "only applies to cgroupv2"};
  if (level) nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_LEVEL, *level);
}

bool decodeSocket(const nftnl_expr* e, Tape& out) {
  auto key = readU32(e, NFTNL_EXPR_SOCKET_KEY);
  auto dreg = readU32(e, NFTNL_EXPR_SOCKET_DREG);
  const char* name = key ? keyName(*key, kKeys, kKeyCount) : nullptr;
  if (name == nullptr || !dreg) return false;
  put(out, "key", name);
  put(out, "dreg", *dreg);
  if (auto level = readU32(e, NFTNL_EXPR_SOCKET_LEVEL)) put(out, "level", *level);
  return true;
}

}  // namespace

const Kind kSocket{"socket", encodeSocket, decodeSocket};

}  // namespace netcg::nft::expr
