// broker/queue.h — Queue: the messages of one /queue/ destination (or of one durable
// topic subscription's backlog) that wait for a consumer, and the consumers that
// take them round-robin.
//
// Store layout: ten priority lanes (0..9), each a Ring of small entries kept sorted
// by message id. Ids are assigned in enqueue order (transacted sends get theirs at
// commit), so a lane normally only grows at the back and drains at the front; the
// sort order is what lets
//   - apply(MessageRemoved) on a slave / during recovery find a message by id with a
//     binary search instead of a scan or a per-message index, and
//   - a message returned by a consumer (NACK, detach) slot back in ahead of every
//     never-delivered message of its priority, in original order among returned ones.
// Messages that arrive out of id order (dead-lettered into a DLQ, keeping their id)
// are inserted at their id's place, so a DLQ is ordered by original send order.
//
// A removal from the middle (slave acks, expiry, dead-lettering) leaves a tombstone
// (entry with a null MessageRef: the message memory goes at once, 24 bytes stay);
// tombstones are popped when they reach the front and compacted away when they
// outnumber live entries, so removal is O(log n) amortised.
//
// "Ready" messages live in the lanes. A message handed to a consumer leaves the lanes
// and is only counted (inflight_) — the consumer's Subscription holds the reference.
// That is why apply(MessageRemoved) treats "not in the lanes" as "held by a consumer".
//
// Memory (broker/memory_usage.h): `memory` counts the ready messages in the lanes
// (push charges, take_front / remove_ready / drop_all release) and, through each
// consumer's Subscription, the deliveries they hold unacknowledged. A paged entry
// (broker/page_store.h) costs kPagedEntryBytes instead of its message's memory_cost.
//
// Lifecycle: owned by Broker::Impl (queues_ or durables_ map), destroyed only with no
// consumers attached. Loop thread only.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/broker.h"
#include "broker/memory_usage.h"
#include "broker/message.h"
#include "broker/ring.h"

namespace twinmq::broker {

class Subscription;
class PageStore;

// One ready message in a lane: resident (msg set), paged (msg null, `paged`: its
// headers and body are only in the journal; broker/page_store.h), or a tombstone (msg
// null, not paged: a removed message whose id is kept for the sort order). 24 bytes:
// what a paged message costs the queue (kPagedEntryBytes).
struct QueueEntry {
  MessageRef msg;
  std::uint64_t id = 0;
  std::uint32_t redelivery_count = 0;
  bool redelivered = false;
  bool paged = false;
  std::uint8_t priority = 0;  // of a paged entry (a resident one's is its message's)

  bool live() const { return msg || paged; }
};

static_assert(sizeof(QueueEntry) == 24);

struct ExpiredMessage {
  std::uint64_t id;
  bool persistent;
};

class Queue {
 public:
  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

  // What makes a Queue a durable subscription's backlog (null for a /queue/).
  struct Durable {
    std::string client_id;
    std::string name;
    std::string topic;
    Subscription* active = nullptr;  // at most one live consumer
  };

  Queue(std::string name, DestinationPolicy policy) : name_(std::move(name)), policy_(std::move(policy)) {}
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  const std::string& name() const { return name_; }
  const DestinationPolicy& policy() const { return policy_; }

  // --- the store ---------------------------------------------------------------
  // Adds a ready message at its id's place in its priority lane.
  void push(QueueEntry e);
  // The next message to dispatch (highest priority, lowest id), or null.
  QueueEntry* front();
  // Removes front() and counts it as held by a consumer. Its memory stays charged here:
  // the consumer's Subscription::adopt() takes it over, or the caller releases it.
  QueueEntry take_front();
  // A consumer gave a held message back (NACK, detach): ready again.
  void give_back(QueueEntry e);
  // Removes a ready message by id (tombstone). False if no ready message has that id.
  // A paged one comes out paged (out->paged, out->priority) with its expiry in
  // `*expires_ms` when asked.
  bool remove_ready(std::uint64_t id, QueueEntry* out, std::int64_t* expires_ms = nullptr);
  // Adds a paged message (its record is in the journal) at its id's place: what a
  // paged message becomes when it is dead-lettered.
  void push_paged(std::uint64_t id, std::uint8_t priority, std::int64_t expires_ms,
                  std::uint32_t redelivery_count, bool redelivered);
  // A held message left for good (acked, or moved on by its holder).
  bool release_held();
  // Drops every ready message (destination or durable subscription removed).
  void drop_all();
  // Visits every ready message (not tombstones; paged ones too, with a null msg), lane
  // by lane: `f(QueueEntry&)`. For the replication snapshot and promotion
  // (broker/snapshot.cc); `f` must not add or remove entries.
  template <class F>
  void for_each_ready(F&& f) {
    for (Lane& lane : lanes_)
      for (std::size_t i = 0; i < lane.ring.size(); ++i)
        if (lane.ring[i].live()) f(lane.ring[i]);
  }

