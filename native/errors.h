// Native -> JS errors. The JS side defines `NetlinkError` (src/native/errors.ts)
// and hands the class to the addon once, in init(); we construct instances of
// that class so JS code can `instanceof` them and read typed fields:
//   new NetlinkError(message, { code, errno, op, object, extAck, extAckOffset, index })
#pragma once

#include <napi.h>

#include <string>

#include "netlink/socket.h"

namespace netcg {

// Stores the constructor (called from the init() binding).
void setErrorClass(Napi::Env env, Napi::Function ctor);

// Builds the JS error for a netlink failure. `object` is the JS value that was
// being sent (the op or expression) or undefined.
Napi::Error makeNetlinkError(Napi::Env env, const NetlinkFailure& f, Napi::Value object = Napi::Value());

// Builds the JS error for a failed system call (errno from the caller).
Napi::Error makeSysError(Napi::Env env, int errnum, const std::string& op, const std::string& detail);

// Builds an error with a code of our own (e.g. "ENOTCGROUP") and the errno
// closest to it; the message is used as given.
Napi::Error makeCodedError(Napi::Env env, const std::string& code, int errnum, const std::string& op,
                           const std::string& message);

// Builds a TypeError-like error for malformed input objects: code "EINVAL",
// message names the field path (e.g. "ops[3].exprs[1].key: unknown meta key 'foo'").
Napi::Error makeInputError(Napi::Env env, const std::string& path, const std::string& what);

// Symbolic name of an errno ("EEXIST"), or "E<number>" when unknown.
std::string errnoName(int errnum);

}  // namespace netcg
