// broker/duplicates.h — duplicate detection: the window of recent duplicate-detection
// ids per destination, which makes a SEND that a failover client re-sends stored once.
//
// DESIGN (README "Failover clients" → "Duplicate detection")
//  - A SEND may carry `_AMQ_DUPL_ID` (ActiveMQ Artemis's header, so clients written for
//    Artemis work unchanged): an opaque value of at most kMaxDuplicateIdBytes bytes,
//    scoped to the destination it is sent to. A SEND whose id is in its destination's
//    window is dropped and answered as if it were new (Broker::send, broker.cc); inside
//    a transaction the check is made at COMMIT, which drops such sends and commits the
//    rest (transaction.cc).
//  - The window of a destination holds its last N ids, N = the policy's `idCacheSize`
//    when each id entered it (default kDefaultIdCacheSize; 0 = no window). The oldest id
//    is evicted first. Every id is entered on the apply side only (apply.cc), from the
//    event that carries it — the message of a MessageEnqueued or a TransactionCommitted
//    (its `_AMQ_DUPL_ID` header, and Message::id_cache_size() for N), or a
//    DuplicateIdsRecorded (topic sends that no durable subscription keeps, journal
//    checkpoints, a slave's initial sync) — so a slave and a recovered broker rebuild
//    the window the master had. Which window size applied is decided once, by the
//    master, and travels with the id: a slave or a restarted broker with another
//    `idCacheSize` still rebuilds the same window.
//  - The journal keeps the ids of persistent messages (the messages' own records, and
//    in a checkpoint the windows as DuplicateIdsRecorded records, store/live_set.h), so
//    an id outlives its message: a message consumed, acknowledged and compacted away is
//    still known while its id is in the window.
//
// THE TRICKY PART: an id already in a window is never entered again (it keeps its
// place). On the deciding broker that cannot happen (such a SEND is dropped), but
// replays meet ids twice: a checkpoint replays its live messages (whose ids enter the
// window) and then the windows themselves as `replace` records, which set each window
// to exactly what it was. Both the broker and the journal's LiveSet follow this rule,
// so what one rebuilds the other plans.
//
// Memory: a 64-byte slot per id (its bytes inline up to 48, in a std::string beyond),
// plus 8 to 13 bytes of index; 20,000 ids are about 1.5 MB per destination, allocated as
// the window fills and then reused, so a full window stops allocating. The journal's
// LiveSet keeps a second copy of the windows' persistent ids.
//
// Lifecycle: DuplicateIds is owned by Broker::Impl (all ids) and by store::LiveSet
// (the persistent ones); windows live until their destination is removed. Loop thread
// only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/event.h"
#include "broker/string_map.h"

namespace twinmq::broker {

// The SEND header that carries a duplicate-detection id (ActiveMQ Artemis's name).
inline constexpr std::string_view kDuplicateIdHeader = "_AMQ_DUPL_ID";
// Longest id accepted; a longer one is refused with an ERROR naming this limit.
inline constexpr std::size_t kMaxDuplicateIdBytes = 256;
// idCacheSize: the policy's default, and the largest value the configuration accepts.
inline constexpr std::uint32_t kDefaultIdCacheSize = 20000;
inline constexpr std::uint32_t kMaxIdCacheSize = 1000000;
// A window is written (checkpoint, initial sync) as DuplicateIdsRecorded events of at
// most this many ids each (about 1 MiB at the longest ids): no event comes near the
// journal's or the link's size limits, whatever idCacheSize says.
inline constexpr std::size_t kDuplicateIdsPerEvent = 4096;

// The first `_AMQ_DUPL_ID` among `headers` (HeaderView-like: .name, .value); empty if
// there is none or it is empty (an empty id means no duplicate detection).
template <class Headers>
std::string_view find_duplicate_id(const Headers& headers) {
  for (const auto& h : headers)
    if (h.name.size() == kDuplicateIdHeader.size() && h.name == kDuplicateIdHeader) return h.value;
  return {};
}

// One destination's window: at most capacity() ids, oldest first.
// A FIFO ring of slots plus an open-addressing index (linear probing, backward-shift
// deletion) of slot numbers: no allocation per id once the ring is full. Each index
// entry also holds 32 bits of its id's hash, so probing and deleting touch only the
// index (a window is larger than the CPU caches: every pointer followed is a miss).
class DuplicateWindow {
 public:
  explicit DuplicateWindow(std::uint32_t capacity) : capacity_(capacity) {}

  std::uint32_t capacity() const { return capacity_; }
  std::size_t size() const { return slots_.size(); }
  // Bytes of the ids (without per-id overhead).
  std::size_t id_bytes() const { return id_bytes_; }
  // Ids of non-persistent SENDs (the journal does not have them).
  std::size_t non_persistent() const { return non_persistent_; }
  bool contains(std::string_view id) const;

  // Enters `id` at the newest end, evicting the oldest beyond capacity(). An id that is
  // already in the window keeps its place: false.
  bool insert(std::string_view id, bool persistent);
  // A smaller capacity evicts the oldest ids at once.
  void set_capacity(std::uint32_t capacity);
  void clear();

