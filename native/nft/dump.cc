// The kernel's nf_tables state as plain JS objects: tables, chains, rules (with
// decoded expressions) and sets with their elements.
//
// A dump is several requests; the ruleset may change between them. We read the
// generation id before and after and retry when it moved (or when the kernel
// flagged a part NLM_F_DUMP_INTR), so callers always get one consistent picture.
#include <arpa/inet.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstring>
#include <vector>

#include "js.h"
#include "nft/decode.h"
#include "nft/expr/expr.h"
#include "nft/nft.h"
#include "nft/objects.h"
#include "nft/tape.h"
#include "nft/verdict.h"

namespace netcg::nft {

namespace {

constexpr int kMaxAttempts = 10;

// Sends one dump request (built by `build` into a buffer) and hands every reply
// message to `each`.
template <typename Build>
void dumpRequest(NetlinkSocket& s, uint16_t type, uint16_t family, Build build,
                 const NetlinkSocket::OnMessage& each, const char* op) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  uint32_t seq = s.nextSeq();
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), type, family, NLM_F_DUMP, seq);
  build(nlh);
  s.request(buf.data(), nlh->nlmsg_len, seq, seq, each, op);
}

void noPayload(nlmsghdr*) {}

// JS-safe number for a 64-bit handle (handles are small counters in practice).
void putU64(Tape& t, const char* k, uint64_t v) {
  t.key(k);
  t.f64(double(v));
}

const char* hookName(uint16_t family, uint32_t hook) {
  if (family == NFPROTO_NETDEV || family == NFPROTO_ARP) return nullptr;  // other numbering
  switch (hook) {
    case NF_INET_PRE_ROUTING:
      return "prerouting";
    case NF_INET_LOCAL_IN:
      return "input";
    case NF_INET_FORWARD:
      return "forward";
    case NF_INET_LOCAL_OUT:
      return "output";
    case NF_INET_POST_ROUTING:
      return "postrouting";
    case NF_INET_INGRESS:
      return "ingress";
    default:
      return nullptr;
  }
}

// libnftnl reads the nfgenmsg header of every message without checking that
// the message holds one; the kernel always sends it, a hostile peer may not.
void requireNfgenmsg(const nlmsghdr* nlh, const char* op) {
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nfgenmsg)) throw NetlinkFailure::of(EBADMSG, op);
}

const char* nulString(const nlattr* a) {
  if (a == nullptr || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0) return nullptr;
  return mnl_attr_get_str(a);
}

// Nested attributes walked by hand: libmnl's iteration macros are C-only.
template <typename Fn>
void eachNested(const nlattr* nest, Fn&& fn) {
  const auto* pos = static_cast<const nlattr*>(mnl_attr_get_payload(nest));
  int len = int(mnl_attr_get_payload_len(nest));
  while (mnl_attr_ok(pos, len)) {
    fn(pos);
    len -= int(MNL_ALIGN(pos->nla_len));
    pos = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(pos) + MNL_ALIGN(pos->nla_len));
  }
}

// A rule message's top-level attributes by type (the last of each wins, as in libmnl users).
bool ruleAttrs(const nlmsghdr* nlh, const nlattr* (&tb)[NFTA_RULE_MAX + 1]) {
  auto collect = [](const nlattr* a, void* data) -> int {
    auto** tbl = static_cast<const nlattr**>(data);
    uint16_t type = mnl_attr_get_type(a);
    if (type <= NFTA_RULE_MAX) tbl[type] = a;
    return MNL_CB_OK;
  };
  return mnl_attr_parse(nlh, sizeof(nfgenmsg), collect, tb) >= 0;
}

// The last nested attribute of `type` inside `nest`, or null: the one libnftnl
// parses when a type repeats (its tb[type] keeps the last), so the checks
// below look at what libnftnl will read (a repeated verdict was found by native/fuzz).
const nlattr* child(const nlattr* nest, uint16_t type) {
  const nlattr* found = nullptr;
  if (nest != nullptr)
    eachNested(nest, [&](const nlattr* a) {
      if (mnl_attr_get_type(a) == type) found = a;
    });
  return found;
}

