#include "nft/nft.h"
namespace netcg::nft {
Napi::Object dump(Napi::Env, NetlinkSocket&, std::optional<uint16_t>, std::optional<std::string>) { throw NetlinkFailure{ENOSYS, "nft.dump", "", -1, -1, false}; }
}