  // Oldest first: f(std::string_view id, bool persistent).
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      const std::size_t slot = (head_ + i) % slots_.size();
      f(id_of(slot), slots_[slot].persistent);
    }
  }

  // SENDs dropped because their id was here (observation only; not replicated).
  std::uint64_t dropped() const { return dropped_; }
  void count_dropped() { ++dropped_; }

 private:
  // One cache line per id: its hash, and its bytes when they fit (the common case;
  // a longer id lives in long_ids_ at the same position).
  static constexpr std::size_t kInline = 48;
  struct alignas(64) Slot {
    std::size_t hash = 0;
    std::uint32_t size = 0;
    bool persistent = false;
    char bytes[kInline];
  };
  static_assert(sizeof(Slot) == 64);
  std::string_view id_of(std::size_t slot) const {
    const Slot& s = slots_[slot];
    return s.size <= kInline ? std::string_view(s.bytes, s.size) : std::string_view(long_ids_[slot]);
  }
  void store(std::size_t slot, std::string_view id, std::size_t hash, bool persistent);
  // An index entry: the low 32 bits of the id's hash << 32 | slot number + 1; 0 = empty.
  static constexpr std::uint64_t kEmpty = 0;
  static std::uint64_t entry(std::size_t hash, std::uint32_t slot) {
    return (hash & 0xFFFFFFFFu) << 32 | (std::uint64_t{slot} + 1);
  }

  std::size_t find_bucket(std::string_view id, std::size_t hash) const;  // bucket or npos
  std::size_t bucket_of_slot(std::uint32_t slot) const;
  void prefetch_eviction() const;
  void index_insert(std::uint32_t slot);
  void index_erase(std::size_t bucket);
  void grow_index();
  void evict_oldest();

  std::uint32_t capacity_;
  std::vector<Slot> slots_;       // a ring once full: head_ is the oldest
  std::size_t head_ = 0;
  std::vector<std::string> long_ids_;  // ids longer than kInline, by slot (empty until one comes)
  std::vector<std::uint64_t> index_;   // power of two, at most 5/8 full
  std::size_t id_bytes_ = 0;
  std::size_t non_persistent_ = 0;
  std::uint64_t dropped_ = 0;
};

// Every destination's window.
class DuplicateIds {
 public:
  const DuplicateWindow* find(std::string_view destination) const;
  DuplicateWindow* find(std::string_view destination);
  bool contains(std::string_view destination, std::string_view id) const {
    const DuplicateWindow* w = find(destination);
    return w != nullptr && w->contains(id);
  }

  // Enters `id` into `destination`'s window (made if absent), first resizing the window
  // to `capacity` (the size the deciding broker used). capacity 0 does nothing.
  void record(std::string_view destination, std::string_view id, std::uint32_t capacity, bool persistent);
  // Applies a DuplicateIdsRecorded: `replace` empties the window first. Ids not marked
  // persistent are skipped with `persistent_only` (the journal's copy).
  void apply(const DuplicateIdsRecorded& e, bool persistent_only = false);
  // The destination went away: its window goes with it.
  void erase(std::string_view destination);

  // f(std::string_view destination, const DuplicateWindow&), in no particular order.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [name, w] : windows_) f(std::string_view(name), *w);
  }
  std::size_t windows() const { return windows_.size(); }
  std::size_t ids() const { return ids_; }
  // Bytes of every id (without per-id overhead).
  std::size_t id_bytes() const { return id_bytes_; }
  // Ids of non-persistent SENDs: a store that holds only the journal's persistent ones
  // (a slave restarted from its journal) lacks these.
  std::size_t non_persistent_ids() const { return non_persistent_; }

  // A SEND (or a send of a COMMIT) to `destination` was dropped as a duplicate.
  void count_dropped(std::string_view destination);
  std::uint64_t dropped() const { return dropped_; }

 private:
  DuplicateWindow& window(std::string_view destination, std::uint32_t capacity);
  // Keeps the totals in step with a change of `w`: call with the window as it was
  // before (Counts) and as it is after.
  struct Counts {
    std::size_t ids = 0, bytes = 0, non_persistent = 0;
  };
  static Counts counts(const DuplicateWindow& w) { return {w.size(), w.id_bytes(), w.non_persistent()}; }
  void account(Counts before, Counts after);

  StringMap<std::unique_ptr<DuplicateWindow>> windows_;
  // The window found last (a SEND looks its destination up twice: check, then apply).
  mutable std::string_view last_name_;
  mutable DuplicateWindow* last_ = nullptr;
  std::size_t ids_ = 0;
  std::size_t id_bytes_ = 0;
  std::size_t non_persistent_ = 0;
  std::uint64_t dropped_ = 0;
};

// The DuplicateIdsRecorded events that set `destination`'s window to `w` (a checkpoint,
// a snapshot): chunks of at most kDuplicateIdsPerEvent ids, the first with `replace`.
// f(const DuplicateIdsRecorded&) is called per chunk; `scratch` holds the views.
template <class F>
void window_events(std::string_view destination, const DuplicateWindow& w, bool persistent_only,
                   std::vector<DuplicateId>& scratch, F&& f) {
  bool first = true;
  auto emit = [&] {
    f(DuplicateIdsRecorded{destination, scratch, w.capacity(), first, true});
    first = false;
    scratch.clear();
  };
  scratch.clear();
  w.for_each([&](std::string_view id, bool persistent) {
    if (persistent_only && !persistent) return;
    scratch.push_back(DuplicateId{id, persistent});
    if (scratch.size() == kDuplicateIdsPerEvent) emit();
  });
  if (!scratch.empty() || first) emit();
}

}  // namespace twinmq::broker
