// store/id_table.h — IdTable<V>: the journal's per-message index (store/live_set.h),
// a table keyed by message id with no heap node per entry.
//
// WHY NOT A HASH MAP: std::unordered_map costs a 16-byte node header, a bucket slot and
// malloc's rounding on top of each entry — about 72 bytes for the LiveSet's 40 — and a
// restart with millions of queued messages pays it for every one. Message ids are
// assigned in increasing order (transacted sends get theirs at commit), and the index
// sees them in that order (the journal's records, a checkpoint's records, a slave's
// stream: all in seq order), so the entries can simply be appended to an array that
// stays sorted by id:
//   - lookup: the front and the back are checked first (a queue consumed in order
//     removes its oldest message; a new message is the newest), else a galloping
//     search from the front (O(log distance): page-ins and acks are near it);
//   - removal: the slot becomes a tombstone (`V::vacant()`); tombstones at the front
//     are dropped at once (a queue drained in order frees its chunks as it goes), and
//     the whole array is compacted when tombstones outnumber live entries and exceed a
//     chunk, so removal is O(log n) amortised and the array never holds more than
//     about twice the live entries;
//   - storage: chunks of kChunk slots, so growing never copies the array or doubles
//     its memory, and a drained front gives its chunks back.
// An id smaller than the newest one (not produced by this broker; kept for safety: a
// damaged or hand-made log) goes to a small hash map on the side, `strays_`.
//
// Per entry: sizeof(Slot) = 8 + sizeof(V), plus at most one partly filled chunk.
//
// Lifecycle: owned by value (LiveSet). Loop thread only, like its owner.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

namespace twinmq::store {

// V: trivially copyable, with `bool vacant() const` (a tombstone) and `void vacate()`.
template <class V>
class IdTable {
 public:
  static constexpr std::size_t kChunkBits = 12;
  static constexpr std::size_t kChunk = std::size_t{1} << kChunkBits;  // slots per chunk

  struct Slot {
    std::uint64_t id;
    V value;
  };

  std::size_t size() const { return live_ + strays_.size(); }
  bool contains(std::uint64_t id) const { return find(id) != nullptr; }

  V* find(std::uint64_t id) { return const_cast<V*>(std::as_const(*this).find(id)); }
  const V* find(std::uint64_t id) const {
    if (!strays_.empty()) {
      if (auto it = strays_.find(id); it != strays_.end()) return &it->second;
    }
    const std::size_t i = index_of(id);
    return i == kAbsent ? nullptr : &at(i).value;
  }

  // Adds `id` (absent: the caller checked). In order: appended; older than the newest: a stray.
  void insert(std::uint64_t id, const V& v) {
    if (used_ != 0 && id <= at(used_ - 1).id) {
      strays_.emplace(id, v);
      return;
    }
    const std::size_t pos = head_ + used_;
    if ((pos >> kChunkBits) == chunks_.size()) chunks_.push_back(std::make_unique<Slot[]>(kChunk));
    chunks_[pos >> kChunkBits][pos & (kChunk - 1)] = Slot{id, v};
    ++used_;
    ++live_;
  }

  // Removes `id` (present).
  void erase(std::uint64_t id) {
    if (!strays_.empty() && strays_.erase(id) != 0) return;
    const std::size_t i = index_of(id);
    if (i == kAbsent) return;
    at(i).value.vacate();
    --live_;
    drop_vacant_ends();
    if (used_ - live_ > kChunk && used_ - live_ > live_) compact();
  }

  // Visits every entry: f(id, V&). `f` must not insert or erase.
  template <class F>
  void for_each(F&& f) {
    for (std::size_t i = 0; i < used_; ++i) {
      Slot& s = at(i);
      if (!s.value.vacant()) f(s.id, s.value);
    }
    for (auto& [id, v] : strays_) f(id, v);
  }
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < used_; ++i) {
      const Slot& s = at(i);
      if (!s.value.vacant()) f(s.id, s.value);
    }
    for (const auto& [id, v] : strays_) f(id, v);
  }

  // Heap bytes held (the chunks and the strays' map, roughly), for measurements.
  std::size_t memory_bytes() const {
    return chunks_.size() * kChunk * sizeof(Slot) + chunks_.capacity() * sizeof(void*) +
           strays_.size() * (sizeof(V) + 32) + strays_.bucket_count() * sizeof(void*);
  }

 private:
  static constexpr std::size_t kAbsent = ~std::size_t{0};

  Slot& at(std::size_t i) {
    const std::size_t pos = head_ + i;
    return chunks_[pos >> kChunkBits][pos & (kChunk - 1)];
  }
  const Slot& at(std::size_t i) const {
    const std::size_t pos = head_ + i;
    return chunks_[pos >> kChunkBits][pos & (kChunk - 1)];
  }

  // Index of the live slot holding `id`, or kAbsent.
  std::size_t index_of(std::uint64_t id) const {
    if (used_ == 0 || id < at(0).id || id > at(used_ - 1).id) return kAbsent;
    std::size_t i;
    if (at(0).id == id) {
      i = 0;
    } else if (at(used_ - 1).id == id) {
      i = used_ - 1;
    } else {
      // Galloping from the front, then a binary search: the ids looked up are mostly
      // near the front (the heads of queues: acks, page-ins), where this touches a few
      // neighbouring cache lines instead of the middle of a million-entry array.
      std::size_t hi = 1;
      while (hi < used_ && at(hi).id < id) hi *= 2;
      std::size_t lo = hi / 2, n = std::min(hi, used_ - 1) - lo + 1;
      while (n > 0) {
        const std::size_t half = n / 2;
        if (at(lo + half).id < id) {
          lo += half + 1;
          n -= half + 1;
        } else {
          n = half;
        }
      }
      if (lo == used_ || at(lo).id != id) return kAbsent;
      i = lo;
    }
    return at(i).value.vacant() ? kAbsent : i;
  }

  void drop_vacant_ends() {
    while (used_ != 0 && at(0).value.vacant()) {
      ++head_;
      --used_;
      if (head_ == kChunk) {
        chunks_.erase(chunks_.begin());
        head_ = 0;
      }
    }
    while (used_ != 0 && at(used_ - 1).value.vacant()) --used_;
    if (used_ == 0) {
      head_ = 0;
      chunks_.clear();
    } else {
      chunks_.resize(((head_ + used_ - 1) >> kChunkBits) + 1);
    }
  }

  void compact() {
    std::vector<std::unique_ptr<Slot[]>> out;
    std::size_t n = 0;
    for (std::size_t i = 0; i < used_; ++i) {
      const Slot& s = at(i);
      if (s.value.vacant()) continue;
      if ((n >> kChunkBits) == out.size()) out.push_back(std::make_unique<Slot[]>(kChunk));
      out[n >> kChunkBits][n & (kChunk - 1)] = s;
      ++n;
    }
    chunks_ = std::move(out);
    head_ = 0;
    used_ = n;
  }

  std::vector<std::unique_ptr<Slot[]>> chunks_;
  std::size_t head_ = 0;  // slot 0 is chunks_[0][head_]
  std::size_t used_ = 0;  // slots from slot 0 on, tombstones included
  std::size_t live_ = 0;  // of used_: not vacant
  std::unordered_map<std::uint64_t, V> strays_;
};

}  // namespace twinmq::store
