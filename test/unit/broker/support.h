// test/unit/broker/support.h — in-process drivers for broker tests.
//
// RecordingClient: a broker::Client that records every delivery (copying what the
// Delivery's views point at) and whose can_accept() the test switches, optionally
// with a budget of deliveries after which it stops accepting (a client whose output
// fills up). RecordingSink: an EventSink that keeps an owned copy of every event so a
// test can check types and order, and replay them into a fresh Broker through apply()
// — the recovery / slave path. Fixture: a broker with a fake clock and a mutable policy.
//
// Lifecycle: test-local objects; a RecordingClient must be detached before it dies
// (the Fixture's broker is destroyed first, as members go in reverse order).
#pragma once

#include <doctest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "broker/broker.h"

namespace twinmq::broker::test {

struct Received {
  std::string subscription;
  std::uint64_t ack_tag = 0;
  std::uint64_t id = 0;
  std::string id_text;
  std::string destination;
  std::string body;
  bool redelivered = false;
  std::uint32_t redelivery_count = 0;
  std::uint8_t priority = 0;
  const Message* message = nullptr;  // identity only (fan-out shares one Message)
};

class RecordingClient final : public Client {
 public:
  bool accept = true;
  // When set, can_accept() turns false after this many more deliveries.
  std::optional<std::size_t> budget;
  std::vector<Received> got;
  std::vector<Seq> released;

  bool can_accept() const override { return accept && (!budget || *budget > 0); }
  void deliver(const Delivery& d) override {
    CHECK(can_accept());  // the broker must not deliver to a client that said no
    if (budget) --*budget;
    got.push_back(Received{std::string(d.subscription_id), d.ack_tag, d.message.id(),
                           std::string(d.message.id_text()), std::string(d.message.destination()),
                           std::string(d.message.body()), d.redelivered, d.redelivery_count,
                           d.message.priority(), &d.message});
  }
  void on_released(Seq s) override { released.push_back(s); }
  std::size_t rooms = 0;  // on_room() calls
  void on_room() override { ++rooms; }

  std::vector<std::string> bodies() const {
    std::vector<std::string> out;
    for (const Received& r : got) out.push_back(r.body);
    return out;
  }
  std::string tag(std::size_t i) const { return std::to_string(got.at(i).ack_tag); }
};

enum EventType : std::size_t {
  enqueued = 0, removed, dead_lettered, committed, dest_added, dest_removed, durable_added,
  durable_removed, duplicate_ids
};

// An owned copy of one Event; to_event() rebuilds views into this copy.
struct RecordedEvent {
  Seq seq;
  std::size_t type = 0;
  std::string a, b, c;  // names: queue / dlq / client id / subscription name / topic
  std::uint64_t id = 0;
  bool persistent = false;
  RemovalReason reason = RemovalReason::acked;
  MessageRef message;
  std::vector<MessageRef> sends;
  std::vector<std::string> ack_queues;
  std::vector<AckedMessage> acks;
  std::vector<std::string> ids;            // DuplicateIdsRecorded
  std::vector<bool> id_persistent;
  std::vector<DuplicateId> id_views;
  std::uint32_t id_cache_size = 0;
  bool replace = false;

  Event to_event() {
    switch (type) {
      case enqueued: return MessageEnqueued{message};
      case removed: return MessageRemoved{a, id, persistent, reason};
      case dead_lettered: return MessageDeadLettered{a, id, persistent, b};
      case committed:
        for (std::size_t i = 0; i < acks.size(); ++i) acks[i].queue = ack_queues[i];
        return TransactionCommitted{sends, acks};
      case dest_added: return DestinationAdded{a};
      case dest_removed: return DestinationRemoved{a};
      case durable_added: return DurableSubscriptionAdded{a, b, c};
      case duplicate_ids:
        id_views.clear();
        for (std::size_t i = 0; i < ids.size(); ++i) id_views.push_back(DuplicateId{ids[i], id_persistent[i]});
        return DuplicateIdsRecorded{a, id_views, id_cache_size, replace, persistent};
      default: return DurableSubscriptionRemoved{a, b};
    }
  }
};

class RecordingSink final : public EventSink {
 public:
  std::vector<RecordedEvent> events;

