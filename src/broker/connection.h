// broker/connection.h — Connection: the broker's view of one attached Client.
//
// Lifecycle: created by Broker::attach(), destroyed by Broker::detach() after its
// transactions are aborted and its subscriptions removed. Owned by Broker::Impl's
// conns_ map. Loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

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
};

}  // namespace twinmq::broker
