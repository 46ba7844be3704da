// procCgroupPaths(pids, controllers): where each process sits in one cgroup
// hierarchy, read from /proc/PID/cgroup in a single native pass. Remembering a
// process's origin before moving it costs one such read per PID; the kernel's
// side of it (formatting every hierarchy's path) is the bulk, and doing the
// open/read/close and the parsing here spares the per-PID fs round trips of JS.
// Which hierarchy to ask about, and what to do with the answer, is the caller's.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <string_view>
#include <vector>

#include "../errors.h"
#include "proc.h"

namespace netcg::proc {
namespace {

// "b,a" and "a,b" name the same v1 hierarchy: compare controller lists as sets.
std::vector<std::string_view> sortedControllers(std::string_view list) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = list.find(',', start);
    const size_t end = comma == std::string_view::npos ? list.size() : comma;
    out.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The path on the line "ID:CONTROLLERS:PATH" of the wanted hierarchy: cgroup2
// (wanted empty) is "0::PATH"; a v1 hierarchy is matched by its controller set.
bool findPath(std::string_view text, const std::vector<std::string_view>& wanted, bool v2,
              std::string_view* path) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    const size_t a = line.find(':');
    const size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    const std::string_view id = line.substr(0, a);
    const std::string_view controllers = line.substr(a + 1, b - a - 1);
    const bool match = v2 ? (id == "0" && controllers.empty())
                          : (!controllers.empty() && sortedControllers(controllers) == wanted);
    if (match) {
      *path = line.substr(b + 1);
      return true;
    }
  }
  return false;
}

// Whole /proc/PID/cgroup into `buf`; false when the process is gone (or unreadable).
bool readProcCgroup(int32_t pid, std::string& buf) {
  char file[32] = "/proc/";
  // Digits of a positive int32 after "/proc/", then "/cgroup".
  char digits[12];
  int n = 0;
  do digits[n++] = static_cast<char>('0' + pid % 10);
  while ((pid /= 10) != 0);
  size_t len = 6;
  while (n > 0) file[len++] = digits[--n];
  std::char_traits<char>::copy(file + len, "/cgroup", 8);

  const int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  buf.clear();
  bool ok = true;
  for (;;) {
    const size_t used = buf.size();
    buf.resize(used + 4096);
    const ssize_t got = read(fd, &buf[used], 4096);
    if (got < 0 && errno == EINTR) {
      buf.resize(used);
      continue;
    }
    buf.resize(used + (got > 0 ? static_cast<size_t>(got) : 0));
    if (got <= 0) {
      ok = got == 0;  // an error mid-file (the process exiting): no trustworthy answer
      break;
    }
  }
  close(fd);
  return ok;
}

}  // namespace

// procCgroupPaths(pids: Int32Array, controllers: string) -> Array<string | null>:
// per PID, its path in the hierarchy named by `controllers` ('' = cgroup2, else
// a v1 controller list such as "net_cls,net_prio" in any order), or null when
// the process is gone, the PID is <= 0, or the hierarchy is not in its file.
Napi::Value ProcCgroupPaths(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw makeInputError(env, "pids", "must be an Int32Array");
  }
  if (info.Length() < 2 || !info[1].IsString()) throw makeInputError(env, "controllers", "must be a string");
  const std::string controllers = info[1].As<Napi::String>().Utf8Value();
  const bool v2 = controllers.empty();
  const std::vector<std::string_view> wanted =
      v2 ? std::vector<std::string_view>{} : sortedControllers(controllers);

  Napi::Int32Array pids = info[0].As<Napi::Int32Array>();
  const size_t count = pids.ElementLength();
  // Copied out first: creating the result strings allocates on the JS heap.
  const std::vector<int32_t> list(pids.Data(), pids.Data() + count);

  Napi::Array out = Napi::Array::New(env, count);
  std::string buf;
  buf.reserve(4096);
  for (size_t i = 0; i < count; ++i) {
    std::string_view path;
    if (list[i] >= 1 && readProcCgroup(list[i], buf) && findPath(buf, wanted, v2, &path)) {
      out.Set(static_cast<uint32_t>(i), Napi::String::New(env, path.data(), path.size()));
    } else {
      out.Set(static_cast<uint32_t>(i), env.Null());
    }
  }
  return out;
}

}  // namespace netcg::proc
