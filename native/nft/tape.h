// A dump's result written as a flat "tape" of tagged values instead of JS
// objects built one napi call at a time.
//
// Why: a 10,000-profile table is ~100,000 objects (rules, expressions, chains,
// elements) and each property set through napi costs far more than the same
// object literal built by JS. The decoders write here (no napi at all); the tape
// then becomes either napi objects (nftDump's default result, see dump.cc) or is
// handed to JS whole and read by a small generic reader (src/state/nft-tape.ts),
// which builds the very same shapes far faster.
//
// Format (host byte order: writer and reader are the same process):
//   OBJ  u32 count, then count x (u32 key string index, value)
//   ARR  u32 count, then count x value
//   STR  u32 string index         U32 u32      I32 i32      F64 f64
//   BYTES u32 len, then len bytes TRUE         FALSE
// Strings (keys and values) are interned: each distinct string is stored once in
// `strings` and referenced by index. Generic: the tape knows nothing of nf_tables.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace netcg::nft {

enum class Tag : uint8_t {
  Obj = 1,
  Arr = 2,
  Str = 3,
  U32 = 4,
  I32 = 5,
  F64 = 6,
  Bytes = 7,
  True = 8,
  False = 9
};

class Tape {
 public:
  // ---- values
  void str(std::string_view s) {
    tag(Tag::Str);
    put32(intern(s));
  }
  void u32(uint32_t v) {
    tag(Tag::U32);
    put32(v);
  }
  void i32(int32_t v) {
    tag(Tag::I32);
    put(&v, 4);
  }
  void f64(double v) {
    tag(Tag::F64);
    put(&v, 8);
  }
  void boolean(bool v) { tag(v ? Tag::True : Tag::False); }
  void bytes(const void* p, uint32_t len) {
    tag(Tag::Bytes);
    put32(len);
    put(p, len);
  }

  // Containers: begin, then key()+value per member (objects) or values (arrays), then end().
  void beginObject() { open(Tag::Obj); }
  void beginArray() { open(Tag::Arr); }
  void key(std::string_view k) {
    put32(intern(k));
    counts_.back().count++;
  }
  void item() { counts_.back().count++; }  // before each array element
  void end() {
    Open o = counts_.back();
    counts_.pop_back();
    std::memcpy(buf_.data() + o.at, &o.count, 4);
  }

  // Rollback to a mark (a decoder that gave up half-way); strings interned since stay, unused.
  struct Mark {
    size_t size;
    size_t depth;
    uint32_t count;
  };
  Mark mark() const { return {buf_.size(), counts_.size(), counts_.empty() ? 0 : counts_.back().count}; }
  void rollback(const Mark& m) {
    buf_.resize(m.size);
    counts_.resize(m.depth);
    if (!counts_.empty()) counts_.back().count = m.count;
  }

  const std::vector<uint8_t>& data() const { return buf_; }
  const std::deque<std::string>& strings() const { return strings_; }
  size_t depth() const { return counts_.size(); }

 private:
  struct Open {
    size_t at;
    uint32_t count;
  };
  void tag(Tag t) { buf_.push_back(uint8_t(t)); }
  void put(const void* p, size_t n) {
    size_t at = buf_.size();
    buf_.resize(at + n);
    if (n > 0) std::memcpy(buf_.data() + at, p, n);
  }
  void put32(uint32_t v) { put(&v, 4); }
  void open(Tag t) {
    tag(t);
    counts_.push_back({buf_.size(), 0});
    put32(0);  // patched by end()
  }
  uint32_t intern(std::string_view s) {
    auto it = index_.find(s);
    if (it != index_.end()) return it->second;
    auto idx = uint32_t(strings_.size());
    // A deque never moves its elements, so the view used as the map's key stays valid.
    index_.emplace(std::string_view(strings_.emplace_back(s)), idx);
    return idx;
  }

  std::vector<uint8_t> buf_;
  std::vector<Open> counts_;
  std::deque<std::string> strings_;
  std::unordered_map<std::string_view, uint32_t> index_;
};

}  // namespace netcg::nft
