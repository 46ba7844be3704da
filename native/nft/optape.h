// The commit's input, read without napi per field.
//
// Why: a 10,000-profile apply is ~70,000 ops and ~190,000 expressions; reading
// them as JS objects costs one napi call (and a key string) per field, which was
// most of the commit's CPU time. src/native/optape.ts instead writes the ops as
// one compact buffer (a generic tree encoding of plain JS values, no knowledge
// of what an op means), and the encoders read that buffer here.
//
// `Fields` is the one view the encoders read an op, expression, hook, verdict or
// element through, backed by either a plain JS object (nftCommit(ops)) or the
// tape (nftCommit({ tape, strings, ops })). Both give the same values and the
// same InputError paths ("ops[3].exprs[1].key: expected a string").
//
// Tape layout (host byte order; must match src/native/optape.ts): a value is a
// tag byte, then
//   Absent, False, True, Other: nothing       U32: u32        F64: f64
//   String: u32 length, UTF-8 bytes           Bytes: u32 length, the bytes
//   BigInt: u8 (1 = fits in u64), u64
//   Object: u32 body length, u32 count, count x (u32 key index into `strings`, value)
//   Array:  u32 body length, u32 count, count x value
// The buffer may come from any caller, so every read is bounds-checked.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "js.h"

namespace netcg::nft {

enum class OpTag : uint8_t { Absent = 0, False, True, U32, F64, String, Bytes, Object, Array, BigInt, Other };

class OpTape {
 public:
  OpTape(const uint8_t* data, size_t size, std::vector<std::string> strings)
      : data_(data), size_(size), strings_(std::move(strings)) {}

  [[noreturn]] static void malformed() { throw InputError{"ops", "malformed op tape"}; }

  OpTag tag(size_t at) const {
    need(at, 1);
    uint8_t t = data_[at];
    if (t > uint8_t(OpTag::Other)) malformed();
    return OpTag(t);
  }
  uint32_t u32(size_t at) const {
    need(at, 4);
    uint32_t v;
    std::memcpy(&v, data_ + at, 4);
    return v;
  }
  double f64(size_t at) const {
    need(at, 8);
    double v;
    std::memcpy(&v, data_ + at, 8);
    return v;
  }
  uint64_t u64(size_t at) const {
    need(at, 8);
    uint64_t v;
    std::memcpy(&v, data_ + at, 8);
    return v;
  }
  uint8_t u8(size_t at) const {
    need(at, 1);
    return data_[at];
  }
  const uint8_t* bytes(size_t at, size_t n) const {
    need(at, n);
    return data_ + at;
  }
  const std::string& string(uint32_t index) const {
    if (index >= strings_.size()) malformed();
    return strings_[index];
  }
  size_t size() const { return size_; }

  // Offset just past the value whose tag is at `at` (O(1): containers carry their length).
  size_t skip(size_t at) const {
    switch (tag(at)) {
      case OpTag::Absent:
      case OpTag::False:
      case OpTag::True:
      case OpTag::Other:
        return at + 1;
      case OpTag::U32:
        need(at + 1, 4);
        return at + 5;
      case OpTag::F64:
        need(at + 1, 8);
        return at + 9;
      case OpTag::BigInt:
        need(at + 1, 9);
        return at + 10;
      case OpTag::String:
      case OpTag::Bytes: {
        size_t n = u32(at + 1);
        need(at + 5, n);
        return at + 5 + n;
      }
      case OpTag::Object:
      case OpTag::Array: {
        size_t n = u32(at + 1);
        need(at + 5, n);
        return at + 5 + n;
      }
    }
    malformed();
  }

 private:
  void need(size_t at, size_t n) const {
    if (at > size_ || n > size_ - at) malformed();
  }
  const uint8_t* data_;
  size_t size_;
  std::vector<std::string> strings_;
};

// Bytes read from either source. The napi side copies (a small Uint8Array's
// memory may move with V8's heap); the tape side points into the tape.
class ByteView {
 public:
  ByteView(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  explicit ByteView(std::vector<uint8_t> own) : own_(std::move(own)), p_(own_.data()), n_(own_.size()) {}
  ByteView(ByteView&& o) noexcept
      : own_(std::move(o.own_)), p_(own_.empty() ? o.p_ : own_.data()), n_(o.n_) {}
  ByteView(const ByteView&) = delete;
  const uint8_t* data() const { return p_; }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }

