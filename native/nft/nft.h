// nf_tables translator: a list of JS ops -> one transaction; the kernel's state
// -> plain JS objects. Stateless and policy-free (see src/native/types.ts).
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>

#include "netlink/socket.h"

namespace netcg::nft {

// Sends every op in ONE batch (NLM_F_ACK on each). With `genid`, the kernel
// refuses the batch with ERESTART if the ruleset generation has moved.
// Throws InputError (before anything is sent) or NetlinkFailure whose
// failedIndex is the index of the failing op.
void commit(NetlinkSocket& s, const Napi::Array& ops, std::optional<uint32_t> genid);
// The same, for ops encoded by src/native/optape.ts: { tape: Buffer, strings: string[] }.
void commitTape(NetlinkSocket& s, const Napi::Object& encoded, std::optional<uint32_t> genid);

// Tables, chains, rules (decoded expressions), sets with their elements; taken
// between two identical generation ids, retried when the ruleset moved. With
// `asTape`, the same content as { genid, tape, strings } (nft/tape.h) for a JS reader.
Napi::Object dump(Napi::Env env, NetlinkSocket& s, std::optional<uint16_t> family,
                  std::optional<std::string> table, bool asTape = false);

uint32_t genid(NetlinkSocket& s);

// Family names <-> NFPROTO_* numbers. familyFromName throws InputError.
uint16_t familyFromName(const std::string& name, const std::string& path);
const char* familyName(uint16_t family);  // nullptr when unknown

}  // namespace netcg::nft
