// One nf_tables transaction: every op of a commit() goes into one batch
// (BATCH_BEGIN .. BATCH_END), so the kernel applies all of it or none of it.
// The kernel reports every failed message by its sequence number, which we map
// back to the index of the op that produced it (see sendAndCheck for acks).
#include <arpa/inet.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <map>
#include <tuple>
#include <vector>

#include "js.h"
#include "nft/batch_reply.h"
#include "nft/expr/expr.h"
#include "nft/nft.h"
#include "nft/objects.h"
#include "nft/optape.h"
#include "nft/verdict.h"

namespace netcg::nft {

namespace {

// The DESTROY* messages (kernel 6.3+: delete, but no ENOENT when absent) are
// newer than the installed uapi headers.
constexpr uint16_t kMsgDestroyTable = 26, kMsgDestroyChain = 27, kMsgDestroyRule = 28, kMsgDestroySet = 29,
                   kMsgDestroySetElem = 30;

// Room for one message: bounded because rules are limited to kMaxExprs
// expressions of at most ~200 bytes each, and element lists are chunked.
constexpr size_t kMsgRoom = 512 * 1024;
constexpr uint32_t kMaxExprs = 1024;
// Element lists are a nested attribute with a 16-bit length: keep each chunk small.
constexpr size_t kElementChunkBytes = 32 * 1024;

// A growing buffer of consecutive netlink messages.
class Batch {
 public:
  // Space for one more message; valid until the next call.
  char* room() {
    if (buf_.size() < used_ + kMsgRoom) buf_.resize(std::max(buf_.size() * 2, used_ + kMsgRoom));
    return buf_.data() + used_;
  }
  // Accepts the message just built in room(), on behalf of op `opIndex`.
  void push(nlmsghdr* nlh, int64_t opIndex) {
    if (nlh->nlmsg_len > kMsgRoom) std::abort();  // would already have overrun: a bug, not input
    offsets_.push_back(used_);
    used_ += NLMSG_ALIGN(nlh->nlmsg_len);
    opOfMessage_.push_back(opIndex);
  }
  nlmsghdr* message(size_t m) { return reinterpret_cast<nlmsghdr*>(buf_.data() + offsets_[m]); }
  const char* data() const { return buf_.data(); }
  size_t size() const { return used_; }
  size_t messages() const { return opOfMessage_.size(); }
  int64_t opOf(size_t message) const { return message < opOfMessage_.size() ? opOfMessage_[message] : -1; }

 private:
  std::vector<char> buf_;
  size_t used_ = 0;
  std::vector<int64_t> opOfMessage_;
  std::vector<size_t> offsets_;
};

enum class Verb { Add, Create, Delete, Destroy, Flush };

Verb verbOf(const std::string& v, const std::string& path) {
  if (v == "add") return Verb::Add;
  if (v == "create") return Verb::Create;
  if (v == "delete") return Verb::Delete;
  if (v == "destroy") return Verb::Destroy;
  if (v == "flush") return Verb::Flush;
  throw InputError{path, "unknown verb '" + v + "'"};
}

uint16_t createFlags(Verb v) { return v == Verb::Create ? NLM_F_CREATE | NLM_F_EXCL : NLM_F_CREATE; }

void checkName(const std::string& name, const std::string& path) {
  if (name.empty() || name.size() > 255) throw InputError{path, "must be 1..255 bytes"};
}

uint32_t hookNumber(const std::string& h, const std::string& path) {
  if (h == "prerouting") return NF_INET_PRE_ROUTING;
  if (h == "input") return NF_INET_LOCAL_IN;
  if (h == "forward") return NF_INET_FORWARD;
  if (h == "output") return NF_INET_LOCAL_OUT;
  if (h == "postrouting") return NF_INET_POST_ROUTING;
  throw InputError{path, "unknown hook '" + h + "'"};
}

// Sets created earlier in this batch, so later messages can name them by ID
// as well (the kernel resolves a set that exists only in this transaction).
using SetKey = std::tuple<uint16_t, std::string, std::string>;  // family, table, set

class Encoder {
 public:
  explicit Encoder(Batch& b) : batch_(b) {}

