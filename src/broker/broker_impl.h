// broker/broker_impl.h — Broker::Impl, shared by the broker's .cc files (one job each:
// broker.cc sessions and sends, subscribe.cc, apply.cc, dispatch.cc, ack.cc,
// redelivery.cc, transaction.cc, expiry.cc, durable.cc; the duplicate-detection window
// is broker/duplicates.h).
//
// THE ONE RULE: a state change is decided here, then emit(event) appends it to the log
// and applies it through apply_event() — the same function recovery and the slave
// reach through Broker::apply(). Code that decides a change never edits the store
// itself; it only moves what the log does not mirror (which consumer holds what).
//
// Dispatch is deferred to the end of each public call (run_dispatch): apply_event and
// everything that opens room only marks queues dirty. So a consumer never receives a
// message in the middle of the event sequence that produced it, and Client callbacks
// (deliver) never run while a data structure is half-updated.
//
// Lifecycle: owned by Broker (unique_ptr), loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/broker.h"
#include "broker/connection.h"
#include "broker/destination.h"
#include "broker/queue.h"
#include "broker/string_map.h"
#include "broker/subscription.h"
#include "broker/topic.h"

namespace twinmq::broker {

// `m` readdressed to the queue `to` (a dead-letter queue, or an operator's move) with
// id `id` ("ID:<id_prefix>-<id>"): ActiveMQ's `original-destination` header names where
// it was sent (apply.cc).
MessageRef readdressed(const Message& m, std::string_view to, std::uint64_t id, std::string_view id_prefix);
// "ID:<prefix>-<n>" -> "<prefix>"
std::string_view id_prefix_of(const Message& m);

struct Broker::Impl {
  Impl(Broker& broker, BrokerOptions opts);

  // --- the event path ------------------------------------------------------------
  Seq emit(const Event& e);
  // The removal of a message that the log's last event enqueued (an auto-acknowledged
  // delivery in the same turn as its SEND): the sinks may cancel the pair
  // (EventLog::append_consumed, README "Consumed before written").
  Seq emit_consumed(const MessageRemoved& removal, const Message& m);
  // Whether delivering `e` from `q` consumes the message the log's last event enqueued.
  bool consumed_at_once(const Queue& q, const QueueEntry& e) const;
  void apply_event(const Event& e);
  void apply_enqueued(const MessageRef& m);
  void apply_enqueued_paged(const StoredMessageIndex& m);
  void apply_removed(std::string_view store, std::uint64_t id, RemovalReason reason = RemovalReason::acked);
  void apply_dead_lettered(const MessageDeadLettered& e);
  void apply_durable_added(const DurableSubscriptionAdded& e);
  void apply_durable_removed(const DurableSubscriptionRemoved& e);
  void apply_destination_removed(std::string_view name);
  void apply_duplicate_ids(const DuplicateIdsRecorded& e);

  // --- destinations ----------------------------------------------------------------
  DestinationPolicy policy_for(std::string_view name) const;
  Queue* find_queue(std::string_view name);
  Topic* find_topic(std::string_view name);
  Queue* find_durable(std::string_view key);
  // The queue a MessageRemoved / MessageDeadLettered names: a queue or a durable key.
  Queue* find_store(std::string_view name);
  Queue& make_queue(std::string_view name);   // apply side: create if absent
  Topic& make_topic(std::string_view name);   // apply side: create if absent
  // Decide side: emits DestinationAdded if the destination does not exist yet.
  Seq ensure_destination(std::string_view name, DestKind kind, Seq last);

  // --- messages ------------------------------------------------------------------
  std::int64_t now_ms() const;
  // `id_cache_size`: the window its _AMQ_DUPL_ID enters (0 = none; see duplicates.h).
  MessageRef make_message(const SendRequest& req, std::uint64_t id, std::uint32_t id_cache_size = 0);
  // Adds `bytes` to the transaction's size, or refuses (changing nothing) when that
  // would pass maxTransactionSize; `what` names the frame ("SEND", "ACK").
  Result<void> charge_tx(Transaction& tx, std::string_view name, std::size_t bytes, std::string_view what);
  MessageRef with_id(const Message& draft, std::uint64_t id, std::uint32_t id_cache_size);

  // --- duplicate detection (duplicates.h) ------------------------------------------
  // The idCacheSize of `name`'s policy (the destination's own copy once it exists).
  std::uint32_t id_cache_size_of(std::string_view name);
  // A SEND (or a send of a COMMIT) to `destination` with duplicate-detection id `id`
  // is dropped: counted, and logged at debug level.
  void drop_duplicate(ConnId conn, std::string_view destination, std::string_view id, bool in_commit);

