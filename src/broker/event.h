// broker/event.h — a state change, as the event log numbers it, the journal
// writes it and the replication link streams it (one encoding for all: see
// schemas/event.fbs).
//
// Rules (ARCHITECTURE.md "The promise"): an event is the *result* of a validated change, decided
// once, on the master. Applying the same events in the same order to an empty broker
// (recovery, or a slave) yields the same queues, durable subscriptions and message
// sets. Which consumer holds which unacked message is NOT an event (it is not mirrored:
// after a failover unacked messages are redelivered).
//
// Views inside an event are valid only during EventLog::append / Broker::apply.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

#include "broker/message.h"

namespace twinmq::broker {

// A message became available on a destination. For /queue/X it is queued there; for
// /topic/X it is queued for every durable subscription of that topic that exists at
// this point in the log (and delivered to live non-durable subscribers, which is not
// state). Topic messages with no durable subscription produce no event.
struct MessageEnqueued {
  MessageRef message;
};

enum class RemovalReason : std::uint8_t { acked = 0, expired = 1, discarded = 2 };

// A message left a queue (or a durable subscription's backlog) for good.
// `queue` is a queue name ("/queue/X") or a durable subscription key (see durable_key).
struct MessageRemoved {
  std::string_view queue;
  std::uint64_t message_id = 0;
  bool persistent = false;
  RemovalReason reason = RemovalReason::acked;
};

// A message exceeded maximumRedeliveries (or was poisoned) and moved, keeping its id,
// from `queue` to the dead-letter queue `dlq`.
struct MessageDeadLettered {
  std::string_view queue;
  std::uint64_t message_id = 0;
  bool persistent = false;
  std::string_view dlq;
};

struct AckedMessage {
  std::string_view queue;
  std::uint64_t message_id = 0;
  bool persistent = false;
};

// A transaction's sends and acks, applied atomically (all or nothing after a crash).
struct TransactionCommitted {
  std::span<const MessageRef> sends;
  std::span<const AckedMessage> acks;
};

struct DestinationAdded { std::string_view name; };
struct DestinationRemoved { std::string_view name; };

// ActiveMQ-style durable topic subscription: CONNECT client-id + SUBSCRIBE
// activemq.subscriptionName. Its key (durable_key) names its backlog in
// MessageRemoved / MessageDeadLettered.
struct DurableSubscriptionAdded {
  std::string_view client_id;
  std::string_view name;
  std::string_view topic;
};
struct DurableSubscriptionRemoved {
  std::string_view client_id;
  std::string_view name;
};

// One id of a DuplicateIdsRecorded, and whether the SEND that carried it was persistent.
struct DuplicateId {
  std::string_view id;
  bool persistent = true;
};

// Duplicate-detection ids entered `destination`'s window (broker/duplicates.h) without
// a message event that carries them: a topic SEND that no durable subscription keeps
// (one id), or a whole window written out (a journal checkpoint, a slave's initial
// sync: `replace` on the first event of a window, later chunks add to it).
struct DuplicateIdsRecorded {
  std::string_view destination;
  std::span<const DuplicateId> ids;  // oldest first
  std::uint32_t id_cache_size = 0;   // the window's size
  bool replace = false;              // the window becomes exactly `ids` (and what later chunks add)
  bool persistent = true;            // the journal keeps it
};

// The master role passes on purpose (a switchover): no state changes. It makes the
// handing-over master's last event a record both journals hold (schemas/event.fbs).
struct Handover {
  std::string_view from;
  std::string_view to;
};

using Event = std::variant<MessageEnqueued, MessageRemoved, MessageDeadLettered,
                           TransactionCommitted, DestinationAdded, DestinationRemoved,
                           DurableSubscriptionAdded, DurableSubscriptionRemoved,
                           DuplicateIdsRecorded, Handover>;

// INDEX-ONLY RECOVERY (store/recovery.h): a stored message as recovery reads it when
// its body is to stay on disk — what its queue entry (paged: broker/page_store.h), the
// expiry table and the duplicate-detection window need, read straight off the record
// (views into it) without building a Message. Always persistent: the journal holds no
// other kind.
struct StoredMessageIndex {
  std::uint64_t id = 0;
  std::string_view destination;
  std::string_view duplicate_id;    // its `_AMQ_DUPL_ID` header; empty = none
  std::uint32_t id_cache_size = 0;  // as Message::id_cache_size
  std::int64_t expires_ms = 0;      // 0 = never
  std::uint8_t priority = 4;        // 0..9
};

// A MessageEnqueued (one send, no acks) or a TransactionCommitted replayed index-only:
// applied exactly as the event would be (sends in order, then acks), every send paged.
// Not an Event: it is never logged, mirrored or journaled, only replayed.
struct IndexedEnqueue {
  std::span<const StoredMessageIndex> sends;
  std::span<const AckedMessage> acks;
};

// Whether the event carries persistent state (the journal writes only those).
bool is_persistent(const Event& e);

}  // namespace twinmq::broker