// A jump/goto verdict must carry a NUL-terminated chain name. libnftnl 1.2.4
// (nftnl_parse_verdict) strdup()s NFTA_VERDICT_CHAIN without checking that it
// is there: a NULL dereference (found by native/fuzz). `data` is an NFTA_DATA_* nest.
bool verdictWellFormed(const nlattr* data) {
  const nlattr* verdict = child(data, NFTA_DATA_VERDICT);
  if (verdict == nullptr) return true;
  const nlattr* code = child(verdict, NFTA_VERDICT_CODE);
  if (code == nullptr || mnl_attr_validate(code, MNL_TYPE_U32) < 0) return true;  // libnftnl checks these
  int32_t c = int32_t(ntohl(mnl_attr_get_u32(code)));
  if (c != NFT_JUMP && c != NFT_GOTO) return true;
  return nulString(child(verdict, NFTA_VERDICT_CHAIN)) != nullptr;
}

// Every element's verdict in a NEWSETELEM message is well-formed (see above),
// and every element expression (NFTA_SET_ELEM_EXPR, one; _EXPRESSIONS, a list)
// names its kind: libnftnl 1.2.4 parses them through nftnl_expr_parse, which
// strcmp()s the name unchecked (a NULL dereference; found by native/fuzz).
bool elementsWellFormed(const nlmsghdr* nlh) {
  const nlattr* list = nullptr;
  mnl_attr_parse(
      nlh, sizeof(nfgenmsg),
      [](const nlattr* a, void* data) -> int {
        if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS) *static_cast<const nlattr**>(data) = a;
        return MNL_CB_OK;
      },
      &list);
  bool ok = true;
  if (list != nullptr)
    eachNested(list, [&](const nlattr* elem) {
      if (!verdictWellFormed(child(elem, NFTA_SET_ELEM_DATA))) ok = false;
      eachNested(elem, [&](const nlattr* a) {
        auto named = [&](const nlattr* expr) {
          if (nulString(child(expr, NFTA_EXPR_NAME)) == nullptr) ok = false;
        };
        if (mnl_attr_get_type(a) == NFTA_SET_ELEM_EXPR) named(a);
        if (mnl_attr_get_type(a) == NFTA_SET_ELEM_EXPRESSIONS) eachNested(a, named);
      });
    });
  return ok;
}

// libnftnl 1.2.4's nftnl_set_elem_parse_attr_cb bounds an element's attribute
// type by NFTA_SET_MAX (17) instead of NFTA_SET_ELEM_MAX (11) before storing it
// in nftnl_set_elems_parse2's tb[NFTA_SET_ELEM_MAX + 1]: types 12..17 write past
// that stack array (found by native/fuzz). Types it does not know are turned into
// NFTA_SET_ELEM_UNSPEC, which it ignores, in our private copy of the message, so
// an element attribute added by a newer kernel is skipped rather than fatal.
constexpr uint16_t kLibnftnlSetElemMax = 11;  // NFTA_SET_ELEM_EXPRESSIONS in libnftnl 1.2.4
static_assert(NFTA_SET_ELEM_MAX >= kLibnftnlSetElemMax, "uapi headers older than libnftnl 1.2.4");

void blankUnknownElementAttrs(nlmsghdr* nlh) {
  const nlattr* list = nullptr;
  mnl_attr_parse(
      nlh, sizeof(nfgenmsg),
      [](const nlattr* a, void* data) -> int {
        if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS) *static_cast<const nlattr**>(data) = a;
        return MNL_CB_OK;
      },
      &list);
  if (list != nullptr)
    eachNested(list, [](const nlattr* elem) {
      eachNested(elem, [](const nlattr* a) {
        if (mnl_attr_get_type(a) > kLibnftnlSetElemMax)
          const_cast<nlattr*>(a)->nla_type = NFTA_SET_ELEM_UNSPEC;
      });
    });
}

