// Native -> JS errors. The JS error class comes from src/native/errors.ts (handed
// over in init()); until then we fall back to a plain Error with the same fields,
// so an error is never lost just because init() was forgotten.
#include "errors.h"

#include <cstring>
#include <string.h>

namespace netcg {

namespace {

// Per-environment storage: worker threads each load the addon into their own env.
struct ErrorClass {
  Napi::FunctionReference ctor;
};

Napi::Error construct(Napi::Env env, const std::string& message, Napi::Object props) {
  auto* cls = env.GetInstanceData<ErrorClass>();
  if (cls != nullptr && !cls->ctor.IsEmpty()) {
    Napi::Value e = cls->ctor.New({Napi::String::New(env, message), props});
    return Napi::Error(env, e);
  }
  Napi::Error e = Napi::Error::New(env, message);
  Napi::Array keys = props.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    Napi::Value k = keys.Get(i);
    e.Value().Set(k, props.Get(k));
  }
  return e;
}

}  // namespace

void setErrorClass(Napi::Env env, Napi::Function ctor) {
  auto* cls = env.GetInstanceData<ErrorClass>();
  if (cls == nullptr) {
    cls = new ErrorClass();
    env.SetInstanceData(cls);  // freed by node-addon-api when the env goes away
  }
  cls->ctor = Napi::Persistent(ctor);
}

std::string errnoName(int errnum) {
  const char* name = strerrorname_np(errnum);
  return name != nullptr ? std::string(name) : "E" + std::to_string(errnum);
}

Napi::Error makeNetlinkError(Napi::Env env, const NetlinkFailure& f, Napi::Value object) {
  std::string code = errnoName(f.errnum);
  std::string message = f.op + ": " + std::strerror(f.errnum) + " (" + code + ")";
  if (!f.extAckMsg.empty()) message += ": " + f.extAckMsg;
  if (f.failedIndex >= 0) message += " [index " + std::to_string(f.failedIndex) + "]";
  if (!f.detail.empty()) message += ": " + f.detail;
  if (f.acksLost) message += " (some acknowledgements were lost)";

  Napi::Object props = Napi::Object::New(env);
  props.Set("code", code);
  props.Set("errno", f.errnum);
  props.Set("op", f.op);
  props.Set("object", object.IsEmpty() ? env.Undefined() : object);
  props.Set("extAck", f.extAckMsg.empty() ? env.Undefined() : Napi::String::New(env, f.extAckMsg));
  props.Set("extAckOffset",
            f.extAckOffset >= 0 ? Napi::Number::New(env, double(f.extAckOffset)) : env.Undefined());
  props.Set("index", f.failedIndex >= 0 ? Napi::Number::New(env, double(f.failedIndex)) : env.Undefined());
  if (f.dumpInterrupted) props.Set("dumpInterrupted", true);
  if (f.acksLost) props.Set("acksLost", true);
  return construct(env, message, props);
}

Napi::Error makeSysError(Napi::Env env, int errnum, const std::string& op, const std::string& detail) {
  std::string code = errnoName(errnum);
  std::string message =
      op + ": " + (detail.empty() ? "" : detail + ": ") + std::strerror(errnum) + " (" + code + ")";
  Napi::Object props = Napi::Object::New(env);
  props.Set("code", code);
  props.Set("errno", errnum);
  props.Set("op", op);
  return construct(env, message, props);
}

Napi::Error makeCodedError(Napi::Env env, const std::string& code, int errnum, const std::string& op,
                           const std::string& message) {
  Napi::Object props = Napi::Object::New(env);
  props.Set("code", code);
  props.Set("errno", errnum);
  props.Set("op", op);
  return construct(env, op + ": " + message + " (" + code + ")", props);
}

Napi::Error makeInputError(Napi::Env env, const std::string& path, const std::string& what) {
  std::string message = path + ": " + what;
  Napi::Object props = Napi::Object::New(env);
  props.Set("code", "EINVAL");
  props.Set("errno", EINVAL);
  props.Set("op", "input");
  props.Set("path", path);
  return construct(env, message, props);
}

}  // namespace netcg