  void op(const Fields& o, int64_t index) {
    const std::string path = "ops[" + std::to_string(index) + "]";
    Verb verb = verbOf(getString(o, "verb", path), path + ".verb");
    std::string object = getString(o, "object", path);
    uint16_t family = familyFromName(getString(o, "family", path), path + ".family");
    index_ = index;
    if (object == "table") return table(o, verb, family, path);
    if (object == "chain") return chain(o, verb, family, path);
    if (object == "rule") return rule(o, verb, family, path);
    if (object == "set") return set(o, verb, family, path);
    if (object == "element") return elements(o, verb, family, path);
    throw InputError{path + ".object", "unknown object '" + object + "'"};
  }

 private:
  nlmsghdr* header(uint16_t type, uint16_t family, uint16_t flags) {
    return nftnl_nlmsg_build_hdr(batch_.room(), type, family, flags, 0);
  }

  void table(const Fields& o, Verb verb, uint16_t family, const std::string& path) {
    auto t = owned<TablePtr>(nftnl_table_alloc());
    std::string name = getString(o, "name", path);
    checkName(name, path + ".name");
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name.c_str());
    nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, family);
    nlmsghdr* nlh;
    switch (verb) {
      case Verb::Add:
      case Verb::Create:
        if (auto flags = getOptU32(o, "flags", path)) nftnl_table_set_u32(t.get(), NFTNL_TABLE_FLAGS, *flags);
        nlh = header(NFT_MSG_NEWTABLE, family, createFlags(verb));
        break;
      case Verb::Delete:
        nlh = header(NFT_MSG_DELTABLE, family, 0);
        break;
      case Verb::Destroy:
        nlh = header(kMsgDestroyTable, family, 0);
        break;
      default:
        throw InputError{path + ".verb", "a table cannot be flushed here"};
    }
    nftnl_table_nlmsg_build_payload(nlh, t.get());
    batch_.push(nlh, index_);
  }

