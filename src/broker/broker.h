// broker/broker.h — the broker: destinations, subscriptions, dispatch, acks,
// transactions, redelivery, dead-lettering and expiry. The only entry point for
// sessions (stomp/) and, later, for the journal's recovery and the slave link.
//
// DESIGN
//  - No libuv, sockets or files here: the broker is driven by calls and talks back
//    through broker::Client and EventSinks, so it is unit-tested in-process.
//  - Every state change is decided here, then recorded as an Event through
//    EventLog::append() and applied through apply() — the same apply() that recovery
//    and the slave use. Mutating operations return the Seq of their last event (Seq{0}
//    when they changed nothing), which the session uses to hold the receipt in the
//    ReplyGate.
//  - Queues (/queue/X) load-balance: round-robin across subscriptions that have room
//    in their prefetch window (client / client-individual ack: unacked deliveries count
//    against it; auto: delivered = acked) and whose Client::can_accept(). Priority
//    0-9, higher first, FIFO within a priority; per-producer order is kept.
//  - Topics (/topic/X) fan out to current subscriptions; no subscriber = dropped
//    (unless durable subscriptions exist, which keep a backlog). A slow non-durable
//    topic subscriber has a bounded pending list (oldest dropped past the limit, logged).
//  - Redelivery: unacked messages return to their queue when the consumer detaches,
//    NACKs them, or unsubscribes; they are redelivered flagged redelivered. When the
//    redelivery count would exceed the policy's maximumRedeliveries the message moves
//    to the dead-letter queue (event MessageDeadLettered).
//  - Expiry: an expired message is never delivered; it is removed (event, reason
//    expired) when dispatch meets it and by tick()'s periodic sweep.
//  - Transactions are per connection: sends are invisible until commit; acks in a
//    transaction take effect at commit; abort undoes both (acked messages return to
//    the subscription's unacked set). Unfinished transactions abort on detach.
//  - Duplicate detection (broker/duplicates.h): a SEND whose `_AMQ_DUPL_ID` is in its
//    destination's window of recent ids is dropped and answered as if it were new; a
//    COMMIT drops such sends and commits the rest.
//
// Lifecycle: owned by app::Runtime; loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ids.h"
#include "base/result.h"
#include "broker/client.h"
#include "broker/duplicates.h"
#include "broker/event.h"
#include "broker/event_log.h"
#include "broker/message.h"
#include "broker/reply_gate.h"

