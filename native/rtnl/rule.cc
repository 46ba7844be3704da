// ip rules (RTM_NEWRULE / RTM_DELRULE / RTM_GETRULE) <-> RtRule objects.
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <string>
#include <vector>

#include "attrs.h"
#include "decode.h"
#include "dump.h"
#include "rtnl.h"

namespace netcg::rtnl {
namespace {

struct ActionName {
  uint8_t code;
  const char* name;
};
// The actions RtRule can express; others are decoded by name for honesty (below).
constexpr ActionName kActions[] = {
    {FR_ACT_TO_TBL, "to_tbl"},
    {FR_ACT_UNREACHABLE, "unreachable"},
    {FR_ACT_PROHIBIT, "prohibit"},
    {FR_ACT_BLACKHOLE, "blackhole"},
};

uint8_t actionCode(const std::optional<std::string>& name) {
  if (!name) return FR_ACT_TO_TBL;
  for (const auto& a : kActions) {
    if (*name == a.name) return a.code;
  }
  throw InputError{"rule.action", "unknown action '" + *name + "'"};
}

std::string actionName(uint8_t code) {
  for (const auto& a : kActions) {
    if (code == a.code) return a.name;
  }
  // Rules netcg never writes (goto, nop) still show up in dumps of foreign rules.
  if (code == FR_ACT_GOTO) return "goto";
  if (code == FR_ACT_NOP) return "nop";
  return "action" + std::to_string(code);
}

std::vector<mnl_attr_data_type> ruleAttrTypes() {
  std::vector<mnl_attr_data_type> t(FRA_MAX + 1, MNL_TYPE_UNSPEC);
  t[FRA_TABLE] = MNL_TYPE_U32;
  t[FRA_PRIORITY] = MNL_TYPE_U32;
  t[FRA_FWMARK] = MNL_TYPE_U32;
  t[FRA_FWMASK] = MNL_TYPE_U32;
  t[FRA_PROTOCOL] = MNL_TYPE_U8;
  return t;
}

}  // namespace

std::optional<DecodedRule> decodeRule(const nlmsghdr* msg, int af) {
  static const std::vector<mnl_attr_data_type> types = ruleAttrTypes();
  if (msg->nlmsg_type != RTM_NEWRULE) return std::nullopt;
  AttrIndex attrs(types);
  if (!attrs.parse(msg, sizeof(fib_rule_hdr))) return std::nullopt;
  const auto* hdr = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(msg));
  if (hdr->family != af) return std::nullopt;
  DecodedRule r;
  r.family = familyFromAf(hdr->family);
  r.table = attrs[FRA_TABLE] ? mnl_attr_get_u32(attrs[FRA_TABLE]) : hdr->table;
  r.action = actionName(hdr->action);
  r.invert = (hdr->flags & FIB_RULE_INVERT) != 0;
  // The kernel leaves FRA_PRIORITY out for priority 0 (the `lookup local` rule).
  r.priority = attrs[FRA_PRIORITY] ? mnl_attr_get_u32(attrs[FRA_PRIORITY]) : 0;
  if (attrs[FRA_FWMARK]) r.fwmark = mnl_attr_get_u32(attrs[FRA_FWMARK]);
  if (attrs[FRA_FWMASK]) r.fwmask = mnl_attr_get_u32(attrs[FRA_FWMASK]);
  if (attrs[FRA_PROTOCOL]) r.protocol = mnl_attr_get_u8(attrs[FRA_PROTOCOL]);
  return r;
}

void ruleChange(NetlinkSocket& s, const Napi::Object& rule, bool add) {
  const std::string path = "rule";
  const int af = afFromFamily(getU32(rule, "family", path), path);
  const uint32_t table = getU32(rule, "table", path);
  const std::optional<uint32_t> priority = getOptU32(rule, "priority", path);
  const std::optional<uint32_t> fwmark = getOptU32(rule, "fwmark", path);
  const std::optional<uint32_t> fwmask = getOptU32(rule, "fwmask", path);
  const std::optional<uint8_t> protocol = getOptU8(rule, "protocol", path);
  const uint8_t action = actionCode(getOptString(rule, "action", path));
  const bool invert = getOptBool(rule, "invert", false, path);

  char buf[kRequestBufSize];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = add ? RTM_NEWRULE : RTM_DELRULE;
  // EXCL: a duplicate add must fail with EEXIST instead of stacking a second copy.
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
  nlh->nlmsg_seq = s.nextSeq();

  auto* frh = static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(fib_rule_hdr)));
  frh->family = static_cast<uint8_t>(af);
  frh->action = action;
  frh->flags = invert ? FIB_RULE_INVERT : 0;
  // The header's table is 8 bits; FRA_TABLE carries the full value and wins in
  // the kernel, so the header only gets it when it fits.
  frh->table = table < 256 ? static_cast<uint8_t>(table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
  if (table != 0) mnl_attr_put_u32(nlh, FRA_TABLE, table);
  // Every field given is sent, also on delete: the kernel only removes a rule
  // that matches all of them, so a delete carrying netcg's protocol can never
  // remove a foreign rule that happens to look the same otherwise.
  if (priority) mnl_attr_put_u32(nlh, FRA_PRIORITY, *priority);
  if (fwmark) mnl_attr_put_u32(nlh, FRA_FWMARK, *fwmark);
  if (fwmask) mnl_attr_put_u32(nlh, FRA_FWMASK, *fwmask);
  if (protocol) mnl_attr_put_u8(nlh, FRA_PROTOCOL, *protocol);

  s.request(
      buf, nlh->nlmsg_len, nlh->nlmsg_seq, nlh->nlmsg_seq, [](const nlmsghdr*) {},
      add ? "rtnl.rule.add" : "rtnl.rule.del");
}

Napi::Array ruleDump(Napi::Env env, NetlinkSocket& s, const RuleFilter& filter) {
  const auto rules = dumpAll<fib_rule_hdr>(
      s, RTM_GETRULE, "rtnl.rule.dump",
      [&](nlmsghdr*, fib_rule_hdr& h) { h.family = static_cast<uint8_t>(filter.af); },
      [&](const nlmsghdr* msg) -> std::optional<DecodedRule> {
        auto r = decodeRule(msg, filter.af);
        if (r && !filter.matches(*r)) return std::nullopt;
        return r;
      });

  Napi::Array out = Napi::Array::New(env, rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    const DecodedRule& r = rules[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("family", r.family);
    o.Set("priority", r.priority);
    o.Set("table", r.table);
    if (r.fwmark) o.Set("fwmark", *r.fwmark);
    if (r.fwmask) o.Set("fwmask", *r.fwmask);
    if (r.protocol) o.Set("protocol", *r.protocol);
    o.Set("action", r.action);
    if (r.invert) o.Set("invert", true);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

}  // namespace netcg::rtnl
