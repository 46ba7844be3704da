// Owning pointers for libnftnl objects, so every early exit (an InputError in
// the middle of an op, a failure mid-dump) frees what was allocated.
#pragma once

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include <cerrno>
#include <memory>

#include "netlink/socket.h"

namespace netcg::nft {

template <typename T, void (*Free)(const T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};

using TablePtr = std::unique_ptr<nftnl_table, Deleter<nftnl_table, nftnl_table_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, Deleter<nftnl_chain, nftnl_chain_free>>;
using RulePtr = std::unique_ptr<nftnl_rule, Deleter<nftnl_rule, nftnl_rule_free>>;
using SetPtr = std::unique_ptr<nftnl_set, Deleter<nftnl_set, nftnl_set_free>>;
using ExprPtr = std::unique_ptr<nftnl_expr, Deleter<nftnl_expr, nftnl_expr_free>>;
using GenPtr = std::unique_ptr<nftnl_gen, Deleter<nftnl_gen, nftnl_gen_free>>;

// Iterators are destroyed through non-const pointers.
template <typename T, void (*Destroy)(T*)>
struct IterDeleter {
  void operator()(T* p) const { Destroy(p); }
};
using ExprIterPtr = std::unique_ptr<nftnl_expr_iter, IterDeleter<nftnl_expr_iter, nftnl_expr_iter_destroy>>;
using SetElemsIterPtr =
    std::unique_ptr<nftnl_set_elems_iter, IterDeleter<nftnl_set_elems_iter, nftnl_set_elems_iter_destroy>>;

// Allocation failure is reported like any other failure, not as a crash.
template <typename Ptr, typename Raw>
Ptr owned(Raw* raw) {
  if (raw == nullptr) throw NetlinkFailure::of(ENOMEM, "nft.alloc");
  return Ptr(raw);
}

}  // namespace netcg::nft