namespace twinmq::broker {

enum class Errc {
  ok = 0,
  invalid_destination,     // not /queue/X or /topic/X (or temp-*), or empty name
  duplicate_subscription,  // SUBSCRIBE id already used on this connection
  unknown_subscription,    // UNSUBSCRIBE / ACK names a subscription that does not exist
  unknown_ack_id,          // ACK/NACK of an id that is not an unacked delivery
  unknown_transaction,     // COMMIT/ABORT/SEND/ACK with a transaction never begun
  duplicate_transaction,   // BEGIN of a transaction already open
  invalid_subscription,    // e.g. durable subscription without client-id, on a queue
  persistence_unavailable, // the store refuses persistent work (disk full / I/O error)
  transaction_too_large,   // a SEND or ACK would take a transaction past maxTransactionSize
  invalid_duplicate_id,    // a SEND's _AMQ_DUPL_ID is longer than kMaxDuplicateIdBytes
  memory_full,             // the destination's memoryLimit or the broker's memoryUsage is reached
  store_full,              // the journal's live bytes reached storeUsage (persistent work only)
  unknown_destination,     // an operator verb names a destination that does not exist
  destination_in_use,      // an operator may not remove a destination that has consumers
  invalid_argument,        // an operator verb's arguments (moving a queue onto itself)
};

// No single event may encode to more than this: the journal's reader and the
// replication link refuse larger records and frames (store/record_format.h
// kMaxRecordPayload, replication/protocol.h kMaxMasterFrame assert it). The
// configuration keeps a message (wireFormat.maxFrameSize) and a transaction
// (maxTransactionSize) to at most kMaxTransactionBytes each, so every event fits.
inline constexpr std::size_t kMaxTransactionBytes = 512u << 20;
inline constexpr std::size_t kMaxEventBytes = kMaxTransactionBytes + (64u << 20);

enum class AckMode : std::uint8_t { auto_ack, client, client_individual };

// Destination policy (ActiveMQ policyEntry), resolved per destination name.
struct DestinationPolicy {
  std::uint32_t maximum_redeliveries = 6;
  std::string dead_letter_queue = "/queue/DLQ";
  std::uint32_t queue_prefetch = 1000;
  std::uint32_t topic_prefetch = 1000;
  // Pending messages kept for a slow non-durable topic subscriber before dropping.
  std::uint32_t topic_pending_limit = 10000;
  // idCacheSize: how many duplicate-detection ids the destination remembers
  // (broker/duplicates.h); 0 = no duplicate detection there.
  std::uint32_t id_cache_size = kDefaultIdCacheSize;
  // memoryLimit: bytes this destination may hold in memory (broker/memory_usage.h);
  // 0 = only the broker's memoryUsage limit applies.
  std::uint64_t memory_limit = 0;
  // producerFlowControl: a SEND to this destination waits (or fails, sendFailIfNoSpace)
  // while its memoryLimit is reached. false = its own limit does not hold producers back
  // (a non-durable topic subscriber's pending list then drops its oldest instead); the
  // broker's memoryUsage and storeUsage limits still do.
  bool producer_flow_control = true;
  // gcInactiveDestinations / inactiveTimoutBeforeGC (ActiveMQ's names and spelling): the
  // destination is removed once it has been inactive this long (broker/inactive_gc.cc).
  bool gc_inactive = false;
  std::uint32_t inactive_timeout_before_gc_ms = 60'000;
};

struct BrokerOptions {
  std::string id_prefix;  // message ids are "ID:<id_prefix>-<n>"
  // Policy for a destination name; default-constructed policy if unset.
  std::function<DestinationPolicy(std::string_view destination)> policy_for;
  // Wall clock in ms since the epoch, used for message timestamps and expiry at
  // dispatch; empty = the system clock (twinmq::wall_ms). Tests set a fake one.
  std::function<std::int64_t()> now_ms;
  // maxTransactionSize: what one transaction's commit may hold (sends and acks,
  // counted with Message::encoded_size_bound). At most kMaxTransactionBytes.
  std::size_t max_transaction_bytes = 64u << 20;
  // memoryUsage: bytes of messages held in memory (broker/memory_usage.h); 0 = unlimited.
  std::uint64_t memory_limit = 0;
  // storeUsage: the journal's live bytes (set_store_usage); 0 = unlimited.
  std::uint64_t store_limit = 0;
};

struct SendRequest {
  std::string_view destination;
  std::span<const HeaderView> headers;  // user headers, passed on to MESSAGE frames
  std::string_view body;
  bool persistent = false;
  std::uint8_t priority = 4;
  std::int64_t expires_ms = 0;
  std::string_view transaction;  // empty = not transacted
};

struct SubscribeRequest {
  std::string_view id;
  std::string_view destination;
  AckMode ack = AckMode::auto_ack;
  std::uint32_t prefetch = 0;          // 0 = the destination policy's default
  std::string_view durable_name;       // activemq.subscriptionName (topics only)
};

// How an ACK/NACK names the message (by STOMP version):
//  1.2: `id` = the ack_tag we sent in the MESSAGE's ack header (as decimal text);
//  1.1: `message-id` + `subscription`;  1.0: `message-id` only.
struct AckRequest {
  bool nack = false;
  std::string_view ack_id;        // 1.2
  std::string_view message_id;    // 1.0 / 1.1 ("ID:...")
  std::string_view subscription;  // 1.1
  std::string_view transaction;   // empty = not transacted
};

struct Snapshot;  // broker/snapshot.h
class PageStore;  // broker/page_store.h

// One ready message as an operator browses it (Broker::browse): owned copies, so the
// answer may outlive the message.
struct BrowsedMessage {
  std::uint64_t id = 0;
  std::string id_text;                                       // "ID:<prefix>-<n>"
  std::vector<std::pair<std::string, std::string>> headers;  // user headers, in order
  std::string body_preview;                                  // the body's first bytes
  std::size_t body_bytes = 0;                                // the whole body's length
  bool persistent = false;
  std::uint8_t priority = 4;
  std::int64_t expires_ms = 0;
  std::int64_t timestamp_ms = 0;
  bool redelivered = false;
  std::uint32_t redelivery_count = 0;
  // Paged out (broker/page_store.h): headers, body, expiry and timestamp are on disk
  // only and not shown; id, priority and the redelivery fields are.
  bool paged = false;
};

// What a mutating operator verb did: how many messages it touched, and the Seq of its
// last event (Seq{0}: nothing changed), which the caller's answer waits for like a
// receipt (when_released).
struct AdminOutcome {
  std::size_t messages = 0;
  Seq last{0};
};

class Broker {
 public:
  explicit Broker(BrokerOptions options);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // --- sessions ---------------------------------------------------------------
  ConnId attach(Client& client, std::string_view client_id);
  // Aborts open transactions, returns unacked messages to their queues (redelivered),
  // drops non-durable subscriptions, marks durable ones offline.
  void detach(ConnId conn);

