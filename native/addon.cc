// Module entry: registers the bindings listed in src/native/types.ts (NativeAddon).
#include <napi.h>

#include "errors.h"
#include "handle.h"
#include "netlink/monitor.h"
#include "proc/proc.h"

namespace {

// init({ NetlinkError }): the JS error class every native failure is built from.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject())
    throw netcg::makeInputError(env, "opts", "expected an object");
  Napi::Value ctor = info[0].As<Napi::Object>().Get("NetlinkError");
  if (!ctor.IsFunction()) throw netcg::makeInputError(env, "opts.NetlinkError", "expected a class");
  netcg::setErrorClass(env, ctor.As<Napi::Function>());
  return env.Undefined();
}

Napi::Object Register(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init, "init"));
  exports.Set("NetlinkHandle", netcg::NetlinkHandle::Define(env));
  exports.Set("NetlinkMonitor", netcg::DefineNetlinkMonitor(env));
  exports.Set("exec", Napi::Function::New(env, netcg::proc::Exec, "exec"));
  exports.Set("mount", Napi::Function::New(env, netcg::proc::Mount, "mount"));
  exports.Set("CgroupProcs", netcg::proc::DefineCgroupProcs(env));
  exports.Set("cgroupId", Napi::Function::New(env, netcg::proc::CgroupId, "cgroupId"));
  exports.Set("cgroupReadFile", Napi::Function::New(env, netcg::proc::CgroupReadFile, "cgroupReadFile"));
  exports.Set("cgroupWriteFile", Napi::Function::New(env, netcg::proc::CgroupWriteFile, "cgroupWriteFile"));
  exports.Set("procCgroupPaths", Napi::Function::New(env, netcg::proc::ProcCgroupPaths, "procCgroupPaths"));
  exports.Set("spawnInCgroup", Napi::Function::New(env, netcg::proc::SpawnInCgroup, "spawnInCgroup"));
  exports.Set("pipe", Napi::Function::New(env, netcg::proc::Pipe, "pipe"));
  exports.Set("pidfdWait", Napi::Function::New(env, netcg::proc::PidfdWait, "pidfdWait"));
  exports.Set("PidfdWatch", netcg::proc::DefinePidfdWatch(env));
  exports.Set("flock", Napi::Function::New(env, netcg::proc::Flock, "flock"));
  exports.Set("sysctl", Napi::Function::New(env, netcg::proc::Sysctl, "sysctl"));
  return exports;
}

}  // namespace

NODE_API_MODULE(netcg, Register)