// True when every expression of a rule names its kind with a NUL-terminated
// string. libnftnl 1.2.4 (nftnl_expr_parse) passes the name to strcmp without
// checking that it is present (a NULL dereference) or terminated (an over-read);
// found by native/fuzz. Such a rule goes to the fallback decoder instead.
bool exprNamesWellFormed(const nlmsghdr* nlh) {
  const nlattr* tb[NFTA_RULE_MAX + 1] = {};
  if (!ruleAttrs(nlh, tb)) return false;
  if (tb[NFTA_RULE_EXPRESSIONS] == nullptr) return true;
  bool ok = true;
  eachNested(tb[NFTA_RULE_EXPRESSIONS], [&](const nlattr* elem) {
    const nlattr* name = nullptr;
    eachNested(elem, [&](const nlattr* inner) {
      if (mnl_attr_get_type(inner) == NFTA_EXPR_NAME) name = inner;
    });
    // An immediate's verdict also goes through libnftnl's unchecked verdict parser.
    if (nulString(name) == nullptr)
      ok = false;
    else if (std::strcmp(nulString(name), "immediate") == 0 &&
             !verdictWellFormed(child(child(elem, NFTA_EXPR_DATA), NFTA_IMMEDIATE_DATA)))
      ok = false;
  });
  return ok;
}

// The same check for a set's own expressions (NFTA_SET_EXPR, one; NFTA_SET_EXPRESSIONS,
// a list), which libnftnl parses through the same unchecked nftnl_expr_parse.
bool setExprNamesWellFormed(const nlmsghdr* nlh) {
  const nlattr* tb[NFTA_SET_MAX + 1] = {};
  if (mnl_attr_parse(
          nlh, sizeof(nfgenmsg),
          [](const nlattr* a, void* data) -> int {
            uint16_t type = mnl_attr_get_type(a);
            if (type <= NFTA_SET_MAX) static_cast<const nlattr**>(data)[type] = a;
            return MNL_CB_OK;
          },
          tb) < 0)
    return false;
  bool ok = true;
  auto check = [&](const nlattr* expr) {
    if (nulString(child(expr, NFTA_EXPR_NAME)) == nullptr) ok = false;
  };
  if (tb[NFTA_SET_EXPR] != nullptr) check(tb[NFTA_SET_EXPR]);
  if (tb[NFTA_SET_EXPRESSIONS] != nullptr) eachNested(tb[NFTA_SET_EXPRESSIONS], check);
  return ok;
}

}  // namespace

const nlmsghdr* DumpDecoder::guarded(const nlmsghdr* nlh) {
  const auto* bytes = reinterpret_cast<const char*>(nlh);
  guard_.assign(bytes, bytes + nlh->nlmsg_len);
  guard_.push_back('\0');
  return reinterpret_cast<const nlmsghdr*>(guard_.data());
}

void DumpDecoder::table(const nlmsghdr* nlh) {
  requireNfgenmsg(nlh, "nft.dump.table");
  nlh = guarded(nlh);
  auto tb = owned<TablePtr>(nftnl_table_alloc());
  if (nftnl_table_nlmsg_parse(nlh, tb.get()) < 0) throw NetlinkFailure::of(EBADMSG, "nft.dump.table");
  uint16_t family = uint16_t(nftnl_table_get_u32(tb.get(), NFTNL_TABLE_FAMILY));
  const char* name = nftnl_table_get_str(tb.get(), NFTNL_TABLE_NAME);
  const char* fam = familyName(family);
  if (name == nullptr || fam == nullptr || !filter_.wants(family, name)) return;
  t_.item();
  t_.beginObject();
  expr::put(t_, "family", fam);
  expr::put(t_, "name", name);
  putU64(t_, "handle", nftnl_table_get_u64(tb.get(), NFTNL_TABLE_HANDLE));
  expr::put(t_, "flags", nftnl_table_get_u32(tb.get(), NFTNL_TABLE_FLAGS));
  if (nftnl_table_is_set(tb.get(), NFTNL_TABLE_USE))
    expr::put(t_, "use", nftnl_table_get_u32(tb.get(), NFTNL_TABLE_USE));
  t_.end();
  tableCount_++;
}

