// NetlinkHandle methods: argument checking and error translation only; the
// actual translation lives in nft/ and rtnl/.
#include "handle.h"

#include <linux/netlink.h>
#include <netinet/in.h>

#include <cerrno>
#include <functional>
#include <string>

#include "diag/diag.h"
#include "errors.h"
#include "js.h"
#include "nft/nft.h"
#include "rtnl/attrs.h"
#include "rtnl/rtnl.h"

namespace netcg {

namespace {

// Runs `body`, turning our C++ failures into the JS error classes. `objectOf`
// picks the JS value the failure is about (e.g. ops[index] of a batch).
template <typename Body>
Napi::Value guarded(Napi::Env env, Body body,
                    const std::function<Napi::Value(const NetlinkFailure&)>& objectOf = nullptr) {
  try {
    return body();
  } catch (const NetlinkFailure& f) {
    throw makeNetlinkError(env, f, objectOf ? objectOf(f) : Napi::Value());
  } catch (const InputError& e) {
    throw makeInputError(env, e.path, e.what);
  }
}

Napi::Object argObject(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsObject()) throw makeInputError(info.Env(), name, "expected an object");
  return info[i].As<Napi::Object>();
}

int argFamily46(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber())
    throw makeInputError(info.Env(), "family", "expected 4 or 6");
  int f = info[i].As<Napi::Number>().Int32Value();
  if (f != 4 && f != 6) throw makeInputError(info.Env(), "family", "expected 4 or 6");
  return f;
}

NetlinkFailure closedFailure() {
  NetlinkFailure f;
  f.errnum = EBADF;
  f.op = "handle is closed";
  return f;
}

}  // namespace

Napi::Function NetlinkHandle::Define(Napi::Env env) {
  return DefineClass(env, "NetlinkHandle",
                     {
                         InstanceMethod<&NetlinkHandle::NftCommit>("nftCommit"),
                         InstanceMethod<&NetlinkHandle::NftDump>("nftDump"),
                         InstanceMethod<&NetlinkHandle::NftGenid>("nftGenid"),
                         InstanceMethod<&NetlinkHandle::RuleAdd>("ruleAdd"),
                         InstanceMethod<&NetlinkHandle::RuleDel>("ruleDel"),
                         InstanceMethod<&NetlinkHandle::RuleDump>("ruleDump"),
                         InstanceMethod<&NetlinkHandle::RouteAdd>("routeAdd"),
                         InstanceMethod<&NetlinkHandle::RouteDel>("routeDel"),
                         InstanceMethod<&NetlinkHandle::RouteDump>("routeDump"),
                         InstanceMethod<&NetlinkHandle::LinkDump>("linkDump"),
                         InstanceMethod<&NetlinkHandle::SockDump>("sockDump"),
                         InstanceMethod<&NetlinkHandle::SocketInfo>("socketInfo"),
                         InstanceMethod<&NetlinkHandle::Close>("close"),
                     });
}

NetlinkHandle::NetlinkHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkHandle>(info) {
  Napi::Env env = info.Env();
  std::string netns;
  if (info.Length() > 0 && !info[0].IsUndefined() && !info[0].IsNull()) {
    if (!info[0].IsObject()) throw makeInputError(env, "opts", "expected an object");
    guarded(env, [&] {
      netns = getOptString(info[0].As<Napi::Object>(), "netns", "opts").value_or("");
      return env.Undefined();
    });
  }
  netns_ = netns;
  guarded(env, [&] {
    nft_ = std::make_unique<NetlinkSocket>(NETLINK_NETFILTER, netns);
    route_ = std::make_unique<NetlinkSocket>(NETLINK_ROUTE, netns);
    return env.Undefined();
  });
}

NetlinkSocket& NetlinkHandle::nft() {
  if (!nft_) throw closedFailure();
  return *nft_;
}

NetlinkSocket& NetlinkHandle::route() {
  if (!route_) throw closedFailure();
  return *route_;
}

// Opened on first use: most handles never list sockets.
NetlinkSocket& NetlinkHandle::diag() {
  if (closed_) throw closedFailure();
  if (!diag_) diag_ = std::make_unique<NetlinkSocket>(NETLINK_SOCK_DIAG, netns_);
  return *diag_;
}

