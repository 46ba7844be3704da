// Field readers for the encoders. Every failure names the field path so a caller
// sees "ops[3].exprs[1].key: expected a string" instead of a generic TypeError.
#include "js.h"

#include <cmath>

namespace netcg {

namespace {

std::string field(const std::string& path, const char* key) {
  return path.empty() ? std::string(key) : path + "." + key;
}

bool isAbsent(const Napi::Value& v) { return v.IsUndefined() || v.IsNull(); }

Napi::Value require(const Napi::Object& o, const char* key, const std::string& path) {
  Napi::Value v = o.Get(key);
  if (isAbsent(v)) throw InputError{field(path, key), "is required"};
  return v;
}

// JS numbers are doubles; accept only integral values inside [lo, hi].
double integral(const Napi::Value& v, double lo, double hi, const std::string& where) {
  if (!v.IsNumber()) throw InputError{where, "expected a number"};
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d) throw InputError{where, "expected an integer"};
  if (d < lo || d > hi) throw InputError{where, "out of range"};
  return d;
}

std::vector<uint8_t> bytesOf(const Napi::Value& v, const std::string& where) {
  if (!v.IsTypedArray()) throw InputError{where, "expected a Buffer or Uint8Array"};
  auto ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) throw InputError{where, "expected a Buffer or Uint8Array"};
  auto u8 = v.As<Napi::Uint8Array>();
  const uint8_t* p = u8.Data();
  return std::vector<uint8_t>(p, p + u8.ElementLength());
}

}  // namespace

std::string getString(const Napi::Object& o, const char* key, const std::string& path) {
  Napi::Value v = require(o, key, path);
  if (!v.IsString()) throw InputError{field(path, key), "expected a string"};
  return v.As<Napi::String>().Utf8Value();
}

std::optional<std::string> getOptString(const Napi::Object& o, const char* key, const std::string& path) {
  if (isAbsent(o.Get(key))) return std::nullopt;
  return getString(o, key, path);
}

uint32_t getU32(const Napi::Object& o, const char* key, const std::string& path) {
  return static_cast<uint32_t>(integral(require(o, key, path), 0, 4294967295.0, field(path, key)));
}

std::optional<uint32_t> getOptU32(const Napi::Object& o, const char* key, const std::string& path) {
  if (isAbsent(o.Get(key))) return std::nullopt;
  return getU32(o, key, path);
}

int32_t getI32(const Napi::Object& o, const char* key, const std::string& path) {
  return static_cast<int32_t>(integral(require(o, key, path), -2147483648.0, 2147483647.0, field(path, key)));
}

uint64_t getU64(const Napi::Object& o, const char* key, const std::string& path) {
  Napi::Value v = require(o, key, path);
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t n = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw InputError{field(path, key), "out of range"};
    return n;
  }
  return static_cast<uint64_t>(integral(v, 0, 9007199254740991.0, field(path, key)));
}

bool getOptBool(const Napi::Object& o, const char* key, bool dflt, const std::string& path) {
  Napi::Value v = o.Get(key);
  if (isAbsent(v)) return dflt;
  if (!v.IsBoolean()) throw InputError{field(path, key), "expected a boolean"};
  return v.As<Napi::Boolean>().Value();
}

std::vector<uint8_t> getBytes(const Napi::Object& o, const char* key, const std::string& path) {
  return bytesOf(require(o, key, path), field(path, key));
}

std::optional<std::vector<uint8_t>> getOptBytes(const Napi::Object& o, const char* key,
                                                const std::string& path) {
  Napi::Value v = o.Get(key);
  if (isAbsent(v)) return std::nullopt;
  return bytesOf(v, field(path, key));
}

Napi::Object getObject(const Napi::Object& o, const char* key, const std::string& path) {
  Napi::Value v = require(o, key, path);
  if (!v.IsObject() || v.IsArray()) throw InputError{field(path, key), "expected an object"};
  return v.As<Napi::Object>();
}

std::optional<Napi::Object> getOptObject(const Napi::Object& o, const char* key, const std::string& path) {
  if (isAbsent(o.Get(key))) return std::nullopt;
  return getObject(o, key, path);
}

Napi::Array getArray(const Napi::Object& o, const char* key, const std::string& path) {
  Napi::Value v = require(o, key, path);
  if (!v.IsArray()) throw InputError{field(path, key), "expected an array"};
  return v.As<Napi::Array>();
}

Napi::Buffer<uint8_t> toBuffer(Napi::Env env, const void* data, size_t len) {
  return Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(data), len);
}

}  // namespace netcg
