// broker/page_store.h — where paged messages are (the journal), as the broker sees it.
//
// DESIGN (README "Memory, store limits and producer flow control", ARCHITECTURE "Paging")
//  - A persistent ready message of a queue or durable-subscription backlog may leave
//    memory once its record is durable: its QueueEntry (broker/queue.h) keeps the id,
//    priority, redelivery count and flag (24 bytes; the expiry, when it has one, in a
//    side table) and drops the message (headers and body). It is then "paged".
//  - When: the broker pages out (Broker::Impl::page_out, broker/paging.cc) whenever
//    memory passes kPageOutHighPercent of its limit (the broker's memoryUsage, or a
//    destination's own memoryLimit), down to kPageOutLowPercent: each time a journal
//    batch becomes durable (the journal calls Broker::page_out), at every tick, and
//    every 1,024 records during a recovery that decodes bodies. So a producer is
//    flow-controlled only by what is not yet on disk, and a backlog grows with the
//    disk, not with memory.
//  - Restart: with a memoryUsage limit the journal recovers index-only
//    (store/recovery.h): Broker::apply_indexed makes each stored message a paged entry
//    straight from its record, no body read; then Broker::read_ahead_paged asks for each
//    queue's head (two batches, while their estimated size fits under
//    kPageOutLowPercent), so the first consumers need not wait for the disk.
//  - Which: the back of each queue's lowest priority lanes first (the messages that will
//    be delivered last), never the next ones to be delivered.
//  - Page-in: dispatch that meets a paged message at the front of a queue with a
//    consumer ready asks the PageStore for the next batch (kPageInBatch paged ids in
//    dispatch order) and stops; the answer (Broker::paged_in) fills the entries and
//    dispatch goes on; the next batch is asked for at once while fewer than two batches
//    are in memory ahead of the consumers (read-ahead: one batch is read while the other
//    is delivered). One request per queue at a time.
//  - The PageStore (store/page_reader.h, the journal's) finds each id's record through
//    the journal's index, which compaction keeps up to date on the loop thread, and
//    reads it on a reader thread: the loop never reads the disk. A message that could
//    not be read (its file removed by a compaction between the lookup and the read)
//    comes back null and stays paged; tick() asks again.
//  - Non-persistent messages are never paged: past the limit their producers wait
//    (producer flow control), as before. No tempUsage spill store.
//
// Lifecycle: implemented by store::Journal, which outlives the broker's use of it
// (Runtime clears it with set_page_store(nullptr) before the journal goes). Loop thread.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace twinmq::broker {

class PageStore {
 public:
  // Whether message `id` may leave memory: its record is durable and the store can
  // find it again.
  virtual bool can_page_out(std::uint64_t id) const = 0;
  // Reads the messages `ids` of `queue` back, later; the answer comes through
  // Broker::paged_in(queue, ids, messages) on the loop thread, ids in the same order.
  virtual void page_in(std::string_view queue, std::span<const std::uint64_t> ids) = 0;

 protected:
  ~PageStore() = default;
};

// Memory use (of the limit, in percent) above which the broker pages out, and to which.
inline constexpr std::uint64_t kPageOutHighPercent = 70;
inline constexpr std::uint64_t kPageOutLowPercent = 50;
// Paged messages asked for per page-in request, and how far ahead in dispatch order a
// request looks for them.
inline constexpr std::size_t kPageInBatch = 1024;
inline constexpr std::size_t kPageInScan = 4 * kPageInBatch;

}  // namespace twinmq::broker
