#include "nft/nft.h"
namespace netcg::nft {
void commit(NetlinkSocket&, const Napi::Array&, std::optional<uint32_t>) { throw NetlinkFailure{ENOSYS, "nft.commit", "", -1, -1, false}; }
}