  Result<Seq> send(ConnId conn, const SendRequest& req);
  Result<Seq> subscribe(ConnId conn, const SubscribeRequest& req);
  // `durable_remove` = also delete the durable subscription (ActiveMQ: UNSUBSCRIBE
  // with activemq.subscriptionName). When no live subscription of this connection has
  // this id and durable_remove is set, `id` is taken as the durable subscription's
  // name (with the connection's client-id): that removes an offline durable
  // subscription, as ActiveMQ's UNSUBSCRIBE with only activemq.subscriptionName does.
  Result<Seq> unsubscribe(ConnId conn, std::string_view id, bool durable_remove = false);
  Result<Seq> ack(ConnId conn, const AckRequest& req);
  Result<Seq> begin(ConnId conn, std::string_view tx);
  Result<Seq> commit(ConnId conn, std::string_view tx);
  Result<Seq> abort(ConnId conn, std::string_view tx);

  // The client's output drained below its low watermark: dispatch to it again.
  void resume(ConnId conn);

  // --- memory and store limits (broker/memory_usage.h) ---------------------------
  // send() or commit() answered memory_full / store_full: tell `conn` (Client::on_room)
  // once memory or store space is next released, so it may try again. One call, one
  // notification.
  void wait_for_room(ConnId conn);
  // The journal's live bytes, as it changes (store/journal.cc): what storeUsage limits.
  void set_store_usage(std::uint64_t live_bytes);
  struct MemoryStats {
    std::uint64_t used = 0;         // every holder's bytes (broker/memory_usage.h)
    std::uint64_t limit = 0;        // memoryUsage; 0 = unlimited
    std::uint64_t store_used = 0;   // the journal's live bytes
    std::uint64_t store_limit = 0;  // storeUsage; 0 = unlimited
    std::size_t waiting_producers = 0;
    std::size_t paged = 0;          // ready messages paged out (broker/page_store.h)
  };
  MemoryStats memory_stats() const;

  // --- paging (broker/page_store.h, broker/paging.cc) ----------------------------
  // Where paged messages are read back from; null = nothing is paged (the default;
  // the journal sets itself when the broker has a memoryUsage limit). Set it to null
  // only while nothing is paged or just before the broker goes.
  void set_page_store(PageStore* store);
  // The page store's durable position advanced: pages out ready messages while memory
  // is above kPageOutHighPercent of a limit (the journal calls it after each batch).
  void page_out();
  // The answer to PageStore::page_in: `messages[i]` is the message `ids[i]` (null: it
  // could not be read; it stays paged and is asked for again at the next tick).
  void paged_in(std::string_view queue, std::span<const std::uint64_t> ids, std::span<MessageRef> messages);

