// Process helpers the CLI needs and Node lacks: exec (replace the process image,
// for `netcg run`), mount(2) (to mount the net_cls hierarchy when absent),
// cgroup membership (cgroup.cc), a spawn that starts inside a cgroup
// (spawn.cc) and waiting on its pidfd (pidfd.cc).
#pragma once

#include <napi.h>

namespace netcg::proc {

// exec(file, argv, env?): execvp(e) after restoring what Node changed (signal
// dispositions, signal mask, O_NONBLOCK on stdio). Returns only by throwing.
Napi::Value Exec(const Napi::CallbackInfo& info);
// mount(source, target, fstype, flags, data): plain mount(2).
Napi::Value Mount(const Napi::CallbackInfo& info);

// CgroupProcs class: keeps <dir>/cgroup.procs open; enroll(pids) -> per-PID outcomes.
Napi::Function DefineCgroupProcs(Napi::Env env);
// cgroupId(dir): the cgroup2 ID (kernfs file handle) as a BigInt.
Napi::Value CgroupId(const Napi::CallbackInfo& info);
// cgroupReadFile(dir, name) -> string; cgroupWriteFile(dir, name, text): one cgroup control file.
Napi::Value CgroupReadFile(const Napi::CallbackInfo& info);
Napi::Value CgroupWriteFile(const Napi::CallbackInfo& info);
// procCgroupPaths(pids: Int32Array, controllers) -> per PID its path in one hierarchy, or null
// (proc_cgroup.cc).
Napi::Value ProcCgroupPaths(const Napi::CallbackInfo& info);
// spawnInCgroup(opts) -> { pid, pidfd, method }: the child is in the cgroup before exec.
Napi::Value SpawnInCgroup(const Napi::CallbackInfo& info);
// pipe() -> [readFd, writeFd], close-on-exec: stdio plumbing for spawnInCgroup.
Napi::Value Pipe(const Napi::CallbackInfo& info);
// pidfdWait(pidfd, nonblocking?) -> { exited, pid?, code?, signal? } via waitid(P_PIDFD).
Napi::Value PidfdWait(const Napi::CallbackInfo& info);
// PidfdWatch class: new PidfdWatch(pidfd, onExit) -- uv_poll on the pidfd.
Napi::Function DefinePidfdWatch(Napi::Env env);
// flock(fd, exclusive, wait) -> true when locked, false when busy (wait=false).
Napi::Value Flock(const Napi::CallbackInfo& info);
// sysctl(netnsPath?, key, value?) -> the value before (written when given), read inside that netns on a
// short-lived thread.
Napi::Value Sysctl(const Napi::CallbackInfo& info);

}  // namespace netcg::proc
