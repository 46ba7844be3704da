// NetlinkMonitor: rtnetlink + nf_tables notifications delivered to a JS callback
// from Node's own event loop (see monitor.cc).
#pragma once

#include <napi.h>

namespace netcg {

Napi::Function DefineNetlinkMonitor(Napi::Env env);

}  // namespace netcg