Napi::Value NetlinkHandle::NftCommit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // An array of op objects, or the same ops encoded by src/native/optape.ts
  // ({ tape, strings, ops }: `ops` only names the failed op in errors).
  if (info.Length() < 1 || !info[0].IsObject()) throw makeInputError(env, "ops", "expected an array");
  const bool encoded = !info[0].IsArray();
  Napi::Object arg = info[0].As<Napi::Object>();
  return guarded(
      env,
      [&] {
        std::optional<uint32_t> genid;
        if (info.Length() > 1 && info[1].IsObject())
          genid = getOptU32(info[1].As<Napi::Object>(), "genid", "opts");
        if (encoded)
          nft::commitTape(nft(), arg, genid);
        else
          nft::commit(nft(), arg.As<Napi::Array>(), genid);
        return env.Undefined();
      },
      [&](const NetlinkFailure& f) -> Napi::Value {
        Napi::Value list = encoded ? arg.Get("ops") : Napi::Value(arg);
        if (!list.IsArray()) return Napi::Value();
        Napi::Array ops = list.As<Napi::Array>();
        if (f.failedIndex >= 0 && uint64_t(f.failedIndex) < ops.Length())
          return ops.Get(uint32_t(f.failedIndex));
        return Napi::Value();
      });
}

Napi::Value NetlinkHandle::NftDump(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::optional<uint16_t> family;
    std::optional<std::string> table;
    if (info.Length() > 0 && info[0].IsObject()) {
      Napi::Object filter = info[0].As<Napi::Object>();
      if (auto f = getOptString(filter, "family", "filter"))
        family = nft::familyFromName(*f, "filter.family");
      table = getOptString(filter, "table", "filter");
    }
    bool asTape = false;
    if (info.Length() > 1 && info[1].IsObject())
      asTape = getOptBool(info[1].As<Napi::Object>(), "tape", false, "opts");
    return nft::dump(env, nft(), family, table, asTape);
  });
}

Napi::Value NetlinkHandle::NftGenid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value { return Napi::Number::New(env, nft::genid(nft())); });
}

Napi::Value NetlinkHandle::RuleAdd(const Napi::CallbackInfo& info) {
  Napi::Object rule = argObject(info, 0, "rule");
  return guarded(
      info.Env(),
      [&] {
        rtnl::ruleChange(route(), rule, true);
        return info.Env().Undefined();
      },
      [&](const NetlinkFailure&) -> Napi::Value { return rule; });
}

Napi::Value NetlinkHandle::RuleDel(const Napi::CallbackInfo& info) {
  Napi::Object rule = argObject(info, 0, "rule");
  return guarded(
      info.Env(),
      [&] {
        rtnl::ruleChange(route(), rule, false);
        return info.Env().Undefined();
      },
      [&](const NetlinkFailure&) -> Napi::Value { return rule; });
}

namespace {

// routeDump(4 | 6, table?) or routeDump({ family, table?, protocol?, type?, oif? }).
rtnl::RouteFilter routeFilterArg(const Napi::CallbackInfo& info) {
  rtnl::RouteFilter f;
  if (info.Length() > 0 && info[0].IsObject()) {
    Napi::Object o = info[0].As<Napi::Object>();
    f.af = rtnl::afFromFamily(getU32(o, "family", "filter"), "filter");
    f.table = getOptU32(o, "table", "filter");
    f.oif = getOptU32(o, "oif", "filter");
    f.protocol = rtnl::getOptU8(o, "protocol", "filter");
    f.type = rtnl::getOptU8(o, "type", "filter");
    return f;
  }
  f.af = argFamily46(info, 0) == 6 ? AF_INET6 : AF_INET;
  if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) {
    if (!info[1].IsNumber()) throw InputError{"table", "expected a number"};
    double t = info[1].As<Napi::Number>().DoubleValue();
    if (!(t >= 0 && t <= 4294967295.0) || t != double(uint32_t(t))) throw InputError{"table", "out of range"};
    f.table = uint32_t(t);
  }
  return f;
}

