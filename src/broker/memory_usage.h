// broker/memory_usage.h — what the broker holds for messages, counted (ActiveMQ's
// memoryUsage and per-destination memoryLimit; README "Memory, store limits and
// producer flow control").
//
// DESIGN
//  - A message costs memory_cost(): its one allocation (fixed fields, id text,
//    destination, headers, body: Message::footprint) plus one index entry (the queue
//    lane slot, the subscriber's unacked slot or the pending-list slot that refers to
//    it). A message shared by several holders (a topic message fanned out to durable
//    backlogs and subscribers) is counted once per holder: an over-estimate, never an
//    under-estimate.
//  - Each holder has a MemoryAccount: a Queue (its ready lanes plus what its consumers
//    hold unacknowledged), a durable subscription's backlog (a Queue too) and a Topic
//    (what its non-durable subscribers hold and have pending). Every account also
//    moves the broker-wide total, so both are exact at every moment and cost two
//    additions per change: no scans.
//  - Charging never fails: limits are checked only where the broker decides to accept
//    a SEND or COMMIT (broker.cc). apply() — recovery and the slave — only counts, so
//    a slave never refuses what its master accepted.
//  - A release marks the total `freed`; the broker then tells producers waiting for
//    room (Broker::wait_for_room) once, at the end of the call that freed it.
//
// Lifecycle: a MemoryAccount lives inside its holder and gives back what it still
// counts when destroyed; the total lives in Broker::Impl and outlives every account.
// Loop thread only.
#pragma once

#include <cstdint>

#include "base/assert.h"
#include "broker/message.h"

namespace twinmq::broker {

// One index entry that refers to a message (QueueEntry, Unacked or a pending slot,
// rounded up): counted with every held message.
inline constexpr std::uint64_t kIndexEntryBytes = 40;

// A paged message (broker/page_store.h): only its queue entry stays in memory.
inline constexpr std::uint64_t kPagedEntryBytes = 24;

inline std::uint64_t memory_cost(const Message& m) { return m.footprint() + kIndexEntryBytes; }

struct MemoryUsage {
  std::uint64_t used = 0;
  std::uint64_t limit = 0;  // 0 = unlimited
  bool freed = false;       // something was released since the broker last looked
  bool full() const { return limit != 0 && used >= limit; }
};

class MemoryAccount {
 public:
  MemoryAccount() = default;
  MemoryAccount(const MemoryAccount&) = delete;
  MemoryAccount& operator=(const MemoryAccount&) = delete;
  ~MemoryAccount() { release(own_.used); }

  // Where this account's changes also go, and its own limit (0 = none). Set once,
  // before anything is charged.
  void bind(MemoryUsage* total, std::uint64_t limit) {
    TWINMQ_ASSERT(own_.used == 0, "binding a memory account that already counts bytes");
    total_ = total;
    own_.limit = limit;
  }
  void charge(std::uint64_t bytes) {
    own_.used += bytes;
    if (total_ != nullptr) total_->used += bytes;
  }
  void release(std::uint64_t bytes) {
    TWINMQ_ASSERT(own_.used >= bytes, "releasing more memory than the account holds");
    own_.used -= bytes;
    if (total_ != nullptr && bytes != 0) {
      total_->used -= bytes;
      total_->freed = true;
    }
  }
  std::uint64_t used() const { return own_.used; }
  std::uint64_t limit() const { return own_.limit; }
  bool full() const { return own_.full(); }

 private:
  MemoryUsage own_;
  MemoryUsage* total_ = nullptr;
};

}  // namespace twinmq::broker
