// C strings for system calls: JS strings checked for embedded NULs (which would
// silently truncate a path or an argument), and NULL-terminated pointer arrays
// for exec. Shared by exec.cc, spawn.cc and mount.cc.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "../errors.h"

namespace netcg::proc {

// A JS string argument at `path`, refused (EINVAL naming `path`) if not a string or if it contains NUL.
inline std::string cString(Napi::Env env, const Napi::Value& v, const std::string& path) {
  if (!v.IsString()) throw makeInputError(env, path, "must be a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) throw makeInputError(env, path, "must not contain NUL bytes");
  return s;
}

// argv/envp for execve: pointers into `strings` plus the terminating NULL; `strings` must outlive the result.
inline std::vector<char*> cPointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace netcg::proc
