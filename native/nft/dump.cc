// The kernel's nf_tables state as plain JS objects: tables, chains, rules (with
// decoded expressions) and sets with their elements.
//
// A dump is several requests; the ruleset may change between them. We read the
// generation id before and after and retry when it moved (or when the kernel
// flagged a part NLM_F_DUMP_INTR), so callers always get one consistent picture.
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstring>
#include <vector>

#include "js.h"
#include "nft/expr/expr.h"
#include "nft/nft.h"
#include "nft/objects.h"
#include "nft/verdict.h"

namespace netcg::nft {

namespace {

constexpr int kMaxAttempts = 10;

NetlinkFailure fail(int errnum, const std::string& op) {
  NetlinkFailure f;
  f.errnum = errnum;
  f.op = op;
  return f;
}

struct Filter {
  std::optional<uint16_t> family;
  std::optional<std::string> table;
  bool wants(uint16_t fam, const char* tableName) const {
    if (family && *family != fam) return false;
    if (table && (tableName == nullptr || *table != tableName)) return false;
    return true;
  }
};

// Sends one dump request (built by `build` into a buffer) and hands every reply
// message to `each`.
template <typename Build>
void dumpRequest(NetlinkSocket& s, uint16_t type, uint16_t family, Build build, const NetlinkSocket::OnMessage& each,
                 const char* op) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  uint32_t seq = s.nextSeq();
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), type, family, NLM_F_DUMP, seq);
  build(nlh);
  s.request(buf.data(), nlh->nlmsg_len, seq, seq, each, op);
}

void noPayload(nlmsghdr*) {}

// JS-safe number for a 64-bit handle (handles are small counters in practice).
Napi::Value u64(Napi::Env env, uint64_t v) { return Napi::Number::New(env, double(v)); }

const char* hookName(uint16_t family, uint32_t hook) {
  if (family == NFPROTO_NETDEV || family == NFPROTO_ARP) return nullptr;  // other numbering
  switch (hook) {
    case NF_INET_PRE_ROUTING: return "prerouting";
    case NF_INET_LOCAL_IN: return "input";
    case NF_INET_FORWARD: return "forward";
    case NF_INET_LOCAL_OUT: return "output";
    case NF_INET_POST_ROUTING: return "postrouting";
    case NF_INET_INGRESS: return "ingress";
    default: return nullptr;
  }
}

struct Dumper {
  Napi::Env env;
  NetlinkSocket& s;
  Filter filter;
  uint16_t requestFamily() const { return filter.family.value_or(NFPROTO_UNSPEC); }

