// NetlinkHandle: the JS object bound to one network namespace (like
// vishvananda/netlink's Handle). It owns one NETLINK_NETFILTER and one
// NETLINK_ROUTE socket, opened in the namespace given at construction, and a
// NETLINK_SOCK_DIAG socket opened there on the first sockDump; the sockets stay
// in that namespace even though the thread moves on.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "netlink/socket.h"

namespace netcg {

class NetlinkHandle : public Napi::ObjectWrap<NetlinkHandle> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit NetlinkHandle(const Napi::CallbackInfo& info);

 private:
  Napi::Value NftCommit(const Napi::CallbackInfo& info);
  Napi::Value NftDump(const Napi::CallbackInfo& info);
  Napi::Value NftGenid(const Napi::CallbackInfo& info);
  Napi::Value RuleAdd(const Napi::CallbackInfo& info);
  Napi::Value RuleDel(const Napi::CallbackInfo& info);
  Napi::Value RuleDump(const Napi::CallbackInfo& info);
  Napi::Value RouteAdd(const Napi::CallbackInfo& info);
  Napi::Value RouteDel(const Napi::CallbackInfo& info);
  Napi::Value RouteDump(const Napi::CallbackInfo& info);
  Napi::Value LinkDump(const Napi::CallbackInfo& info);
  Napi::Value SockDump(const Napi::CallbackInfo& info);
  Napi::Value SocketInfo(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  NetlinkSocket& nft();
  NetlinkSocket& route();
  NetlinkSocket& diag();

  std::string netns_;
  bool closed_ = false;
  std::unique_ptr<NetlinkSocket> nft_;
  std::unique_ptr<NetlinkSocket> route_;
  std::unique_ptr<NetlinkSocket> diag_;
};

}  // namespace netcg
