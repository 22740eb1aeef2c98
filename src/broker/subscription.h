// broker/subscription.h — Subscription: one SUBSCRIBE of one connection.
//
// Holds what the consumer has been sent but not yet settled, in delivery order (the
// `unacked` ring, sorted by ack tag because tags grow per connection), which gives
//  - the prefetch window: held() deliveries count against `prefetch`;
//  - cumulative ACK/NACK (client mode): everything up to a tag, from the front;
//  - the messages to give back when the subscription goes away.
// Settled deliveries become tombstones (state done) popped from the front, so an
// individual ack in the middle costs O(log n) to find and O(1) to settle.
//
// A non-durable topic subscription also has `pending`: messages published while it had
// no room, bounded by the policy's topic_pending_limit (oldest dropped first).
//
// Kinds: queue (consumes a /queue/'s Queue), durable (consumes its durable backlog
// Queue), topic (fed by Topic fan-out; nothing it holds is state: settling it emits
// no event, and NACKed or abandoned topic messages are dropped, not redelivered).
//
// Memory: every message held unacknowledged or pending is charged to `account` (its
// Queue's, durable backlog's or Topic's MemoryAccount) by hold()/adopt()/push_pending()
// and released by settle()/pop_pending()/clear_pending(), so every path that settles a
// delivery also releases it.
//
// Lifecycle: owned by its Connection's subs map; registered with its Queue/Topic on
// creation and unregistered (messages given back) before destruction. Loop thread.
#pragma once

#include <cstdint>
#include <string>

#include "broker/broker.h"
#include "broker/client.h"
#include "broker/memory_usage.h"
#include "broker/message.h"
#include "broker/ring.h"

namespace twinmq::broker {

struct Connection;
class Queue;
class Topic;

enum class SubKind : std::uint8_t { queue, durable, topic };
enum class DeliveryState : std::uint8_t { held, tx_settled, done };

struct Unacked {
  std::uint64_t tag = 0;
  MessageRef msg;
  std::uint32_t redelivery_count = 0;
  bool redelivered = false;
  DeliveryState state = DeliveryState::held;
};

class Subscription {
 public:
  Subscription(Connection& conn, std::string id, AckMode ack, std::uint32_t prefetch, SubKind kind)
      : conn_(conn), id_(std::move(id)), ack_(ack), prefetch_(prefetch), kind_(kind) {}
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription();

  Connection& conn() const { return conn_; }
  const std::string& id() const { return id_; }
  AckMode ack_mode() const { return ack_; }
  SubKind kind() const { return kind_; }
  std::uint32_t prefetch() const { return prefetch_; }

  Queue* queue = nullptr;  // kinds queue and durable
  Topic* topic = nullptr;  // kind topic
  std::string durable_name;

  // Where what it holds is counted; set once, before the first delivery.
  void set_account(MemoryAccount* account) { account_ = account; }

  // Window room and the client's own back-pressure.
  bool can_take() const;

  // --- deliveries awaiting ACK (client / client-individual) ----------------------
  void hold(Unacked u) {
    charge(*u.msg);
    unacked_.push_back(std::move(u));
    ++held_;
  }
  // hold() for a message taken from this subscription's own Queue, whose account
  // already counts it (Queue::take_front): the charge moves here without a change.
  void adopt(Unacked u) {
    charged_ += memory_cost(*u.msg);
    unacked_.push_back(std::move(u));
    ++held_;
  }
  std::size_t held() const { return held_; }
  Ring<Unacked>& unacked() { return unacked_; }
  // Index of the delivery with this tag in unacked(), if it is in `state`.
  bool find_tag(std::uint64_t tag, DeliveryState state, std::size_t* index) const;
  // Index of the unsettled delivery of this message (id and text must both match).
  bool find_message(std::uint64_t id, std::string_view id_text, std::size_t* index) const;
  // Marks a delivery settled for good; returns its message.
  MessageRef settle(std::size_t index);
  void trim();

  // --- pending topic messages for a slow subscriber ------------------------------
  const Ring<MessageRef>& pending() const { return pending_; }
  void push_pending(MessageRef m) {
    charge(*m);
    pending_.push_back(std::move(m));
  }
  MessageRef pop_pending() {
    MessageRef m = std::move(pending_.front());
    pending_.pop_front();
    release(*m);
    return m;
  }
  void clear_pending() {
    while (!pending_.empty()) pop_pending();
  }
  std::uint64_t dropped = 0;  // pending messages dropped past the limit

 private:
  Connection& conn_;
  std::string id_;
  AckMode ack_;
  std::uint32_t prefetch_;
  SubKind kind_;
  Ring<Unacked> unacked_;
  std::size_t held_ = 0;       // entries in state held or tx_settled
  std::size_t tombstones_ = 0; // entries in state done still in the ring
  Ring<MessageRef> pending_;
  MemoryAccount* account_ = nullptr;
  std::uint64_t charged_ = 0;  // what this subscription has charged to account_

  void charge(const Message& m) {
    const std::uint64_t bytes = memory_cost(m);
    charged_ += bytes;
    if (account_ != nullptr) account_->charge(bytes);
  }
  void release(const Message& m) {
    const std::uint64_t bytes = memory_cost(m);
    charged_ -= bytes;
    if (account_ != nullptr) account_->release(bytes);
  }
};

}  // namespace twinmq::broker