  Napi::Array tables() {
    Napi::Array out = Napi::Array::New(env);
    dumpRequest(s, NFT_MSG_GETTABLE, requestFamily(), noPayload, [&](const nlmsghdr* nlh) {
      auto t = owned<TablePtr>(nftnl_table_alloc());
      if (nftnl_table_nlmsg_parse(nlh, t.get()) < 0) throw fail(EBADMSG, "nft.dump.table");
      uint16_t family = uint16_t(nftnl_table_get_u32(t.get(), NFTNL_TABLE_FAMILY));
      const char* name = nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME);
      const char* fam = familyName(family);
      if (name == nullptr || fam == nullptr || !filter.wants(family, name)) return;
      Napi::Object o = Napi::Object::New(env);
      o.Set("family", fam);
      o.Set("name", name);
      o.Set("handle", u64(env, nftnl_table_get_u64(t.get(), NFTNL_TABLE_HANDLE)));
      o.Set("flags", nftnl_table_get_u32(t.get(), NFTNL_TABLE_FLAGS));
      if (nftnl_table_is_set(t.get(), NFTNL_TABLE_USE)) o.Set("use", nftnl_table_get_u32(t.get(), NFTNL_TABLE_USE));
      out.Set(out.Length(), o);
    }, "nft.dump.tables");
    return out;
  }

  Napi::Array chains() {
    Napi::Array out = Napi::Array::New(env);
    dumpRequest(s, NFT_MSG_GETCHAIN, requestFamily(), noPayload, [&](const nlmsghdr* nlh) {
      auto c = owned<ChainPtr>(nftnl_chain_alloc());
      if (nftnl_chain_nlmsg_parse(nlh, c.get()) < 0) throw fail(EBADMSG, "nft.dump.chain");
      uint16_t family = uint16_t(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_FAMILY));
      const char* table = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE);
      const char* name = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME);
      const char* fam = familyName(family);
      if (name == nullptr || fam == nullptr || !filter.wants(family, table)) return;
      Napi::Object o = Napi::Object::New(env);
      o.Set("family", fam);
      o.Set("table", table);
      o.Set("name", name);
      o.Set("handle", u64(env, nftnl_chain_get_u64(c.get(), NFTNL_CHAIN_HANDLE)));
      if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM)) {
        const char* hook = hookName(family, nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM));
        const char* type = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TYPE);
        if (hook != nullptr && type != nullptr) {
          Napi::Object h = Napi::Object::New(env);
          h.Set("type", type);
          h.Set("hook", hook);
          h.Set("priority", nftnl_chain_get_s32(c.get(), NFTNL_CHAIN_PRIO));
          if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_POLICY)) {
            uint32_t policy = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY);
            h.Set("policy", policy == NF_ACCEPT ? "accept" : "drop");
          }
          o.Set("hook", h);
        }
      }
      out.Set(out.Length(), o);
    }, "nft.dump.chains");
    return out;
  }

  Napi::Array rules() {
    Napi::Array out = Napi::Array::New(env);
    auto build = [&](nlmsghdr* nlh) {
      if (!filter.table) return;
      auto r = owned<RulePtr>(nftnl_rule_alloc());
      nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, filter.table->c_str());
      nftnl_rule_nlmsg_build_payload(nlh, r.get());
    };
    dumpRequest(s, NFT_MSG_GETRULE, requestFamily(), build, [&](const nlmsghdr* nlh) {
      auto r = owned<RulePtr>(nftnl_rule_alloc());
      if (nftnl_rule_nlmsg_parse(nlh, r.get()) < 0) {
        // libnftnl refuses rules holding an expression kind it does not know.
        if (Napi::Value o = ruleWithUnknownExprs(nlh); !o.IsEmpty()) out.Set(out.Length(), o);
        return;
      }
      uint16_t family = uint16_t(nftnl_rule_get_u32(r.get(), NFTNL_RULE_FAMILY));
      const char* table = nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE);
      const char* chain = nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN);
      const char* fam = familyName(family);
      if (fam == nullptr || chain == nullptr || !filter.wants(family, table)) return;
      Napi::Object o = Napi::Object::New(env);
      o.Set("family", fam);
      o.Set("table", table);
      o.Set("chain", chain);
      o.Set("handle", u64(env, nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE)));
      if (nftnl_rule_is_set(r.get(), NFTNL_RULE_POSITION))
        o.Set("position", u64(env, nftnl_rule_get_u64(r.get(), NFTNL_RULE_POSITION)));
      Napi::Array exprs = Napi::Array::New(env);
      nftnl_expr_iter* it = nftnl_expr_iter_create(r.get());
      if (it == nullptr) throw fail(ENOMEM, "nft.alloc");
      for (nftnl_expr* e = nftnl_expr_iter_next(it); e != nullptr; e = nftnl_expr_iter_next(it))
        exprs.Set(exprs.Length(), expr::decode(env, e));
      nftnl_expr_iter_destroy(it);
      o.Set("exprs", exprs);
      if (nftnl_rule_is_set(r.get(), NFTNL_RULE_USERDATA)) {
        uint32_t len = 0;
        const void* ud = nftnl_rule_get_data(r.get(), NFTNL_RULE_USERDATA, &len);
        if (ud != nullptr) o.Set("userdata", toBuffer(env, ud, len));
      }
      out.Set(out.Length(), o);
    }, "nft.dump.rules");
    return out;
  }

  // Fallback for a rule libnftnl cannot parse: read the identifying attributes
  // and the expression names ourselves; every expression becomes unknown.
  Napi::Value ruleWithUnknownExprs(const nlmsghdr* nlh) {
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nfgenmsg)) return Napi::Value();
    const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
    const nlattr* tb[NFTA_RULE_MAX + 1] = {};
    auto collect = [](const nlattr* a, void* data) -> int {
      auto** t = static_cast<const nlattr**>(data);
      uint16_t type = mnl_attr_get_type(a);
      if (type <= NFTA_RULE_MAX) t[type] = a;
      return MNL_CB_OK;
    };
    if (mnl_attr_parse(nlh, sizeof(nfgenmsg), collect, tb) < 0) return Napi::Value();
    auto str = [](const nlattr* a) -> const char* {
      if (a == nullptr || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0) return nullptr;
      return mnl_attr_get_str(a);
    };
    const char* table = str(tb[NFTA_RULE_TABLE]);
    const char* chain = str(tb[NFTA_RULE_CHAIN]);
    const char* fam = familyName(nfg->nfgen_family);
    if (table == nullptr || chain == nullptr || fam == nullptr || !filter.wants(nfg->nfgen_family, table))
      return Napi::Value();
    Napi::Object o = Napi::Object::New(env);
    o.Set("family", fam);
    o.Set("table", table);
    o.Set("chain", chain);
    uint64_t handle = 0;
    if (tb[NFTA_RULE_HANDLE] != nullptr && mnl_attr_validate(tb[NFTA_RULE_HANDLE], MNL_TYPE_U64) == 0)
      handle = be64toh(mnl_attr_get_u64(tb[NFTA_RULE_HANDLE]));
    o.Set("handle", u64(env, handle));
    Napi::Array exprs = Napi::Array::New(env);
    // Nested attributes walked by hand: libmnl's iteration macros are C-only.
    auto eachNested = [](const nlattr* nest, auto&& fn) {
      const auto* pos = static_cast<const nlattr*>(mnl_attr_get_payload(nest));
      int len = int(mnl_attr_get_payload_len(nest));
      while (mnl_attr_ok(pos, len)) {
        fn(pos);
        len -= int(MNL_ALIGN(pos->nla_len));
        pos = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(pos) + MNL_ALIGN(pos->nla_len));
      }
    };
    if (tb[NFTA_RULE_EXPRESSIONS] != nullptr) {
      eachNested(tb[NFTA_RULE_EXPRESSIONS], [&](const nlattr* elem) {
        const char* name = nullptr;
        eachNested(elem, [&](const nlattr* inner) {
          if (mnl_attr_get_type(inner) == NFTA_EXPR_NAME) name = str(inner);
        });
        Napi::Object e = Napi::Object::New(env);
        e.Set("type", name != nullptr ? name : "?");
        e.Set("unknown", true);
        exprs.Set(exprs.Length(), e);
      });
    }
    o.Set("exprs", exprs);
    return o;
  }

  Napi::Array sets() {
    Napi::Array out = Napi::Array::New(env);
    std::vector<SetPtr> found;
    dumpRequest(s, NFT_MSG_GETSET, requestFamily(), noPayload, [&](const nlmsghdr* nlh) {
      auto set = owned<SetPtr>(nftnl_set_alloc());
      if (nftnl_set_nlmsg_parse(nlh, set.get()) < 0) throw fail(EBADMSG, "nft.dump.set");
      uint16_t family = uint16_t(nftnl_set_get_u32(set.get(), NFTNL_SET_FAMILY));
      const char* table = nftnl_set_get_str(set.get(), NFTNL_SET_TABLE);
      if (familyName(family) == nullptr || nftnl_set_get_str(set.get(), NFTNL_SET_NAME) == nullptr ||
          !filter.wants(family, table))
        return;
      found.push_back(std::move(set));
    }, "nft.dump.sets");
    for (auto& set : found) out.Set(out.Length(), setObject(set.get()));
    return out;
  }

  Napi::Object setObject(nftnl_set* set) {
    uint16_t family = uint16_t(nftnl_set_get_u32(set, NFTNL_SET_FAMILY));
    const char* table = nftnl_set_get_str(set, NFTNL_SET_TABLE);
    const char* name = nftnl_set_get_str(set, NFTNL_SET_NAME);
    Napi::Object o = Napi::Object::New(env);
    o.Set("family", familyName(family));
    o.Set("table", table);
    o.Set("name", name);
    o.Set("handle", u64(env, nftnl_set_get_u64(set, NFTNL_SET_HANDLE)));
    o.Set("flags", nftnl_set_get_u32(set, NFTNL_SET_FLAGS));
    o.Set("keyType", nftnl_set_get_u32(set, NFTNL_SET_KEY_TYPE));
    o.Set("keyLen", nftnl_set_get_u32(set, NFTNL_SET_KEY_LEN));
    if (nftnl_set_is_set(set, NFTNL_SET_DATA_TYPE)) o.Set("dataType", nftnl_set_get_u32(set, NFTNL_SET_DATA_TYPE));
    if (nftnl_set_is_set(set, NFTNL_SET_DATA_LEN)) o.Set("dataLen", nftnl_set_get_u32(set, NFTNL_SET_DATA_LEN));
    if (nftnl_set_is_set(set, NFTNL_SET_USERDATA)) {
      uint32_t len = 0;
      const void* ud = nftnl_set_get_data(set, NFTNL_SET_USERDATA, &len);
      if (ud != nullptr) o.Set("userdata", toBuffer(env, ud, len));
    }
    o.Set("elements", elements(family, table, name));
    return o;
  }

  Napi::Array elements(uint16_t family, const char* table, const char* name) {
    Napi::Array out = Napi::Array::New(env);
    auto build = [&](nlmsghdr* nlh) {
      auto ref = owned<SetPtr>(nftnl_set_alloc());
      nftnl_set_set_str(ref.get(), NFTNL_SET_TABLE, table);
      nftnl_set_set_str(ref.get(), NFTNL_SET_NAME, name);
      nftnl_set_elems_nlmsg_build_payload(nlh, ref.get());
    };
    dumpRequest(s, NFT_MSG_GETSETELEM, family, build, [&](const nlmsghdr* nlh) {
      auto holder = owned<SetPtr>(nftnl_set_alloc());
      if (nftnl_set_elems_nlmsg_parse(nlh, holder.get()) < 0) throw fail(EBADMSG, "nft.dump.elements");
      nftnl_set_elems_iter* it = nftnl_set_elems_iter_create(holder.get());
      if (it == nullptr) throw fail(ENOMEM, "nft.alloc");
      for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it); e != nullptr; e = nftnl_set_elems_iter_next(it))
        out.Set(out.Length(), elementObject(e));
      nftnl_set_elems_iter_destroy(it);
    }, "nft.dump.elements");
    return out;
  }

  Napi::Object elementObject(nftnl_set_elem* e) {
    Napi::Object o = Napi::Object::New(env);
    uint32_t len = 0;
    const void* key = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY) ? nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len) : nullptr;
    o.Set("key", key != nullptr ? toBuffer(env, key, len) : toBuffer(env, "", 0));
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT)) {
      int32_t code = int32_t(nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT));
      const char* chain =
          nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN) ? nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN) : nullptr;
      if (auto v = verdictToJs(env, code, chain)) o.Set("verdict", *v);
    } else if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA)) {
      const void* data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len);
      if (data != nullptr) o.Set("data", toBuffer(env, data, len));
    }
    return o;
  }
};

}  // namespace

Napi::Object dump(Napi::Env env, NetlinkSocket& s, std::optional<uint16_t> family, std::optional<std::string> table) {
  Dumper d{env, s, Filter{family, table}};
  for (int attempt = 0; attempt < kMaxAttempts; attempt++) {
    uint32_t before = genid(s);
    Napi::Object out = Napi::Object::New(env);
    try {
      Napi::Array tables = d.tables();
      out.Set("tables", tables);
      // A filtered table that does not exist: nothing else can match.
      bool empty = table.has_value() && tables.Length() == 0;
      out.Set("chains", empty ? Napi::Array::New(env) : d.chains());
      out.Set("rules", empty ? Napi::Array::New(env) : d.rules());
      out.Set("sets", empty ? Napi::Array::New(env) : d.sets());
    } catch (const NetlinkFailure& f) {
      // Interrupted, or a set vanished between listing and reading its elements.
      if (f.dumpInterrupted || f.errnum == ENOENT) continue;
      throw;
    }
    if (genid(s) == before) {
      out.Set("genid", before);
      return out;
    }
  }
  throw fail(EAGAIN, "nft.dump (the ruleset kept changing)");
}

}  // namespace netcg::nft
