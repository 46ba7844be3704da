// rtnetlink translator: ip rules, routes and links as plain JS objects
// (RtRule / RtRoute / RtLink in src/native/types.ts). Stateless and policy-free:
// each call builds one request, sends it through NetlinkSocket, decodes replies.
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>

#include "../netlink/socket.h"
#include "decode.h"

namespace netcg::rtnl {

// Adds (NLM_F_CREATE|NLM_F_EXCL, so a duplicate is EEXIST) or deletes a rule.
// A delete carries every identifying field given, so it only matches that rule.
// Throws NetlinkFailure or InputError.
void ruleChange(NetlinkSocket& s, const Napi::Object& rule, bool add);
Napi::Array ruleDump(Napi::Env env, NetlinkSocket& s, const RuleFilter& filter);

void routeChange(NetlinkSocket& s, const Napi::Object& route, bool add);
// Asks the kernel for the matching routes only when it checks strictly (see
// RouteFilter); a table or device that does not exist yields no routes.
Napi::Array routeDump(Napi::Env env, NetlinkSocket& s, const RouteFilter& filter);

Napi::Array linkDump(Napi::Env env, NetlinkSocket& s);

}  // namespace netcg::rtnl
