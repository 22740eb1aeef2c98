// broker/connection.h — Connection: the broker's view of one attached Client.
//
// Lifecycle: created by Broker::attach(), destroyed by Broker::detach() after its
// transactions are aborted and its subscriptions removed. Owned by Broker::Impl's
// conns_ map. Loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/ids.h"
#include "broker/client.h"
#include "broker/string_map.h"
#include "broker/subscription.h"
#include "broker/transaction.h"

namespace twinmq::broker {

struct Connection {
  ConnId id;
  Client* client;
  std::string client_id;        // CONNECT client-id; empty = none (no durable subscriptions)
  std::uint64_t next_tag = 1;   // ack tags, unique and increasing per connection
  StringMap<std::unique_ptr<Subscription>> subs;  // by SUBSCRIBE id
  StringMap<Transaction> txs;                     // by BEGIN transaction name
  // Destinations this connection has sent to, for the producer counts of
  // Broker::stats() (ActiveMQ counts a STOMP connection as a destination's producer
  // once it sent there). Checked on every SEND: a connection writes to few
  // destinations, so a short scan beats a set; the string is made once per pair.
  std::vector<std::string> produced_to;
  void note_produced(std::string_view destination) {
    for (const std::string& d : produced_to)
      if (d == destination) return;
    if (produced_to.size() < kMaxProducedTo) produced_to.emplace_back(destination);
  }
  // A connection that writes to thousands of destinations is counted for the first
  // ones only, so the scan above stays short.
  static constexpr std::size_t kMaxProducedTo = 64;
};

}  // namespace twinmq::broker