void DumpDecoder::chain(const nlmsghdr* nlh) {
  requireNfgenmsg(nlh, "nft.dump.chain");
  nlh = guarded(nlh);
  auto c = owned<ChainPtr>(nftnl_chain_alloc());
  if (nftnl_chain_nlmsg_parse(nlh, c.get()) < 0) throw NetlinkFailure::of(EBADMSG, "nft.dump.chain");
  uint16_t family = uint16_t(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_FAMILY));
  const char* table = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE);
  const char* name = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME);
  const char* fam = familyName(family);
  // A chain without its table cannot be described (and a null name would crash the tape; found by
  // native/fuzz).
  if (name == nullptr || table == nullptr || fam == nullptr || !filter_.wants(family, table)) return;
  t_.item();
  t_.beginObject();
  expr::put(t_, "family", fam);
  expr::put(t_, "table", table);
  expr::put(t_, "name", name);
  putU64(t_, "handle", nftnl_chain_get_u64(c.get(), NFTNL_CHAIN_HANDLE));
  if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM)) {
    const char* hook = hookName(family, nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM));
    const char* type = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TYPE);
    if (hook != nullptr && type != nullptr) {
      t_.key("hook");
      t_.beginObject();
      expr::put(t_, "type", type);
      expr::put(t_, "hook", hook);
      t_.key("priority");
      t_.i32(nftnl_chain_get_s32(c.get(), NFTNL_CHAIN_PRIO));
      if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_POLICY)) {
        uint32_t policy = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY);
        expr::put(t_, "policy", policy == NF_ACCEPT ? "accept" : "drop");
      }
      t_.end();
    }
  }
  t_.end();
}

void DumpDecoder::rule(const nlmsghdr* nlh) {
  requireNfgenmsg(nlh, "nft.dump.rule");
  nlh = guarded(nlh);
  auto r = owned<RulePtr>(nftnl_rule_alloc());
  if (!exprNamesWellFormed(nlh) || nftnl_rule_nlmsg_parse(nlh, r.get()) < 0) {
    // libnftnl refuses rules holding an expression kind it does not know.
    ruleWithUnknownExprs(nlh);
    return;
  }
  uint16_t family = uint16_t(nftnl_rule_get_u32(r.get(), NFTNL_RULE_FAMILY));
  const char* table = nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE);
  const char* chain = nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN);
  const char* fam = familyName(family);
  if (fam == nullptr || table == nullptr || chain == nullptr || !filter_.wants(family, table)) return;
  t_.item();
  t_.beginObject();
  expr::put(t_, "family", fam);
  expr::put(t_, "table", table);
  expr::put(t_, "chain", chain);
  putU64(t_, "handle", nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE));
  if (nftnl_rule_is_set(r.get(), NFTNL_RULE_POSITION))
    putU64(t_, "position", nftnl_rule_get_u64(r.get(), NFTNL_RULE_POSITION));
  t_.key("exprs");
  t_.beginArray();
  auto it = owned<ExprIterPtr>(nftnl_expr_iter_create(r.get()));
  for (nftnl_expr* e = nftnl_expr_iter_next(it.get()); e != nullptr; e = nftnl_expr_iter_next(it.get())) {
    t_.item();
    expr::decode(e, t_);
  }
  t_.end();
  if (nftnl_rule_is_set(r.get(), NFTNL_RULE_USERDATA)) {
    uint32_t len = 0;
    const void* ud = nftnl_rule_get_data(r.get(), NFTNL_RULE_USERDATA, &len);
    if (ud != nullptr) {
      t_.key("userdata");
      t_.bytes(ud, len);
    }
  }
  t_.end();
}

