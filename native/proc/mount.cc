// mount(source, target, fstype, flags, data): mount(2) for the one case netcg
// needs (mounting the net_cls hierarchy when no one has), which Node cannot do.
#include <sys/mount.h>

#include <cerrno>
#include <string>

#include "../errors.h"
#include "cstrings.h"
#include "proc.h"

namespace netcg::proc {
Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string source = cString(env, info[0], "source");
  const std::string target = cString(env, info[1], "target");
  const std::string fstype = cString(env, info[2], "fstype");
  if (!info[3].IsNumber()) throw makeInputError(env, "flags", "must be a number (MS_* bits)");
  const double flagsNum = info[3].As<Napi::Number>().DoubleValue();
  if (flagsNum < 0 || flagsNum > 4294967295.0 ||
      flagsNum != static_cast<double>(static_cast<uint64_t>(flagsNum))) {
    throw makeInputError(env, "flags", "must be an unsigned 32-bit integer");
  }
  const std::string data = cString(env, info[4], "data");

  // Empty data means "no options"; some filesystems reject an empty option string.
  if (mount(source.c_str(), target.c_str(), fstype.c_str(), static_cast<unsigned long>(flagsNum),
            data.empty() ? nullptr : data.c_str()) != 0) {
    const int err = errno;
    throw makeSysError(env, err, "mount", fstype + " " + source + " on " + target);
  }
  return env.Undefined();
}

}  // namespace netcg::proc
