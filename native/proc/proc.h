// Process helpers the CLI needs and Node lacks: exec (replace the process image,
// for `netcg run`) and mount(2) (to mount the net_cls hierarchy when absent).
#pragma once

#include <napi.h>

namespace netcg::proc {

// exec(file, argv, env?): execvp(e) after restoring what Node changed (signal
// dispositions, signal mask, O_NONBLOCK on stdio). Returns only by throwing.
Napi::Value Exec(const Napi::CallbackInfo& info);
// mount(source, target, fstype, flags, data): plain mount(2).
Napi::Value Mount(const Napi::CallbackInfo& info);
// flock(fd, exclusive, wait) -> true when locked, false when busy (wait=false).
Napi::Value Flock(const Napi::CallbackInfo& info);

}  // namespace netcg::proc