// Fallback for a rule libnftnl cannot parse: read the identifying attributes
// and the expression names ourselves; every expression becomes unknown.
void DumpDecoder::ruleWithUnknownExprs(const nlmsghdr* nlh) {
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nfgenmsg)) return;
  const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
  const nlattr* tb[NFTA_RULE_MAX + 1] = {};
  if (!ruleAttrs(nlh, tb)) return;
  auto str = nulString;
  const char* table = str(tb[NFTA_RULE_TABLE]);
  const char* chain = str(tb[NFTA_RULE_CHAIN]);
  const char* fam = familyName(nfg->nfgen_family);
  if (table == nullptr || chain == nullptr || fam == nullptr || !filter_.wants(nfg->nfgen_family, table))
    return;
  t_.item();
  t_.beginObject();
  expr::put(t_, "family", fam);
  expr::put(t_, "table", table);
  expr::put(t_, "chain", chain);
  uint64_t handle = 0;
  if (tb[NFTA_RULE_HANDLE] != nullptr && mnl_attr_validate(tb[NFTA_RULE_HANDLE], MNL_TYPE_U64) == 0)
    handle = be64toh(mnl_attr_get_u64(tb[NFTA_RULE_HANDLE]));
  putU64(t_, "handle", handle);
  t_.key("exprs");
  t_.beginArray();
  if (tb[NFTA_RULE_EXPRESSIONS] != nullptr) {
    eachNested(tb[NFTA_RULE_EXPRESSIONS], [&](const nlattr* elem) {
      const char* name = nullptr;
      eachNested(elem, [&](const nlattr* inner) {
        if (mnl_attr_get_type(inner) == NFTA_EXPR_NAME) name = str(inner);
      });
      t_.item();
      t_.beginObject();
      expr::put(t_, "type", name != nullptr ? name : "?");
      expr::put(t_, "unknown", true);
      t_.end();
    });
  }
  t_.end();
  t_.end();
}

SetPtr DumpDecoder::set(const nlmsghdr* nlh) {
  requireNfgenmsg(nlh, "nft.dump.set");
  nlh = guarded(nlh);
  if (!setExprNamesWellFormed(nlh)) throw NetlinkFailure::of(EBADMSG, "nft.dump.set");
  auto set = owned<SetPtr>(nftnl_set_alloc());
  if (nftnl_set_nlmsg_parse(nlh, set.get()) < 0) throw NetlinkFailure::of(EBADMSG, "nft.dump.set");
  uint16_t family = uint16_t(nftnl_set_get_u32(set.get(), NFTNL_SET_FAMILY));
  const char* table = nftnl_set_get_str(set.get(), NFTNL_SET_TABLE);
  // Without its table a set cannot be described or its elements asked for (found by native/fuzz).
  if (familyName(family) == nullptr || table == nullptr ||
      nftnl_set_get_str(set.get(), NFTNL_SET_NAME) == nullptr || !filter_.wants(family, table))
    return nullptr;
  return set;
}

void DumpDecoder::beginSet(nftnl_set* set) {
  uint16_t family = uint16_t(nftnl_set_get_u32(set, NFTNL_SET_FAMILY));
  const char* table = nftnl_set_get_str(set, NFTNL_SET_TABLE);
  const char* name = nftnl_set_get_str(set, NFTNL_SET_NAME);
  t_.beginObject();
  expr::put(t_, "family", familyName(family));
  expr::put(t_, "table", table);
  expr::put(t_, "name", name);
  putU64(t_, "handle", nftnl_set_get_u64(set, NFTNL_SET_HANDLE));
  expr::put(t_, "flags", nftnl_set_get_u32(set, NFTNL_SET_FLAGS));
  expr::put(t_, "keyType", nftnl_set_get_u32(set, NFTNL_SET_KEY_TYPE));
  expr::put(t_, "keyLen", nftnl_set_get_u32(set, NFTNL_SET_KEY_LEN));
  if (nftnl_set_is_set(set, NFTNL_SET_DATA_TYPE))
    expr::put(t_, "dataType", nftnl_set_get_u32(set, NFTNL_SET_DATA_TYPE));
  if (nftnl_set_is_set(set, NFTNL_SET_DATA_LEN))
    expr::put(t_, "dataLen", nftnl_set_get_u32(set, NFTNL_SET_DATA_LEN));
  if (nftnl_set_is_set(set, NFTNL_SET_USERDATA)) {
    uint32_t len = 0;
    const void* ud = nftnl_set_get_data(set, NFTNL_SET_USERDATA, &len);
    if (ud != nullptr) {
      t_.key("userdata");
      t_.bytes(ud, len);
    }
  }
  t_.key("elements");
}