  // Periodic housekeeping from the runtime's timer: expiry sweep.
  void tick(std::int64_t now_ms);

  // The store refuses persistent work (disk full, I/O error): persistent sends fail
  // with persistence_unavailable carrying this reason, until cleared with "".
  void set_persistence_refusal(std::string reason);

  // A planned switchover: records a Handover event (no state changes; see
  // broker/event.h) and returns its seq.
  Seq record_handover(std::string_view from, std::string_view to);

  // --- operator verbs (broker/admin_ops.cc; the admin endpoint through app/) ---
  // A fixed set, each decided here and recorded with the events the broker already
  // has, so the journal, the slave and recovery apply them like any other change.
  // They touch only ready messages: one a consumer holds unacknowledged stays with it
  // (its ACK or its return decides what becomes of it).
  //
  // The first `limit` ready messages of `queue` in dispatch order, bodies cut to
  // `preview_bytes`. Changes nothing.
  Result<std::vector<BrowsedMessage>> browse(std::string_view queue, std::size_t limit,
                                             std::size_t preview_bytes) const;
  // Removes every ready message of `queue` (MessageRemoved, reason discarded, each).
  Result<AdminOutcome> purge(std::string_view queue);
  // Moves the first `limit` ready messages (0 = all) of `from` to the queue `to`
  // — up to the first paged one (broker/page_store.h), whose body is not in memory —
  // (created if absent): each is one TransactionCommitted (the copy sent to `to`, the
  // original acknowledged on `from`), so a crash leaves every message in exactly one of
  // the two. The copy gets a new id (an id names one message in one place in the
  // journal's index) and ActiveMQ's `original-destination` header.
  Result<AdminOutcome> move(std::string_view from, std::string_view to, std::size_t limit);
  // Removes a queue (its ready messages with it) or a topic (DestinationRemoved).
  // Refused while consumers (or, for a topic, durable subscriptions) are attached.
  Result<AdminOutcome> remove_destination(std::string_view name);
  // Runs `done` once reply_gate().released() reaches `seq` (at once if it has), from
  // notify_released(): an operator's answer waits like a receipt (journal durable,
  // slave applied). Pending ones are dropped with the broker.
  void when_released(Seq seq, std::function<void()> done);

  // --- recovery and the slave -------------------------------------------------
  // Applies an event decided elsewhere (replayed from the journal, or streamed by the
  // master) without appending it to the log. Messages applied this way are available
  // for dispatch exactly as if sent here.
  void apply(const Event& event);
  // Index-only recovery (store/recovery.h): applies a replayed enqueue or transaction
  // whose messages stay on disk — each send becomes a paged queue entry
  // (broker/page_store.h), exactly where apply() would have put the message. Needs a
  // page store (set_page_store) to read them back.
  void apply_indexed(const IndexedEnqueue& e);
  // After an index-only recovery: asks the page store for the head of every queue and
  // durable backlog that has paged messages (the read-ahead of paged_in: two batches),
  // as long as their estimated size (`bytes_per_message` each) fits under
  // kPageOutLowPercent of the limit, so the first consumer after a restart finds its
  // messages in memory instead of waiting for a read.
  void read_ahead_paged(std::uint64_t bytes_per_message);
  // Continues message-id numbering after recovery.
  void set_next_message_id(std::uint64_t next);
  std::uint64_t next_message_id() const;