  void on_event(Seq seq, const Event& event) override {
    RecordedEvent r;
    r.seq = seq;
    r.type = event.index();
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, MessageEnqueued>) {
            r.message = e.message;
          } else if constexpr (std::is_same_v<T, MessageRemoved>) {
            r.a = e.queue, r.id = e.message_id, r.persistent = e.persistent, r.reason = e.reason;
          } else if constexpr (std::is_same_v<T, MessageDeadLettered>) {
            r.a = e.queue, r.id = e.message_id, r.persistent = e.persistent, r.b = e.dlq;
          } else if constexpr (std::is_same_v<T, TransactionCommitted>) {
            r.sends.assign(e.sends.begin(), e.sends.end());
            for (const AckedMessage& m : e.acks) {
              r.ack_queues.emplace_back(m.queue);
              r.acks.push_back(m);
            }
          } else if constexpr (std::is_same_v<T, DestinationAdded> ||
                               std::is_same_v<T, DestinationRemoved>) {
            r.a = e.name;
          } else if constexpr (std::is_same_v<T, DurableSubscriptionAdded>) {
            r.a = e.client_id, r.b = e.name, r.c = e.topic;
          } else if constexpr (std::is_same_v<T, DuplicateIdsRecorded>) {
            r.a = e.destination, r.id_cache_size = e.id_cache_size, r.replace = e.replace;
            r.persistent = e.persistent;
            for (const DuplicateId& d : e.ids) {
              r.ids.emplace_back(d.id);
              r.id_persistent.push_back(d.persistent);
            }
          } else if constexpr (std::is_same_v<T, Handover>) {
            r.a = e.from, r.b = e.to;
          } else {
            r.a = e.client_id, r.b = e.name;
          }
        },
        event);
    events.push_back(std::move(r));
  }

  std::vector<std::size_t> types() const {
    std::vector<std::size_t> out;
    for (const RecordedEvent& e : events) out.push_back(e.type);
    return out;
  }
  std::size_t count(std::size_t type) const {
    return static_cast<std::size_t>(std::count_if(
        events.begin(), events.end(), [&](const RecordedEvent& e) { return e.type == type; }));
  }
  void replay_into(Broker& b) {
    for (RecordedEvent& e : events) b.apply(e.to_event());
  }
};

struct Fixture {
  std::int64_t now = 1'700'000'000'000;
  DestinationPolicy policy;
  std::size_t max_transaction_bytes = BrokerOptions{}.max_transaction_bytes;
  std::uint64_t memory_limit = 0;  // memoryUsage (0 = unlimited)
  std::uint64_t store_limit = 0;   // storeUsage (0 = unlimited)
  RecordingSink sink;
  std::unique_ptr<Broker> broker;

  Fixture() { broker = make_broker(); }
  ~Fixture() { broker.reset(); }

  std::unique_ptr<Broker> make_broker(bool with_sink = true) {
    BrokerOptions o;
    o.id_prefix = "test";
    o.policy_for = [this](std::string_view) { return policy; };
    o.now_ms = [this] { return now; };
    o.max_transaction_bytes = max_transaction_bytes;
    o.memory_limit = memory_limit;
    o.store_limit = store_limit;
    auto b = std::make_unique<Broker>(std::move(o));
    if (with_sink) b->event_log().add_sink(&sink);
    return b;
  }

  ConnId attach(RecordingClient& c, std::string_view client_id = {}) {
    return broker->attach(c, client_id);
  }

  Result<Seq> send(ConnId c, std::string_view dest, std::string_view body, std::uint8_t priority = 4,
                   std::string_view tx = {}, bool persistent = false, std::int64_t expires = 0) {
    SendRequest r;
    r.destination = dest;
    r.body = body;
    r.priority = priority;
    r.transaction = tx;
    r.persistent = persistent;
    r.expires_ms = expires;
    return broker->send(c, r);
  }
  void send_ok(ConnId c, std::string_view dest, std::string_view body, std::uint8_t priority = 4) {
    auto r = send(c, dest, body, priority);
    REQUIRE(r.has_value());
  }

  Result<Seq> subscribe(ConnId c, std::string_view id, std::string_view dest,
                        AckMode ack = AckMode::auto_ack, std::uint32_t prefetch = 0,
                        std::string_view durable = {}) {
    SubscribeRequest r;
    r.id = id;
    r.destination = dest;
    r.ack = ack;
    r.prefetch = prefetch;
    r.durable_name = durable;
    return broker->subscribe(c, r);
  }
  void subscribe_ok(ConnId c, std::string_view id, std::string_view dest,
                    AckMode ack = AckMode::auto_ack, std::uint32_t prefetch = 0,
                    std::string_view durable = {}) {
    auto r = subscribe(c, id, dest, ack, prefetch, durable);
    REQUIRE(r.has_value());
  }

  Result<Seq> ack_tag(ConnId c, std::uint64_t tag, bool nack = false, std::string_view tx = {}) {
    const std::string id = std::to_string(tag);
    AckRequest r;
    r.nack = nack;
    r.ack_id = id;
    r.transaction = tx;
    return broker->ack(c, r);
  }

  Broker::DestinationStats stat(std::string_view name) const {
    for (const auto& s : broker->stats())
      if (s.name == name) return s;
    FAIL("no stats for " << name);
    return {};
  }
  bool has_stat(std::string_view name) const {
    for (const auto& s : broker->stats())
      if (s.name == name) return true;
    return false;
  }
};

inline std::vector<std::string> strings(std::initializer_list<const char*> l) {
  return {l.begin(), l.end()};
}

}  // namespace twinmq::broker::test