void DumpDecoder::elements(const nlmsghdr* nlh) {
  requireNfgenmsg(nlh, "nft.dump.elements");
  nlh = guarded(nlh);
  blankUnknownElementAttrs(reinterpret_cast<nlmsghdr*>(guard_.data()));
  if (!elementsWellFormed(nlh)) throw NetlinkFailure::of(EBADMSG, "nft.dump.elements");
  auto holder = owned<SetPtr>(nftnl_set_alloc());
  if (nftnl_set_elems_nlmsg_parse(nlh, holder.get()) < 0)
    throw NetlinkFailure::of(EBADMSG, "nft.dump.elements");
  auto it = owned<SetElemsIterPtr>(nftnl_set_elems_iter_create(holder.get()));
  for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it.get()); e != nullptr;
       e = nftnl_set_elems_iter_next(it.get())) {
    t_.item();
    elementObject(e);
  }
}

void DumpDecoder::elementObject(nftnl_set_elem* e) {
  t_.beginObject();
  uint32_t len = 0;
  const void* key = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY)
                        ? nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len)
                        : nullptr;
  t_.key("key");
  t_.bytes(key != nullptr ? key : "", key != nullptr ? len : 0);
  if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT)) {
    int32_t code = int32_t(nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT));
    const char* chain = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN)
                            ? nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN)
                            : nullptr;
    expr::putVerdict(t_, "verdict", code, chain);
  } else if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA)) {
    const void* data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len);
    if (data != nullptr) {
      t_.key("data");
      t_.bytes(data, len);
    }
  }
  t_.end();
}

namespace {

// Drives the requests of one dump; every reply message goes to DumpDecoder.
struct Dumper {
  NetlinkSocket& s;
  DumpDecoder d;
  Tape& t;
  uint16_t requestFamily() const { return d.filter().family.value_or(NFPROTO_UNSPEC); }

  // Each wanted object of `type`'s reply becomes one array item.
  template <typename Build, typename Each>
  void array(uint16_t type, uint16_t family, Build build, Each each, const char* op) {
    t.beginArray();
    dumpRequest(
        s, type, family, build, [&](const nlmsghdr* nlh) { each(nlh); }, op);
    t.end();
  }

  void tables() {
    array(
        NFT_MSG_GETTABLE, requestFamily(), noPayload, [&](const nlmsghdr* nlh) { d.table(nlh); },
        "nft.dump.tables");
  }

  void chains() {
    array(
        NFT_MSG_GETCHAIN, requestFamily(), noPayload, [&](const nlmsghdr* nlh) { d.chain(nlh); },
        "nft.dump.chains");
  }

  void rules() {
    auto build = [&](nlmsghdr* nlh) {
      if (!d.filter().table) return;
      auto r = owned<RulePtr>(nftnl_rule_alloc());
      nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, d.filter().table->c_str());
      nftnl_rule_nlmsg_build_payload(nlh, r.get());
    };
    array(
        NFT_MSG_GETRULE, requestFamily(), build, [&](const nlmsghdr* nlh) { d.rule(nlh); }, "nft.dump.rules");
  }

  void sets() {
    std::vector<SetPtr> found;
    dumpRequest(
        s, NFT_MSG_GETSET, requestFamily(), noPayload,
        [&](const nlmsghdr* nlh) {
          if (SetPtr set = d.set(nlh)) found.push_back(std::move(set));
        },
        "nft.dump.sets");
    t.beginArray();
    for (auto& set : found) {
      t.item();
      d.beginSet(set.get());
      elements(uint16_t(nftnl_set_get_u32(set.get(), NFTNL_SET_FAMILY)),
               nftnl_set_get_str(set.get(), NFTNL_SET_TABLE), nftnl_set_get_str(set.get(), NFTNL_SET_NAME));
      t.end();
    }
    t.end();
  }

  void elements(uint16_t family, const char* table, const char* name) {
    auto build = [&](nlmsghdr* nlh) {
      auto ref = owned<SetPtr>(nftnl_set_alloc());
      nftnl_set_set_str(ref.get(), NFTNL_SET_TABLE, table);
      nftnl_set_set_str(ref.get(), NFTNL_SET_NAME, name);
      nftnl_set_elems_nlmsg_build_payload(nlh, ref.get());
    };
    array(
        NFT_MSG_GETSETELEM, family, build, [&](const nlmsghdr* nlh) { d.elements(nlh); },
        "nft.dump.elements");
  }
};

