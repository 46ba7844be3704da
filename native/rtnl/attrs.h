// Helpers shared by rule.cc, route.cc and link.cc: address text <-> bytes and a
// defensive attribute parser. Header-only so binding.gyp needs no extra source.
#pragma once

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "../js.h"

namespace netcg::rtnl {

// RtRule/RtRoute say 4|6; the kernel wants AF_INET/AF_INET6.
inline int afFromFamily(uint32_t family, const std::string& path) {
  if (family == 4) return AF_INET;
  if (family == 6) return AF_INET6;
  throw InputError{path + ".family", "must be 4 or 6, got " + std::to_string(family)};
}

inline int familyFromAf(int af) { return af == AF_INET6 ? 6 : 4; }

inline size_t addrLen(int af) { return af == AF_INET6 ? 16 : 4; }

// Parses an address of exactly the given family; the message names the field so
// the caller sees e.g. "route.gateway: '10.0.0.x' is not an IPv4 address".
inline std::vector<uint8_t> parseAddr(int af, const std::string& text, const std::string& path) {
  std::vector<uint8_t> out(addrLen(af));
  if (inet_pton(af, text.c_str(), out.data()) != 1) {
    throw InputError{path, "'" + text + "' is not an " + (af == AF_INET6 ? "IPv6" : "IPv4") + " address"};
  }
  return out;
}

// Formats address bytes from the kernel; empty string when the length is wrong,
// so a malformed attribute is dropped rather than read out of bounds.
inline std::string formatAddr(int af, const nlattr* attr) {
  if (attr == nullptr || mnl_attr_get_payload_len(attr) != addrLen(af)) return "";
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(af, mnl_attr_get_payload(attr), text, sizeof text) == nullptr) return "";
  return text;
}

// Attributes of one message, indexed by type. A slot is null when the attribute
// was absent, of a type we do not decode, or failed validation against `types`
// (wrong length, unterminated string): decoders then simply treat it as absent.
class AttrIndex {
 public:
  // `types[t]` is the expected libmnl type of attribute t; MNL_TYPE_UNSPEC = ignore.
  // `types` must outlive the index (decoders keep one table per dump).
  explicit AttrIndex(const std::vector<mnl_attr_data_type>& types)
      : types_(types), attrs_(types.size(), nullptr) {}

  // Parses the attributes following a fixed header of `hdrLen` bytes. Returns
  // false when the message is too short to hold that header.
  bool parse(const nlmsghdr* nlh, size_t hdrLen) {
    if (nlh->nlmsg_len < NLMSG_HDRLEN || mnl_nlmsg_get_payload_len(nlh) < hdrLen) return false;
    return mnl_attr_parse(nlh, static_cast<unsigned>(hdrLen), &AttrIndex::store, this) >= 0;
  }

  bool parseNested(const nlattr* nest) {
    return nest != nullptr && mnl_attr_parse_nested(nest, &AttrIndex::store, this) >= 0;
  }

  const nlattr* operator[](size_t type) const { return type < attrs_.size() ? attrs_[type] : nullptr; }

 private:
  static int store(const nlattr* attr, void* self) {
    auto* index = static_cast<AttrIndex*>(self);
    const uint16_t type = mnl_attr_get_type(attr);
    if (type >= index->types_.size() || index->types_[type] == MNL_TYPE_UNSPEC) return MNL_CB_OK;
    if (mnl_attr_validate(attr, index->types_[type]) < 0) return MNL_CB_OK;
    index->attrs_[type] = attr;
    return MNL_CB_OK;
  }

  const std::vector<mnl_attr_data_type>& types_;
  std::vector<const nlattr*> attrs_;
};

// Request buffer: rtnetlink requests here are a header plus a few attributes.
constexpr size_t kRequestBufSize = 1024;

// Reads an optional u8-sized field (protocol, scope, type) with a range check.
inline std::optional<uint8_t> getOptU8(const Napi::Object& o, const char* key, const std::string& path) {
  std::optional<uint32_t> v = getOptU32(o, key, path);
  if (!v) return std::nullopt;
  if (*v > 255) throw InputError{path + "." + key, "must be 0..255, got " + std::to_string(*v)};
  return static_cast<uint8_t>(*v);
}

}  // namespace netcg::rtnl
