// NetlinkMonitor: subscribes to rtnetlink (links, addresses, routes, rules) and
// nf_tables multicast groups in one network namespace and hands each burst of
// notifications to a JS callback as an array of plain event objects.
//
// Why uv_poll in Node's loop and not a thread: events are only useful to JS, and
// a readable socket is exactly what libuv waits for; no thread, no polling, no
// cross-thread handoff. Why drain until EAGAIN: the caller wants bursts (a
// firewall reload is hundreds of messages) so it can coalesce them.
//
// Lost events are reported, not hidden: when the kernel could not queue a
// notification (receive buffer full) recv fails with ENOBUFS; that becomes an
// {source: 'overrun'} event, after which the caller must assume anything changed.
// The overrun also flags the socket (EPOLLERR), on which libuv stops the poll:
// OnReadable drains and starts it again. A monitor that cannot go on says so with
// a last {source: 'error'} event and stops; active() tells whether it listens.
#include "netlink/monitor.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "errors.h"
#include "js.h"
#include "netlink/events.h"
#include "netlink/socket.h"

namespace netcg {
namespace {

// Upper bound of datagrams read per wakeup, so a flood cannot starve the loop;
// uv_poll is level-triggered and wakes us again for the rest.
constexpr int kMaxDatagramsPerWakeup = 4096;

class NetlinkMonitor : public Napi::ObjectWrap<NetlinkMonitor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NetlinkMonitor",
                       {
                           InstanceMethod<&NetlinkMonitor::Close>("close"),
                           InstanceMethod<&NetlinkMonitor::Ref>("ref"),
                           InstanceMethod<&NetlinkMonitor::Unref>("unref"),
                           InstanceMethod<&NetlinkMonitor::Active>("active"),
                       });
  }

  // new NetlinkMonitor({ netns?, rcvbuf? }, onEvents)
  explicit NetlinkMonitor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkMonitor>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[1].IsFunction())
      throw makeInputError(env, "onEvents", "must be a function");
    std::string netns;
    std::optional<uint32_t> rcvbuf;
    if (!info[0].IsUndefined() && !info[0].IsNull()) {
      if (!info[0].IsObject()) throw makeInputError(env, "opts", "expected an object");
      try {
        netns = getOptString(info[0].As<Napi::Object>(), "netns", "opts").value_or("");
        rcvbuf = getOptU32(info[0].As<Napi::Object>(), "rcvbuf", "opts");
      } catch (const InputError& e) {
        throw makeInputError(env, e.path, e.what);
      }
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr)
      throw makeSysError(env, EINVAL, "NetlinkMonitor", "no event loop");

    try {
      rtnl_.name = "rtnl";
      rtnl_.socket = std::make_unique<NetlinkSocket>(NETLINK_ROUTE, netns);
      join(rtnl_, {RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE,
                   RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE});
      nft_.name = "nft";
      nft_.socket = std::make_unique<NetlinkSocket>(NETLINK_NETFILTER, netns);
      join(nft_, {NFNLGRP_NFTABLES});
    } catch (const NetlinkFailure& f) {
      throw makeNetlinkError(env, f);
    }
    // NetlinkSocket already asked for a large buffer; an explicit size (tests use
    // a tiny one to provoke an overrun) replaces it.
    for (Bus* bus : {&rtnl_, &nft_}) {
      if (rcvbuf) setRcvbuf(bus->socket->fd(), int(std::min<uint32_t>(*rcvbuf, 1u << 30)));
      bus->owner = this;
      bus->poll = new uv_poll_t;
      const int rc = uv_poll_init(loop, bus->poll, bus->socket->fd());
      if (rc != 0) {
        delete bus->poll;
        bus->poll = nullptr;
        stop();
        throw makeSysError(env, -rc, "uv_poll_init", std::string("netlink ") + bus->name);
      }
      bus->poll->data = bus;
      uv_poll_start(bus->poll, UV_READABLE, &NetlinkMonitor::OnReadable);
    }
    onEvents_ = Napi::Persistent(info[1].As<Napi::Function>());
    // While watching, the JS object must outlive whatever the caller keeps.
    Napi::ObjectWrap<NetlinkMonitor>::Ref();
    watching_ = true;
  }

  ~NetlinkMonitor() override { stop(); }

 private:
  struct Bus {
    const char* name = "";
    std::unique_ptr<NetlinkSocket> socket;
    uv_poll_t* poll = nullptr;
    NetlinkMonitor* owner = nullptr;
    bool overrunPending = false;  // ENOBUFS read, the backlog not yet (see drain)
  };

  static void join(Bus& bus, std::initializer_list<unsigned> groups) {
    for (unsigned group : groups) {
      if (setsockopt(bus.socket->fd(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0) {
        NetlinkFailure f;
        f.errnum = errno;
        f.op = std::string("netlink.") + bus.name + ".join group " + std::to_string(group);
        throw f;
      }
    }
  }

  static void setRcvbuf(int fd, int bytes) {
    // *FORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN; fall back quietly.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }

  // Reads every queued datagram of `bus` into `out`. Only datagrams from the
  // kernel (port id 0) are taken: anyone may send to a netlink socket.
  //
  // The overrun is reported once the queue is empty, not when ENOBUFS is read:
  // the kernel reports the first loss only and then drops silently until the
  // reader has caught up (NETLINK_S_CONGESTED), so "anything may have changed"
  // holds for everything up to the moment the backlog is read. A caller that
  // re-checks on the overrun event then sees every silent loss's effect.
  void drain(Bus& bus, std::vector<events::Event>& out) {
    const int fd = bus.socket->fd();
    bool drained = false;
    for (int i = 0; i < kMaxDatagramsPerWakeup; i++) {
      // One syscall per datagram: notifications are at most a few pages
      // (NLMSG_GOODSIZE), far below the buffer. MSG_TRUNC returns the real length,
      // so a longer one is not misread: it is counted as lost and the buffer grows.
      sockaddr_nl from{};
      socklen_t fromLen = sizeof from;
      ssize_t n = ::recvfrom(fd, rxbuf_.data(), rxbuf_.size(), MSG_DONTWAIT | MSG_TRUNC,
                             reinterpret_cast<sockaddr*>(&from), &fromLen);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) {
          bus.overrunPending = true;
          continue;  // the error is consumed; what is still queued is readable
        }
        drained = true;  // EAGAIN (anything else: nothing to read either)
        break;
      }
      if (size_t(n) > rxbuf_.size()) {
        rxbuf_.resize(size_t(n));
        bus.overrunPending = true;
        continue;
      }
      if (from.nl_pid != 0) continue;
      int remaining = int(n);
      for (auto* nlh = reinterpret_cast<const nlmsghdr*>(rxbuf_.data());
           remaining >= int(sizeof(nlmsghdr)) && nlh->nlmsg_len >= sizeof(nlmsghdr) &&
           nlh->nlmsg_len <= unsigned(remaining);
           nlh = mnl_nlmsg_next(nlh, &remaining)) {
        auto ev = &bus == &nft_ ? events::decodeNft(nlh) : events::decodeRtnl(nlh);
        if (ev) fold(out, std::move(*ev));
      }
    }
    // Not drained: more is queued, uv_poll (level-triggered) wakes us again.
    if (drained && bus.overrunPending) {
      bus.overrunPending = false;
      out.push_back(overrun(bus));
    }
  }

  // Identical events in a row (a set's elements: one notification each) become
  // one with a `count`, so a 200,000-element set costs one JS object, not 200,000.
  static void fold(std::vector<events::Event>& out, events::Event&& ev) {
    if (!out.empty()) {
      events::Event& last = out.back();
      const bool counted = !last.empty() && last.back().first == "count";
      const size_t n = last.size() - (counted ? 1 : 0);
      if (n == ev.size() && std::equal(ev.begin(), ev.end(), last.begin())) {
        if (counted)
          last.back().second = std::get<double>(last.back().second) + 1;
        else
          last.emplace_back("count", 2.0);
        return;
      }
    }
    out.push_back(std::move(ev));
  }

  static Napi::Object toJs(Napi::Env env, const events::Event& ev) {
    Napi::Object o = Napi::Object::New(env);
    for (const auto& [key, value] : ev) {
      if (auto* s = std::get_if<std::string>(&value))
        o.Set(key, *s);
      else if (auto* d = std::get_if<double>(&value))
        o.Set(key, *d);
      else
        o.Set(key, std::get<bool>(value));
    }
    return o;
  }

  // libuv's poll callback. `status` < 0 means the kernel flagged the socket with
  // an error (EPOLLERR: the ENOBUFS of an overrun) and libuv has *stopped* the
  // handle: draining reads the error (which clears it) and the poll is started
  // again, or the monitor would go deaf. No C++ exception may cross libuv.
  static void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
    auto* bus = static_cast<Bus*>(handle->data);
    NetlinkMonitor* self = bus->owner;
    try {
      self->onReadable(*bus, status);
    } catch (const std::exception& e) {
      self->fail(*bus, EIO, std::string("monitor callback: ") + e.what());
    } catch (...) {
      self->fail(*bus, EIO, "monitor callback: unknown C++ exception");
    }
  }

  void onReadable(Bus& bus, int status) {
    std::vector<events::Event> batch;
    drain(bus, batch);
    if (status < 0 && bus.poll != nullptr) {
      const int rc = uv_poll_start(bus.poll, UV_READABLE, &NetlinkMonitor::OnReadable);
      if (rc != 0) {
        deliver(batch);  // what was read still counts
        fail(bus, -rc, std::string("cannot re-arm the poll after ") + uv_err_name(status));
        return;
      }
      // An EPOLLERR whose socket error drain() did not read (not even one still
      // pending behind a long backlog) is still a sign of loss: report it.
      const bool reported = std::any_of(batch.begin(), batch.end(), [](const events::Event& e) {
        return e.front().second == events::Value(std::string("overrun"));
      });
      if (!reported && !bus.overrunPending) batch.push_back(overrun(bus));
    }
    deliver(batch);
  }

  static events::Event overrun(const Bus& bus) {
    return {{"source", std::string("overrun")}, {"bus", std::string(bus.name)}};
  }

  // The monitor cannot go on: it stops (both buses) and hands the JS callback one
  // {source: 'error', bus, errno, message} event, its last. The caller decides
  // what a dead monitor means (the watch daemon logs it and exits non-zero).
  void fail(Bus& bus, int errnum, const std::string& message) {
    if (!watching_) return;
    events::Event ev{{"source", std::string("error")},
                     {"bus", std::string(bus.name)},
                     {"errno", double(errnum)},
                     {"message", message}};
    std::vector<events::Event> last{std::move(ev)};
    try {
      Napi::Env env = Env();
      Napi::HandleScope scope(env);
      Napi::Object keep = Value();
      Napi::Function cb = onEvents_.Value();
      stop();
      call(env, keep, cb, last);
    } catch (...) {
      // Nothing left to tell JS with; stopped polls let the daemon's watchdog see it.
      stop();
    }
  }

  void deliver(const std::vector<events::Event>& batch) {
    if (batch.empty() || !watching_) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    // A local handle keeps the wrapper alive even if the callback close()s it
    // and drops every reference; `this` is not touched after the callback.
    call(env, Value(), onEvents_.Value(), batch);
  }

  static void call(Napi::Env env, Napi::Object keep, Napi::Function cb,
                   const std::vector<events::Event>& batch) {
    Napi::Array arr = Napi::Array::New(env, batch.size());
    for (size_t i = 0; i < batch.size(); i++) arr.Set(uint32_t(i), toJs(env, batch[i]));
    // MakeCallback so promise jobs queued by the callback run afterwards; a
    // throw becomes the process's uncaughtException, as in any Node callback.
    try {
      cb.MakeCallback(keep, {arr});
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  // Idempotent: stops both polls (before their fds close), closes the sockets
  // and releases the self-reference taken while watching.
  void stop() {
    for (Bus* bus : {&rtnl_, &nft_}) {
      if (bus->poll != nullptr) {
        uv_poll_stop(bus->poll);
        uv_close(reinterpret_cast<uv_handle_t*>(bus->poll),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
        bus->poll = nullptr;
      }
      bus->socket.reset();
    }
    if (watching_) {
      watching_ = false;
      onEvents_.Reset();
      if (!finalizing_) Napi::ObjectWrap<NetlinkMonitor>::Unref();
    }
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    stop();
    return info.Env().Undefined();
  }

  Napi::Value Ref(const Napi::CallbackInfo& info) {
    for (Bus* bus : {&rtnl_, &nft_})
      if (bus->poll != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(bus->poll));
    return info.This();
  }

  Napi::Value Unref(const Napi::CallbackInfo& info) {
    for (Bus* bus : {&rtnl_, &nft_})
      if (bus->poll != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(bus->poll));
    return info.This();
  }

  // True while both buses are polled: what a watchdog checks (false once closed
  // or failed; a stopped poll that nothing re-arms would otherwise go unnoticed).
  Napi::Value Active(const Napi::CallbackInfo& info) {
    bool active = watching_;
    for (Bus* bus : {&rtnl_, &nft_})
      active = active && bus->poll != nullptr && uv_is_active(reinterpret_cast<uv_handle_t*>(bus->poll));
    return Napi::Boolean::New(info.Env(), active);
  }

  void Finalize(Napi::Env) override { finalizing_ = true; }

  Bus rtnl_, nft_;
  Napi::FunctionReference onEvents_;
  std::vector<char> rxbuf_ = std::vector<char>(65536);
  bool watching_ = false, finalizing_ = false;
};

}  // namespace

Napi::Function DefineNetlinkMonitor(Napi::Env env) { return NetlinkMonitor::Define(env); }

}  // namespace netcg
