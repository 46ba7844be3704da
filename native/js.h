// Small helpers for reading plain JS objects in the encoders. They throw
// InputError (errors.h) naming the field path, so a malformed op never reaches the
// kernel and the JS caller learns exactly which field was wrong.
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace netcg {

// Thrown by the helpers; the binding entry points catch it and rethrow as a JS error.
struct InputError {
  std::string path;
  std::string what;
};

// `path` is the dotted location used in messages, e.g. "ops[2].exprs[0]".
std::string getString(const Napi::Object& o, const char* key, const std::string& path);
std::optional<std::string> getOptString(const Napi::Object& o, const char* key, const std::string& path);
uint32_t getU32(const Napi::Object& o, const char* key, const std::string& path);
std::optional<uint32_t> getOptU32(const Napi::Object& o, const char* key, const std::string& path);
int32_t getI32(const Napi::Object& o, const char* key, const std::string& path);
uint64_t getU64(const Napi::Object& o, const char* key, const std::string& path);  // number or bigint
bool getOptBool(const Napi::Object& o, const char* key, bool dflt, const std::string& path);
std::vector<uint8_t> getBytes(const Napi::Object& o, const char* key,
                              const std::string& path);  // Buffer/Uint8Array
std::optional<std::vector<uint8_t>> getOptBytes(const Napi::Object& o, const char* key,
                                                const std::string& path);
Napi::Object getObject(const Napi::Object& o, const char* key, const std::string& path);
std::optional<Napi::Object> getOptObject(const Napi::Object& o, const char* key, const std::string& path);
Napi::Array getArray(const Napi::Object& o, const char* key, const std::string& path);

Napi::Buffer<uint8_t> toBuffer(Napi::Env env, const void* data, size_t len);

}  // namespace netcg