  // Visits ready messages in the order dispatch would take them (highest priority
  // first, then by id) until `f(const QueueEntry&)` returns false: what an operator
  // browses, purges or moves (broker/admin_ops.cc) is what a consumer would get next.
  // `f` must not add or remove entries. Paged entries are visited too (null msg).
  template <class F>
  void visit_in_dispatch_order(F&& f) const {
    for (int p = kLanes - 1; p >= 0; --p) {
      const Lane& lane = lanes_[static_cast<std::size_t>(p)];
      for (std::size_t i = 0; i < lane.ring.size(); ++i)
        if (lane.ring[i].live() && !f(lane.ring[i])) return;
    }
  }

  // --- paging (broker/page_store.h, broker/paging.cc) ------------------------------
  // Pages resident ready messages out, from the lowest priorities, until `want` bytes
  // were freed: each one `store.can_page_out()` allows loses its message (headers and
  // body) and keeps a paged entry. Only a lane's resident run at the back is looked at:
  // the walk from the back stops at its first paged entry (what lies before it was
  // paged, or paged in on purpose: the messages about to be delivered). A run behind
  // paged entries is paged oldest first, so what stays resident stays at the back where
  // the next walk finds it; a lane with no paged entry newest first. Returns the bytes freed.
  std::uint64_t page_out(const PageStore& store, std::uint64_t want);
  // The ids of up to `max_ids` paged messages among the first `scan` ready messages in
  // dispatch order, appended to `ids`. Returns how many resident messages come before
  // the first paged one (the read-ahead that is already in memory).
  std::size_t collect_paged(std::size_t max_ids, std::size_t scan, std::vector<std::uint64_t>& ids) const;
  // A paged message read back: it becomes resident again, if it is still here and
  // still paged (false otherwise: removed meanwhile, or already back).
  bool fill_paged(MessageRef m);
  std::size_t paged() const { return paged_; }
  // A page-in request for this queue is out (at most one at a time).
  bool paging_in = false;
  // Its last page-in failed (a file compaction removed meanwhile): retried by tick().
  bool page_in_failed = false;

  std::size_t depth() const { return depth_; }
  std::size_t inflight() const { return inflight_; }
  std::uint64_t enqueued() const { return enqueued_; }
  std::uint64_t dequeued() const { return dequeued_; }
  // Of dequeued(): removed because they expired, and moved to the dead-letter queue.
  std::uint64_t expired() const { return expired_; }
  std::uint64_t dead_lettered() const { return dead_lettered_; }
  void count_enqueued() { ++enqueued_; }
  void count_dequeued() { ++dequeued_; }
  void count_expired() { ++expired_; }
  void count_dead_lettered() { ++dead_lettered_; }

  // --- expiry ------------------------------------------------------------------
  // Earliest expiry among ready messages (kNever if none expire); may be early, never late.
  std::int64_t next_expiry() const { return next_expiry_; }
  // Examines up to `budget` entries, continuing where the previous call stopped, and
  // appends expired ready messages to `out`. Returns the number examined.
  std::size_t collect_expired(std::int64_t now_ms, std::size_t budget,
                              std::vector<ExpiredMessage>& out);

  // --- consumers ---------------------------------------------------------------
  const std::vector<Subscription*>& consumers() const { return consumers_; }
  void add_consumer(Subscription* s) { consumers_.push_back(s); }
  void remove_consumer(Subscription* s);
  // Round-robin cursor over consumers(): the index to try first.
  std::size_t next_consumer() const { return rr_ < consumers_.size() ? rr_ : 0; }
  void consumer_served(std::size_t index) { rr_ = index + 1 < consumers_.size() ? index + 1 : 0; }

  // Set while the queue sits in Broker::Impl's dirty list.
  bool dirty = false;
  MemoryAccount memory;
  std::unique_ptr<Durable> durable;

 private:
  static constexpr int kLanes = 10;
  struct Lane {
    Ring<QueueEntry> ring;
    std::uint32_t live = 0;
    std::uint32_t tombstones = 0;
  };

  void pop_front_of(int lane);
  void maybe_compact(int lane);
  void note_expiry(std::int64_t expires_ms);
  void settle_removed_lane(int p);

  static constexpr std::size_t kPageOutScanBudget = 4096;

  std::string name_;
  DestinationPolicy policy_;
  std::array<Lane, kLanes> lanes_;
  std::uint32_t live_mask_ = 0;  // bit p set = lane p has live entries
  std::size_t depth_ = 0;
  std::size_t paged_ = 0;  // of depth_: paged entries
  // Of depth_: persistent messages in memory (what page_out could take; a queue of
  // non-persistent messages is not walked at all).
  std::size_t resident_persistent_ = 0;
  // The expiry of each paged message that has one (most have none: no entry).
  std::unordered_map<std::uint64_t, std::int64_t> paged_expiry_;
  std::size_t inflight_ = 0;
  std::uint64_t enqueued_ = 0;
  std::uint64_t dequeued_ = 0;
  std::uint64_t expired_ = 0;
  std::uint64_t dead_lettered_ = 0;

  std::int64_t next_expiry_ = kNever;
  // Sweep cursor (lane, index) and the earliest unexpired expiry seen by this pass;
  // every lane mutation keeps the cursor pointing at the same next entry.
  int sweep_lane_ = 0;
  std::size_t sweep_pos_ = 0;
  std::int64_t sweep_min_ = kNever;

  std::vector<Subscription*> consumers_;
  std::size_t rr_ = 0;
};

}  // namespace twinmq::broker
