// sysctl(netnsPath, key, value?): reads (and, given a value, writes) one file
// below /proc/sys as seen from another network namespace. /proc/sys/net/* is
// resolved against the *calling thread's* network namespace, and setns(2) only
// moves the calling thread, so the work runs on a short-lived thread that enters
// the namespace and then exits: Node's own threads never change namespace and no
// process is spawned. Generic on purpose: which keys to set is policy (JS).
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "../errors.h"
#include "cstrings.h"
#include "proc.h"

namespace netcg::proc {

namespace {

struct SysctlResult {
  int err = 0;
  std::string op;
  std::string previous;
};

// Closes an fd on every path out of a scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// "net.ipv4.conf.all.src_valid_mark" -> "/proc/sys/net/ipv4/conf/all/src_valid_mark".
// Empty components and "."/".." are refused so the key can never leave /proc/sys.
bool keyToPath(const std::string& key, std::string& path) {
  path = "/proc/sys";
  size_t start = 0;
  while (start <= key.size()) {
    size_t dot = key.find('.', start);
    if (dot == std::string::npos) dot = key.size();
    const std::string part = key.substr(start, dot - start);
    if (part.empty() || part.find('/') != std::string::npos) return false;
    path += "/" + part;
    start = dot + 1;
  }
  return true;
}

// Runs on its own thread: enter the namespace (if any), read, then write.
void readWrite(int nsFd, const std::string& path, const std::string* value, SysctlResult& out) {
  if (nsFd >= 0 && ::setns(nsFd, CLONE_NEWNET) != 0) {
    out = {errno, "setns", {}};
    return;
  }
  Fd f;
  f.fd = ::open(path.c_str(), (value ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (f.fd < 0) {
    out = {errno, "open", {}};
    return;
  }
  char buf[256];
  ssize_t n;
  do {
    n = ::pread(f.fd, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    out = {errno, "read", {}};
    return;
  }
  out.previous.assign(buf, static_cast<size_t>(n));
  while (!out.previous.empty() && (out.previous.back() == '\n' || out.previous.back() == ' '))
    out.previous.pop_back();
  if (!value) return;
  do {
    n = ::pwrite(f.fd, value->data(), value->size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) out = {errno, "write", out.previous};
}

}  // namespace

Napi::Value Sysctl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool hasNetns = !info[0].IsUndefined() && !info[0].IsNull();
  const std::string netns = hasNetns ? cString(env, info[0], "netns") : "";
  const std::string key = cString(env, info[1], "key");
  std::string path;
  if (!keyToPath(key, path))
    throw makeInputError(env, "key", "must be a dotted sysctl name such as net.ipv4.conf.all.src_valid_mark");
  const bool write = !info[2].IsUndefined();
  const std::string value = write ? cString(env, info[2], "value") : "";

  Fd ns;
  if (hasNetns) {
    ns.fd = ::open(netns.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns.fd < 0) throw makeSysError(env, errno, "sysctl.netns", netns);
  }
  SysctlResult result;
  std::thread worker(readWrite, ns.fd, path, write ? &value : nullptr, std::ref(result));
  worker.join();
  if (result.err != 0)
    throw makeSysError(env, result.err, "sysctl." + result.op, key + (hasNetns ? " in " + netns : ""));
  return Napi::String::New(env, result.previous);
}

}  // namespace netcg::proc