  // --- replication (broker/snapshot.cc) ---------------------------------------
  // The current state as events that rebuild it in an empty broker (a slave's initial
  // sync): see broker/snapshot.h. Owns what it refers to, so the broker may change
  // while the snapshot is being sent.
  Snapshot take_snapshot() const;
  // The part of the current state a journal cannot supply, for a full copy read from
  // the master's journal (replication/journal_copy.h): the non-persistent messages held
  // (with their durable-backlog removals) and the duplicate-detection windows that hold
  // a non-persistent SEND's id. No destinations or durable subscriptions (the journal
  // has them all). Its size is that of the non-persistent state, never of the store.
  Snapshot take_memory_snapshot() const;
  // Whether take_snapshot() would hold a non-persistent message (a journal cannot carry
  // those: the replication link decides copy or catch-up on it). Walks the messages
  // without copying anything (the walk take_snapshot makes).
  bool holds_non_persistent() const;
  // A promoted slave: every message it holds may have been delivered by the old
  // master (which consumer held what is not mirrored), so each is flagged redelivered.
  // Returns the number of messages flagged.
  std::size_t mark_all_redelivered();

  EventLog& event_log() { return log_; }
  ReplyGate& reply_gate() { return gate_; }
  // Call after advancing a gate source: notifies each waiting client.
  void notify_released();

  // --- observation (status, tests) --------------------------------------------
  struct DestinationStats {
    std::string name;
    std::size_t depth = 0;       // messages waiting (not yet delivered)
    std::size_t inflight = 0;    // delivered, not yet acked
    std::size_t consumers = 0;
    std::uint64_t enqueued = 0;  // total accepted
    std::uint64_t dequeued = 0;  // total removed (acked, expired, dead-lettered)
    std::uint64_t duplicates_dropped = 0;  // SENDs dropped as duplicates (since start)
    std::uint64_t memory_used = 0;   // bytes held (broker/memory_usage.h)
    std::uint64_t memory_limit = 0;  // its memoryLimit; 0 = only the broker's
    std::uint64_t expired = 0;        // of dequeued: expired
    std::uint64_t dead_lettered = 0;  // of dequeued: moved to the dead-letter queue
    std::size_t producers = 0;        // attached connections that sent here
    bool topic = false;               // a topic (durable subscriptions' stores count as queues)
  };
  std::vector<DestinationStats> stats() const;
  struct DuplicateStats {
    std::size_t windows = 0;    // destinations with a duplicate-detection window
    std::size_t ids = 0;        // ids in them
    // Of those, ids of non-persistent SENDs: mirrored, never journaled, so a slave that
    // rebuilt its state from its own journal lacks them.
    std::size_t non_persistent_ids = 0;
    std::uint64_t dropped = 0;  // SENDs (and sends of COMMITs) dropped as duplicates since start
  };
  DuplicateStats duplicate_stats() const;
  // `destination`'s duplicate-detection window, oldest first (tests, verify tools).
  std::vector<std::string> duplicate_window(std::string_view destination) const;
  std::size_t connection_count() const;
  // Whether a SEND or SUBSCRIBE to `destination` would find it (false: it would create
  // it, which the STOMP connector's authorization counts as the admin right).
  bool destination_exists(std::string_view destination) const;
  // What one connection holds, for the per-connection limits the STOMP connector
  // enforces (stomp/session.h): live subscriptions, open transactions, and deliveries
  // not yet acknowledged (a transacted ACK counts until its COMMIT).
  struct ConnectionUsage {
    std::size_t subscriptions = 0;
    std::size_t transactions = 0;
    std::size_t unacked = 0;
  };
  ConnectionUsage usage(ConnId conn) const;

 private:
  Snapshot take_snapshot_of(bool memory_only) const;

  struct Impl;
  std::unique_ptr<Impl> impl_;
  EventLog log_;
  ReplyGate gate_{log_};
  std::vector<std::pair<Seq, std::function<void()>>> released_waiters_;  // when_released
};

// Key naming a durable subscription's backlog in events.
std::string durable_key(std::string_view client_id, std::string_view name);

}  // namespace twinmq::broker
