#include "witness/pair_record.h"

#include <nlohmann/json.hpp>

#include "witness/errors.h"

namespace twinmq::witness {

namespace {

using nlohmann::json;

Result<json> parse_object(std::string_view text, std::string_view what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return make_error(static_cast<int>(EtcdErrc::bad_response),
                      std::string(what) + ": not a JSON object: '" + std::string(text.substr(0, 200)) + "'");
  return j;
}

template <class T>
Result<T> member(const json& j, const char* name, std::string_view what) {
  auto it = j.find(name);
  bool ok = it != j.end();
  if constexpr (std::is_same_v<T, std::string>) {
    ok = ok && it->is_string();
  } else if constexpr (std::is_signed_v<T>) {
    ok = ok && it->is_number_integer();
  } else {
    ok = ok && it->is_number_unsigned();
  }
  if (!ok)
    return make_error(static_cast<int>(EtcdErrc::bad_response),
                      std::string(what) + ": no member '" + name + "' of the expected type in " + j.dump());
  return it->get<T>();
}

}  // namespace

std::string encode(const HolderClaim& c) {
  return json{{"broker", c.broker}, {"store_id", c.store_id}, {"epoch", c.epoch}, {"lease", c.lease}}.dump();
}

std::string encode(const PairRecord& r) {
  return json{{"epoch", r.epoch}, {"holder", r.holder}, {"replica", r.replica}, {"store_id", r.store_id}}.dump();
}

Result<HolderClaim> decode_claim(std::string_view text) {
  constexpr std::string_view kWhat = "witness key";
  auto j = parse_object(text, kWhat);
  if (!j) return std::unexpected(j.error());
  HolderClaim c;
  auto broker = member<std::string>(*j, "broker", kWhat);
  auto store = member<std::string>(*j, "store_id", kWhat);
  auto epoch = member<std::uint64_t>(*j, "epoch", kWhat);
  auto lease = member<std::int64_t>(*j, "lease", kWhat);
  if (!broker) return std::unexpected(broker.error());
  if (!store) return std::unexpected(store.error());
  if (!epoch) return std::unexpected(epoch.error());
  if (!lease) return std::unexpected(lease.error());
  c.broker = *broker;
  c.store_id = *store;
  c.epoch = *epoch;
  c.lease = *lease;
  return c;
}

Result<PairRecord> decode_pair(std::string_view text) {
  constexpr std::string_view kWhat = "pair record";
  auto j = parse_object(text, kWhat);
  if (!j) return std::unexpected(j.error());
  PairRecord r;
  auto epoch = member<std::uint64_t>(*j, "epoch", kWhat);
  auto holder = member<std::string>(*j, "holder", kWhat);
  auto replica = member<std::string>(*j, "replica", kWhat);
  auto store = member<std::string>(*j, "store_id", kWhat);
  if (!epoch) return std::unexpected(epoch.error());
  if (!holder) return std::unexpected(holder.error());
  if (!replica) return std::unexpected(replica.error());
  if (!store) return std::unexpected(store.error());
  r.epoch = *epoch;
  r.holder = *holder;
  r.replica = *replica;
  r.store_id = *store;
  return r;
}

}  // namespace twinmq::witness