  void chain(const Fields& o, Verb verb, uint16_t family, const std::string& path) {
    std::string table = getString(o, "table", path);
    std::string name = getString(o, "name", path);
    checkName(table, path + ".table");
    checkName(name, path + ".name");
    if (verb == Verb::Flush) {  // flushing a chain = deleting all its rules
      auto r = owned<RulePtr>(nftnl_rule_alloc());
      nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
      nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, name.c_str());
      nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, family);
      nlmsghdr* nlh = header(NFT_MSG_DELRULE, family, 0);
      nftnl_rule_nlmsg_build_payload(nlh, r.get());
      batch_.push(nlh, index_);
      return;
    }
    auto c = owned<ChainPtr>(nftnl_chain_alloc());
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table.c_str());
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name.c_str());
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, family);
    nlmsghdr* nlh;
    if (verb == Verb::Add || verb == Verb::Create) {
      if (auto hook = getOptObject(o, "hook", path)) {
        const std::string hp = path + ".hook";
        std::string type = getString(*hook, "type", hp);
        if (type != "filter" && type != "nat" && type != "route")
          throw InputError{hp + ".type", "unknown chain type '" + type + "'"};
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, type.c_str());
        nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM,
                            hookNumber(getString(*hook, "hook", hp), hp + ".hook"));
        nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, getI32(*hook, "priority", hp));
        if (auto policy = getOptString(*hook, "policy", hp)) {
          if (*policy != "accept" && *policy != "drop")
            throw InputError{hp + ".policy", "must be accept or drop"};
          nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, *policy == "accept" ? NF_ACCEPT : NF_DROP);
        }
      }
      nlh = header(NFT_MSG_NEWCHAIN, family, createFlags(verb));
    } else {
      nlh = header(verb == Verb::Delete ? uint16_t(NFT_MSG_DELCHAIN) : kMsgDestroyChain, family, 0);
    }
    nftnl_chain_nlmsg_build_payload(nlh, c.get());
    batch_.push(nlh, index_);
  }

  void rule(const Fields& o, Verb verb, uint16_t family, const std::string& path) {
    std::string table = getString(o, "table", path);
    std::string chain = getString(o, "chain", path);
    checkName(table, path + ".table");
    checkName(chain, path + ".chain");
    auto r = owned<RulePtr>(nftnl_rule_alloc());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
    nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, family);
    nlmsghdr* nlh;
    if (verb == Verb::Add) {
      if (has(o, "handle")) throw InputError{path + ".handle", "only delete/destroy take a handle"};
      Items exprs = getArray(o, "exprs", path);
      if (exprs.Length() > kMaxExprs) throw InputError{path + ".exprs", "too many expressions"};
      for (uint32_t j = 0; j < exprs.Length(); j++) {
        const std::string ep = path + ".exprs[" + std::to_string(j) + "]";
        std::optional<Fields> eo = exprs.object(j);
        if (!eo) throw InputError{ep, "expected an object"};
        ExprPtr e = expr::encode(*eo, ep);
        if (getString(*eo, "type", ep) == "lookup") {
          auto id = sets_.find({family, table, getString(*eo, "set", ep)});
          if (id != sets_.end()) nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_SET_ID, id->second);
        }
        nftnl_rule_add_expr(r.get(), e.release());  // the rule owns it now
      }
      if (auto ud = getOptBytes(o, "userdata", path)) {
        if (ud->size() > NFT_USERDATA_MAXLEN) throw InputError{path + ".userdata", "too long"};
        nftnl_rule_set_data(r.get(), NFTNL_RULE_USERDATA, ud->data(), uint32_t(ud->size()));
      }
      nlh = header(NFT_MSG_NEWRULE, family, NLM_F_CREATE | NLM_F_APPEND);
    } else if (verb == Verb::Delete || verb == Verb::Destroy) {
      nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, getU64(o, "handle", path));
      nlh = header(verb == Verb::Delete ? uint16_t(NFT_MSG_DELRULE) : kMsgDestroyRule, family, 0);
    } else {
      throw InputError{path + ".verb", "rules can be added, deleted or destroyed"};
    }
    nftnl_rule_nlmsg_build_payload(nlh, r.get());
    if (nlh->nlmsg_len > 65535) throw InputError{path, "rule too large for one netlink attribute"};
    batch_.push(nlh, index_);
  }

  // A set object naming (table, set), with the batch-local ID when the set is
  // created in this batch.
  SetPtr setRef(uint16_t family, const std::string& table, const std::string& name) {
    auto s = owned<SetPtr>(nftnl_set_alloc());
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
    nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, family);
    auto id = sets_.find({family, table, name});
    if (id != sets_.end()) nftnl_set_set_u32(s.get(), NFTNL_SET_ID, id->second);
    return s;
  }

  void set(const Fields& o, Verb verb, uint16_t family, const std::string& path) {
    std::string table = getString(o, "table", path);
    std::string name = getString(o, "name", path);
    checkName(table, path + ".table");
    checkName(name, path + ".name");
    if (verb == Verb::Add || verb == Verb::Create) sets_[{family, table, name}] = nextSetId_++;
    SetPtr s = setRef(family, table, name);
    nlmsghdr* nlh = nullptr;
    switch (verb) {
      case Verb::Add:
      case Verb::Create: {
        if (auto v = getOptU32(o, "flags", path)) nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, *v);
        if (auto v = getOptU32(o, "keyType", path)) nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, *v);
        if (auto v = getOptU32(o, "keyLen", path)) nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, *v);
        if (auto v = getOptU32(o, "dataType", path)) nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_TYPE, *v);
        if (auto v = getOptU32(o, "dataLen", path)) nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_LEN, *v);
        if (auto ud = getOptBytes(o, "userdata", path)) {
          if (ud->size() > NFT_USERDATA_MAXLEN) throw InputError{path + ".userdata", "too long"};
          nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, ud->data(), uint32_t(ud->size()));
        }
        nlh = header(NFT_MSG_NEWSET, family, createFlags(verb));
        nftnl_set_nlmsg_build_payload(nlh, s.get());
        break;
      }
      case Verb::Delete:
      case Verb::Destroy:
        nlh = header(verb == Verb::Delete ? uint16_t(NFT_MSG_DELSET) : kMsgDestroySet, family, 0);
        nftnl_set_nlmsg_build_payload(nlh, s.get());
        break;
      case Verb::Flush:  // deleting elements without naming any = all of them
        nlh = header(NFT_MSG_DELSETELEM, family, 0);
        nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
        break;
    }
    batch_.push(nlh, index_);
  }

  void elements(const Fields& o, Verb verb, uint16_t family, const std::string& path) {
    std::string table = getString(o, "table", path);
    std::string name = getString(o, "set", path);
    checkName(table, path + ".table");
    checkName(name, path + ".set");
    Items list = getArray(o, "elements", path);
    if (list.Length() == 0) throw InputError{path + ".elements", "needs at least one element"};
    uint16_t type, flags = 0;
    switch (verb) {
      case Verb::Add:
      case Verb::Create:
        type = NFT_MSG_NEWSETELEM;
        flags = createFlags(verb);
        break;
      case Verb::Delete:
        type = NFT_MSG_DELSETELEM;
        break;
      case Verb::Destroy:
        type = kMsgDestroySetElem;
        break;
      default:
        throw InputError{path + ".verb", "flush the set instead"};
    }
    // Chunks of elements, each its own message, all reported as this op.
    uint32_t j = 0;
    while (j < list.Length()) {
      SetPtr s = setRef(family, table, name);
      size_t bytes = 0;
      for (; j < list.Length() && bytes < kElementChunkBytes; j++) {
        const std::string ep = path + ".elements[" + std::to_string(j) + "]";
        std::optional<Fields> v = list.object(j);
        if (!v) throw InputError{ep, "expected an object"};
        bytes += element(s.get(), *v, ep);
      }
      nlmsghdr* nlh = header(type, family, flags);
      nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
      batch_.push(nlh, index_);
    }
  }

  // Adds one element to `s`; returns a generous estimate of its encoded size.
  size_t element(nftnl_set* s, const Fields& o, const std::string& path) {
    nftnl_set_elem* e = nftnl_set_elem_alloc();
    if (e == nullptr) throw NetlinkFailure::of(ENOMEM, "nft.alloc");
    nftnl_set_elem_add(s, e);  // the set owns it from here, even if we throw below
    auto key = getBytes(o, "key", path);
    if (key.empty() || key.size() > NFT_DATA_VALUE_MAXLEN)
      throw InputError{path + ".key", "must be 1..64 bytes"};
    nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key.data(), uint32_t(key.size()));
    size_t size = 64 + key.size();
    auto data = getOptBytes(o, "data", path);
    auto verdict = getOptObject(o, "verdict", path);
    if (data && verdict) throw InputError{path, "has both data and verdict"};
    if (data) {
      if (data->empty() || data->size() > NFT_DATA_VALUE_MAXLEN)
        throw InputError{path + ".data", "must be 1..64 bytes"};
      nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, data->data(), uint32_t(data->size()));
      size += data->size();
    }
    if (verdict) {
      VerdictValue v = verdictFromJs(*verdict, path + ".verdict");
      nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, uint32_t(v.code));
      if (!v.chain.empty()) nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, v.chain.c_str());
      size += v.chain.size();
    }
    return size;
  }

  Batch& batch_;
  int64_t index_ = 0;
  std::map<SetKey, uint32_t> sets_;
  uint32_t nextSetId_ = 1;
};