// The tape as napi values: nftDump's default result, same shapes as always.
// Keys and repeated strings are created once per dump, not once per property.
class TapeToJs {
 public:
  TapeToJs(Napi::Env env, const Tape& t) : env_(env), t_(t), data_(t.data().data()), size_(t.data().size()) {
    for (const auto& s : t.strings()) strings_.push_back(Napi::String::New(env, s));
  }
  Napi::Value value() {
    switch (Tag(take<uint8_t>())) {
      case Tag::Obj: {
        uint32_t n = take<uint32_t>();
        Napi::Object o = Napi::Object::New(env_);
        for (uint32_t i = 0; i < n; i++) {
          napi_value k = string(take<uint32_t>());
          o.Set(k, value());
        }
        return o;
      }
      case Tag::Arr: {
        uint32_t n = take<uint32_t>();
        Napi::Array a = Napi::Array::New(env_, n);
        for (uint32_t i = 0; i < n; i++) a.Set(i, value());
        return a;
      }
      case Tag::Str:
        return Napi::Value(env_, string(take<uint32_t>()));
      case Tag::U32:
        return Napi::Number::New(env_, take<uint32_t>());
      case Tag::I32:
        return Napi::Number::New(env_, take<int32_t>());
      case Tag::F64:
        return Napi::Number::New(env_, take<double>());
      case Tag::Bytes: {
        uint32_t n = take<uint32_t>();
        need(n);
        Napi::Value b = toBuffer(env_, data_ + at_, n);
        at_ += n;
        return b;
      }
      case Tag::True:
        return Napi::Boolean::New(env_, true);
      case Tag::False:
        return Napi::Boolean::New(env_, false);
    }
    throw NetlinkFailure::of(EBADMSG, "nft.dump (bad tape)");
  }

 private:
  void need(size_t n) const {
    if (size_ - at_ < n) throw NetlinkFailure::of(EBADMSG, "nft.dump (short tape)");
  }
  template <typename T>
  T take() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, data_ + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  napi_value string(uint32_t i) {
    if (i >= strings_.size()) throw NetlinkFailure::of(EBADMSG, "nft.dump (bad string index)");
    return strings_[i];
  }
  Napi::Env env_;
  const Tape& t_;
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
  std::vector<Napi::String> strings_;
};

}  // namespace

Napi::Object dump(Napi::Env env, NetlinkSocket& s, std::optional<uint16_t> family,
                  std::optional<std::string> table, bool asTape) {
  for (int attempt = 0; attempt < kMaxAttempts; attempt++) {
    uint32_t before = genid(s);
    Tape t;
    Dumper d{s, DumpDecoder(DumpFilter{family, table}, t), t};
    try {
      t.beginObject();
      t.key("tables");
      d.tables();
      // A filtered table that does not exist: nothing else can match.
      bool empty = table.has_value() && d.d.tableCount() == 0;
      for (const char* part : {"chains", "rules", "sets"}) {
        t.key(part);
        if (empty) {
          t.beginArray();
          t.end();
        } else if (part[0] == 'c') {
          d.chains();
        } else if (part[0] == 'r') {
          d.rules();
        } else {
          d.sets();
        }
      }
      t.end();
    } catch (const NetlinkFailure& f) {
      // Interrupted, or a set vanished between listing and reading its elements.
      if (f.dumpInterrupted || f.errnum == ENOENT) continue;
      throw;
    }
    if (genid(s) != before) continue;
    Napi::Object out;
    if (asTape) {
      out = Napi::Object::New(env);
      out.Set("tape", toBuffer(env, t.data().data(), t.data().size()));
      Napi::Array strings = Napi::Array::New(env, t.strings().size());
      uint32_t i = 0;
      for (const auto& str : t.strings()) strings.Set(i++, Napi::String::New(env, str));
      out.Set("strings", strings);
    } else {
      out = TapeToJs(env, t).value().As<Napi::Object>();
    }
    out.Set("genid", before);
    return out;
  }
  NetlinkFailure f = NetlinkFailure::of(EAGAIN, "nft.dump (the ruleset kept changing)");
  f.dumpInterrupted = true;
  f.detail = "still inconsistent after " + std::to_string(kMaxAttempts) + " attempts";
  throw f;
}

}  // namespace netcg::nft