  // --- dispatch ------------------------------------------------------------------
  void mark_dirty(Queue& q);
  void run_dispatch();
  void dispatch_queue(Queue& q);
  void deliver_from_queue(Subscription& s, Queue& q, QueueEntry e);
  void fan_out(Topic& t, const MessageRef& m);
  void deliver_topic(Subscription& s, const MessageRef& m);
  void drain_pending(Subscription& s);
  void park_pending(Subscription& s, const MessageRef& m);
  // Window room opened on `s`: its queue to dispatch, or its pending list to drain.
  void room_opened(Subscription& s);

  // --- settling deliveries -------------------------------------------------------
  Result<std::pair<Subscription*, std::size_t>> resolve_ack(Connection& c, const AckRequest& req);
  Seq settle_ack(Subscription& s, std::size_t index, Seq last);
  Seq settle_nack(Subscription& s, std::size_t index, Seq last);

  // --- redelivery and dead-lettering -----------------------------------------------
  // Gives a held message back to its queue, counting one more delivery; dead-letters
  // it when that exceeds maximumRedeliveries.
  Seq give_back(Queue& q, Unacked u, Seq last);
  Seq dead_letter(Queue& q, std::uint64_t id, bool persistent, Seq last);
  // Unregisters `s` from its queue/topic and gives back (or drops) what it holds.
  Seq remove_subscription(Subscription& s, Seq last);

  // --- transactions --------------------------------------------------------------
  Transaction* find_tx(Connection& c, std::string_view name);
  void abort_tx(Transaction& tx);
  void forget_tx_acks(Connection& c, const Subscription& s);

  // --- durable subscriptions -----------------------------------------------------
  Seq attach_durable(Connection& c, Subscription& s, std::string_view topic, Seq last);

  // --- expiry --------------------------------------------------------------------
  Seq sweep_expired(std::int64_t now_ms);

  // --- inactive destinations (inactive_gc.cc) ---------------------------------------
  void collect_inactive(std::int64_t now_ms);
  struct IdleMark {
    std::int64_t since_ms;   // first tick that found it inactive
    std::uint64_t activity;  // its enqueue (or publish) count then
  };

  Connection& conn(ConnId id);

  // --- memory and store limits (broker/memory_usage.h, limits.cc) -------------------
  // Why a SEND (or COMMIT) of `m` to `destination` cannot be accepted now, if it
  // cannot: a memory_full / store_full error naming the limit and how full it is.
  Result<void> check_room(std::string_view destination, bool persistent);
  // Producers that were refused for want of room hear on_room() once something was
  // released (memory or store); called at the end of every public call.
  void notify_room();

  // --- paging (broker/page_store.h, paging.cc) ---------------------------------------
  void page_out();
  // Asks the page store for `q`'s next paged messages unless a request is out. With
  // `read_ahead`, only if fewer than a batch of resident messages come first.
  void request_page_in(Queue& q, bool read_ahead);
  void retry_failed_page_ins();
  PageStore* page_store = nullptr;
  bool queue_limits = false;  // some queue or durable backlog has its own memoryLimit
  std::vector<std::uint64_t> page_ids;
  std::vector<std::string> page_failed;  // queues whose last page-in failed (tick retries)

  Broker& broker;
  BrokerOptions options;
  // Declared before every holder of a MemoryAccount: it outlives them all.
  MemoryUsage memory;
  std::uint64_t store_used = 0;  // the journal's live bytes (Broker::set_store_usage)
  bool store_freed = false;
  std::vector<ConnId> room_waiters;
  std::vector<ConnId> room_scratch;
  std::uint64_t next_message_id = 1;
  // The MessageEnqueued of the last plain SEND to a queue (not a transaction, not a
  // topic): its seq and message id (consumed_at_once).
  Seq last_send_seq{0};
  std::uint64_t last_send_id = 0;
  std::uint64_t next_conn = 1;
  std::string refusal;
  bool dispatching = false;

  StringMap<std::unique_ptr<Queue>> queues;    // /queue/ and /temp-queue/
  StringMap<std::unique_ptr<Topic>> topics;    // /topic/ and /temp-topic/
  StringMap<std::unique_ptr<Queue>> durables;  // by durable_key()
  std::unordered_map<ConnId, std::unique_ptr<Connection>> conns;
  DuplicateIds duplicates;
  std::vector<Queue*> dirty;
  std::vector<Queue*> dirty_scratch;
  std::vector<ExpiredMessage> expired_scratch;
  StringMap<IdleMark> idle;  // destinations found inactive, with a gcInactiveDestinations policy
  std::vector<std::string> gc_scratch;
  std::int64_t last_gc_ms = 0;
};

}  // namespace twinmq::broker