// Sends the batch and collects the kernel's verdict on it.
//
// Why not NetlinkSocket::request (an ack per message): at 10,000 profiles a
// batch is ~70,000 messages, and an ack for each is ~70,000 kernel allocations
// and ~140,000 recv calls — a large part of the commit. nfnetlink processes a
// batch synchronously inside sendmsg and always reports a failed message (with
// its seq), acked or not; so, like nft(8), we ask for an ack only on the last
// op message (the positive confirmation) and, once sendmsg has returned, read
// what is queued without blocking. Refusals of the whole batch (a stale genid:
// ERESTART, a failed commit) come on BEGIN's seq.
void sendAndCheck(NetlinkSocket& s, const Batch& batch, uint32_t beginSeq) {
  const std::string op = "nft.commit";
  const size_t count = batch.messages();
  const uint32_t endSeq = beginSeq + uint32_t(count - 1);
  const uint32_t confirmSeq = endSeq - 1;  // the last op message, sent with NLM_F_ACK
  // Room for an error ack per message, ~1 KiB each (as nft(8) sizes it), so a
  // failing batch reports its first error rather than ENOBUFS.
  s.send(batch.data(), batch.size(), std::max<size_t>(count * 1024, 256 * 1024), op);
  BatchReplyReader reader(
      s.portId(), beginSeq, endSeq, confirmSeq, [&](size_t m) { return batch.opOf(m); }, op);
  s.receive(reader, op);
  reader.finish();
}

