// mount(source, target, fstype, flags, data): mount(2) for the one case netcg
// needs (mounting the net_cls hierarchy when no one has), which Node cannot do.
#include <sys/mount.h>

#include <cerrno>
#include <string>

#include "../errors.h"
#include "proc.h"

namespace netcg::proc {
namespace {

std::string stringArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsString()) throw makeInputError(info.Env(), name, "must be a string");
  std::string s = info[i].As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) throw makeInputError(info.Env(), name, "must not contain NUL bytes");
  return s;
}

}  // namespace

Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string source = stringArg(info, 0, "source");
  const std::string target = stringArg(info, 1, "target");
  const std::string fstype = stringArg(info, 2, "fstype");
  if (!info[3].IsNumber()) throw makeInputError(env, "flags", "must be a number (MS_* bits)");
  const double flagsNum = info[3].As<Napi::Number>().DoubleValue();
  if (flagsNum < 0 || flagsNum > 4294967295.0 || flagsNum != static_cast<double>(static_cast<uint64_t>(flagsNum))) {
    throw makeInputError(env, "flags", "must be an unsigned 32-bit integer");
  }
  const std::string data = stringArg(info, 4, "data");

  // Empty data means "no options"; some filesystems reject an empty option string.
  if (mount(source.c_str(), target.c_str(), fstype.c_str(), static_cast<unsigned long>(flagsNum),
            data.empty() ? nullptr : data.c_str()) != 0) {
    const int err = errno;
    throw makeSysError(env, err, "mount", fstype + " " + source + " on " + target);
  }
  return env.Undefined();
}

}  // namespace netcg::proc