 private:
  std::vector<uint8_t> own_;
  const uint8_t* p_;
  size_t n_;
};

class Items;

// One object: a JS object, or an Object value on a tape.
class Fields {
 public:
  explicit Fields(const Napi::Object& o) : obj_(o) {}
  Fields(const OpTape& t, size_t at) : tape_(&t), at_(at) {
    if (t.tag(at) != OpTag::Object) OpTape::malformed();
  }

  bool isTape() const { return tape_ != nullptr; }
  const Napi::Object& object() const { return obj_; }
  const OpTape& tape() const { return *tape_; }

  // Offset of `key`'s value tag, or nullopt when absent (missing, undefined or null).
  std::optional<size_t> find(const char* key) const {
    const size_t len = std::strlen(key);
    const uint32_t count = tape_->u32(at_ + 5);
    size_t p = at_ + 9;
    const size_t end = at_ + 5 + tape_->u32(at_ + 1);
    for (uint32_t i = 0; i < count; i++) {
      if (p >= end) OpTape::malformed();
      const std::string& k = tape_->string(tape_->u32(p));
      size_t value = p + 4;
      if (k.size() == len && std::memcmp(k.data(), key, len) == 0)
        return tape_->tag(value) == OpTag::Absent ? std::nullopt : std::optional<size_t>(value);
      p = tape_->skip(value);
    }
    return std::nullopt;
  }

 private:
  Napi::Object obj_;
  const OpTape* tape_ = nullptr;
  size_t at_ = 0;
};

// One array: a JS array, or an Array value on a tape. Sequential access is O(1)
// per element on a tape (a cursor remembers the last position).
class Items {
 public:
  explicit Items(const Napi::Array& a) : arr_(a), length_(a.Length()) {}
  Items(const OpTape& t, size_t at) : tape_(&t) {
    if (t.tag(at) != OpTag::Array) OpTape::malformed();
    length_ = t.u32(at + 5);
    first_ = at + 9;
    end_ = at + 5 + t.u32(at + 1);
    cursorIndex_ = 0;
    cursorAt_ = first_;
  }
  uint32_t Length() const { return length_; }

  // Element `i` as an object, or nullopt when it is not one.
  std::optional<Fields> object(uint32_t i) const {
    if (tape_ == nullptr) {
      Napi::Value v = arr_.Get(i);
      if (!v.IsObject()) return std::nullopt;
      return Fields(v.As<Napi::Object>());
    }
    size_t at = seek(i);
    if (tape_->tag(at) != OpTag::Object) return std::nullopt;
    return Fields(*tape_, at);
  }

