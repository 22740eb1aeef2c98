// witness/pair_record.h — what the pair keeps at its witness (etcd), and its JSON.
//
// Two keys per pair, under the configured <witness key="K">:
//
//   K        the serving broker's claim, attached to its lease (gone when the lease
//            expires or is revoked):
//              {"broker": "master", "store_id": "<32 hex>", "epoch": 7, "lease": 6942...}
//   K/pair   the pair's record, no lease (it outlives every broker):
//              {"epoch": 7, "holder": "master", "replica": "slave", "store_id": "<32 hex>"}
//            epoch    the store epoch of the newest history: a promotion bumps it, in the
//                     same transaction that creates K; an older store may never serve
//            holder   the broker that last held K at this epoch (only it may take K again
//                     at this epoch without a promotion)
//            replica  the slave that may take over: named by the holder once the slave is
//                     in sync, cleared before the holder confirms anything without it
//                     ("" = no broker may take over)
//
// Every change to either key is one etcd transaction that compares what it relies on
// (K absent, K's lease ours, the record's mod revision as read), so two brokers can
// never both succeed.
//
// COMPATIBILITY NOTES: JSON objects; readers ignore members they do not know and
// refuse a record without the members above (a person or another tool wrote it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace twinmq::witness {

struct HolderClaim {
  std::string broker;
  std::string store_id;
  std::uint64_t epoch = 0;
  std::int64_t lease = 0;
};

struct PairRecord {
  std::uint64_t epoch = 0;
  std::string holder;
  std::string replica;
  std::string store_id;
};

std::string encode(const HolderClaim& c);
std::string encode(const PairRecord& r);
// Errors name the key's role and what was wrong ("pair record: no member 'epoch'").
Result<HolderClaim> decode_claim(std::string_view json);
Result<PairRecord> decode_pair(std::string_view json);

// The record's key for the configured key K.
inline std::string pair_key(const std::string& key) { return key + "/pair"; }

}  // namespace twinmq::witness