// ruleDump(4 | 6) or ruleDump({ family, table?, protocol? }).
rtnl::RuleFilter ruleFilterArg(const Napi::CallbackInfo& info) {
  rtnl::RuleFilter f;
  if (info.Length() > 0 && info[0].IsObject()) {
    Napi::Object o = info[0].As<Napi::Object>();
    f.af = rtnl::afFromFamily(getU32(o, "family", "filter"), "filter");
    f.table = getOptU32(o, "table", "filter");
    f.protocol = rtnl::getOptU8(o, "protocol", "filter");
    return f;
  }
  f.af = argFamily46(info, 0) == 6 ? AF_INET6 : AF_INET;
  return f;
}

Napi::Object buffersJs(Napi::Env env, const BufferSizes& b) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("rcvbuf", b.rcvbuf);
  o.Set("sndbuf", b.sndbuf);
  return o;
}

}  // namespace

Napi::Value NetlinkHandle::RuleDump(const Napi::CallbackInfo& info) {
  return guarded(info.Env(),
                 [&]() -> Napi::Value { return rtnl::ruleDump(info.Env(), route(), ruleFilterArg(info)); });
}

Napi::Value NetlinkHandle::RouteAdd(const Napi::CallbackInfo& info) {
  Napi::Object r = argObject(info, 0, "route");
  return guarded(
      info.Env(),
      [&] {
        rtnl::routeChange(route(), r, true);
        return info.Env().Undefined();
      },
      [&](const NetlinkFailure&) -> Napi::Value { return r; });
}

Napi::Value NetlinkHandle::RouteDel(const Napi::CallbackInfo& info) {
  Napi::Object r = argObject(info, 0, "route");
  return guarded(
      info.Env(),
      [&] {
        rtnl::routeChange(route(), r, false);
        return info.Env().Undefined();
      },
      [&](const NetlinkFailure&) -> Napi::Value { return r; });
}

Napi::Value NetlinkHandle::RouteDump(const Napi::CallbackInfo& info) {
  return guarded(info.Env(),
                 [&]() -> Napi::Value { return rtnl::routeDump(info.Env(), route(), routeFilterArg(info)); });
}

Napi::Value NetlinkHandle::SocketInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    o.Set("strictChecking", route().strictChecking());
    o.Set("dumpRetries", double(route().dumpRetries() + nft().dumpRetries()));
    o.Set("dumpMessages", double(route().dumpMessages() + nft().dumpMessages()));
    o.Set("nft", buffersJs(env, nft().buffers()));
    o.Set("route", buffersJs(env, route().buffers()));
    return o;
  });
}

Napi::Value NetlinkHandle::LinkDump(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value { return rtnl::linkDump(info.Env(), route()); });
}

namespace {

// sockDump({ family: 4 | 6, protocol: 6 | 17, states, port? }).
diag::SockFilter sockFilterArg(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject()) throw InputError{"filter", "expected an object"};
  Napi::Object o = info[0].As<Napi::Object>();
  diag::SockFilter f;
  f.af = rtnl::afFromFamily(getU32(o, "family", "filter"), "filter");
  const uint32_t protocol = getU32(o, "protocol", "filter");
  if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
    throw InputError{"filter.protocol", "must be 6 (TCP) or 17 (UDP), got " + std::to_string(protocol)};
  f.protocol = uint8_t(protocol);
  f.states = getU32(o, "states", "filter");
  const uint32_t port = getOptU32(o, "port", "filter").value_or(0);
  if (port > 65535) throw InputError{"filter.port", "must be 0..65535, got " + std::to_string(port)};
  f.port = uint16_t(port);
  return f;
}

}  // namespace

Napi::Value NetlinkHandle::SockDump(const Napi::CallbackInfo& info) {
  return guarded(info.Env(),
                 [&]() -> Napi::Value { return diag::sockDump(info.Env(), diag(), sockFilterArg(info)); });
}

Napi::Value NetlinkHandle::Close(const Napi::CallbackInfo& info) {
  closed_ = true;
  nft_.reset();
  route_.reset();
  diag_.reset();
  return info.Env().Undefined();
}

}  // namespace netcg