 private:
  size_t seek(uint32_t i) const {
    if (i >= length_) OpTape::malformed();
    if (i < cursorIndex_) {
      cursorIndex_ = 0;
      cursorAt_ = first_;
    }
    while (cursorIndex_ < i) {
      cursorAt_ = tape_->skip(cursorAt_);
      cursorIndex_++;
    }
    if (cursorAt_ >= end_) OpTape::malformed();
    return cursorAt_;
  }
  Napi::Array arr_;
  const OpTape* tape_ = nullptr;
  uint32_t length_ = 0;
  size_t first_ = 0, end_ = 0;
  mutable uint32_t cursorIndex_ = 0;
  mutable size_t cursorAt_ = 0;
};

// ---- readers with the semantics and messages of js.h, for either source.
namespace fields_detail {

inline std::string field(const std::string& path, const char* key) {
  return path.empty() ? std::string(key) : path + "." + key;
}

inline size_t require(const Fields& o, const char* key, const std::string& path) {
  auto at = o.find(key);
  if (!at) throw InputError{field(path, key), "is required"};
  return *at;
}

inline double integral(const OpTape& t, size_t at, double lo, double hi, const char* key,
                       const std::string& path) {
  double d;
  switch (t.tag(at)) {
    case OpTag::U32:
      d = t.u32(at + 1);
      break;
    case OpTag::F64:
      d = t.f64(at + 1);
      break;
    default:
      throw InputError{field(path, key), "expected a number"};
  }
  if (!std::isfinite(d) || std::floor(d) != d) throw InputError{field(path, key), "expected an integer"};
  if (d < lo || d > hi) throw InputError{field(path, key), "out of range"};
  return d;
}

}  // namespace fields_detail

inline bool has(const Fields& o, const char* key) {
  if (!o.isTape()) {
    Napi::Value v = o.object().Get(key);
    return !v.IsUndefined() && !v.IsNull();
  }
  return o.find(key).has_value();
}

inline std::string getString(const Fields& o, const char* key, const std::string& path) {
  if (!o.isTape()) return netcg::getString(o.object(), key, path);
  size_t at = fields_detail::require(o, key, path);
  if (o.tape().tag(at) != OpTag::String)
    throw InputError{fields_detail::field(path, key), "expected a string"};
  size_t n = o.tape().u32(at + 1);
  return std::string(reinterpret_cast<const char*>(o.tape().bytes(at + 5, n)), n);
}

inline std::optional<std::string> getOptString(const Fields& o, const char* key, const std::string& path) {
  if (!has(o, key)) return std::nullopt;
  return getString(o, key, path);
}

inline uint32_t getU32(const Fields& o, const char* key, const std::string& path) {
  if (!o.isTape()) return netcg::getU32(o.object(), key, path);
  return uint32_t(
      fields_detail::integral(o.tape(), fields_detail::require(o, key, path), 0, 4294967295.0, key, path));
}

inline std::optional<uint32_t> getOptU32(const Fields& o, const char* key, const std::string& path) {
  if (!has(o, key)) return std::nullopt;
  return getU32(o, key, path);
}

inline int32_t getI32(const Fields& o, const char* key, const std::string& path) {
  if (!o.isTape()) return netcg::getI32(o.object(), key, path);
  return int32_t(fields_detail::integral(o.tape(), fields_detail::require(o, key, path), -2147483648.0,
                                         2147483647.0, key, path));
}

inline uint64_t getU64(const Fields& o, const char* key, const std::string& path) {
  if (!o.isTape()) return netcg::getU64(o.object(), key, path);
  size_t at = fields_detail::require(o, key, path);
  if (o.tape().tag(at) == OpTag::BigInt) {
    if (o.tape().u8(at + 1) != 1) throw InputError{fields_detail::field(path, key), "out of range"};
    return o.tape().u64(at + 2);
  }
  return uint64_t(fields_detail::integral(o.tape(), at, 0, 9007199254740991.0, key, path));
}

inline bool getOptBool(const Fields& o, const char* key, bool dflt, const std::string& path) {
  if (!o.isTape()) return netcg::getOptBool(o.object(), key, dflt, path);
  auto at = o.find(key);
  if (!at) return dflt;
  OpTag t = o.tape().tag(*at);
  if (t != OpTag::True && t != OpTag::False)
    throw InputError{fields_detail::field(path, key), "expected a boolean"};
  return t == OpTag::True;
}

inline ByteView getBytes(const Fields& o, const char* key, const std::string& path) {
  if (!o.isTape()) return ByteView(netcg::getBytes(o.object(), key, path));
  size_t at = fields_detail::require(o, key, path);
  if (o.tape().tag(at) != OpTag::Bytes)
    throw InputError{fields_detail::field(path, key), "expected a Buffer or Uint8Array"};
  size_t n = o.tape().u32(at + 1);
  return ByteView(o.tape().bytes(at + 5, n), n);
}

inline std::optional<ByteView> getOptBytes(const Fields& o, const char* key, const std::string& path) {
  if (!has(o, key)) return std::nullopt;
  return getBytes(o, key, path);
}

inline Fields getObject(const Fields& o, const char* key, const std::string& path) {
  if (!o.isTape()) return Fields(netcg::getObject(o.object(), key, path));
  size_t at = fields_detail::require(o, key, path);
  if (o.tape().tag(at) != OpTag::Object)
    throw InputError{fields_detail::field(path, key), "expected an object"};
  return Fields(o.tape(), at);
}

inline std::optional<Fields> getOptObject(const Fields& o, const char* key, const std::string& path) {
  if (!has(o, key)) return std::nullopt;
  return getObject(o, key, path);
}

inline Items getArray(const Fields& o, const char* key, const std::string& path) {
  if (!o.isTape()) return Items(netcg::getArray(o.object(), key, path));
  size_t at = fields_detail::require(o, key, path);
  if (o.tape().tag(at) != OpTag::Array)
    throw InputError{fields_detail::field(path, key), "expected an array"};
  return Items(o.tape(), at);
}

}  // namespace netcg::nft