void commitOps(NetlinkSocket& s, const Items& ops, std::optional<uint32_t> genid) {
  if (ops.Length() == 0) return;  // an empty transaction changes nothing
  Batch batch;

  // BEGIN (seq b), ops' messages (b+1 .. b+n), END (b+n+1).
  nlmsghdr* begin = nftnl_batch_begin(batch.room(), 0);
  if (genid) mnl_attr_put_u32(begin, NFNL_BATCH_GENID, htonl(*genid));
  batch.push(begin, -1);

  Encoder enc(batch);
  for (uint32_t i = 0; i < ops.Length(); i++) {
    std::optional<Fields> op = ops.object(i);
    if (!op) throw InputError{"ops[" + std::to_string(i) + "]", "expected an object"};
    enc.op(*op, i);
  }
  batch.push(nftnl_batch_end(batch.room(), 0), -1);

  // Number the messages only now, so an InputError above consumed no sequence numbers.
  const size_t count = batch.messages();
  // Sequence numbers must be contiguous; nextSeq() skips 0 when it wraps, so
  // start past any wrap point.
  uint32_t beginSeq = s.nextSeq();
  while (beginSeq > UINT32_MAX - count) beginSeq = s.nextSeq();
  for (size_t m = 0; m < count; m++) {
    batch.message(m)->nlmsg_seq = m == 0 ? beginSeq : s.nextSeq();
  }
  batch.message(count - 2)->nlmsg_flags |= NLM_F_ACK;  // the last op message: see sendAndCheck
  sendAndCheck(s, batch, beginSeq);
}

}  // namespace

void commit(NetlinkSocket& s, const Napi::Array& ops, std::optional<uint32_t> genid) {
  commitOps(s, Items(ops), genid);
}

void commitTape(NetlinkSocket& s, const Napi::Object& encoded, std::optional<uint32_t> genid) {
  Napi::Value buf = encoded.Get("tape");
  if (!buf.IsTypedArray() || buf.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw InputError{"ops.tape", "expected a Buffer or Uint8Array"};
  Napi::Array list = netcg::getArray(encoded, "strings", "ops");
  std::vector<std::string> strings;
  strings.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsString()) throw InputError{"ops.strings[" + std::to_string(i) + "]", "expected a string"};
    strings.push_back(v.As<Napi::String>().Utf8Value());
  }
  auto bytes = buf.As<Napi::Uint8Array>();
  // Read in place: nothing below calls into JS, so the buffer cannot move or change.
  OpTape tape(bytes.Data(), bytes.ElementLength(), std::move(strings));
  commitOps(s, Items(tape, 0), genid);
}

}  // namespace netcg::nft
