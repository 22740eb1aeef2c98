// broker/duplicates.cc — the duplicate-detection window (design comment in
// broker/duplicates.h).
//
// DuplicateWindow keeps its ids in `slots_`, one cache line each: while the window
// fills, slots are appended (head_ stays 0); once it holds capacity() ids it is a ring,
// and entering an id evicts the slot at head_ and reuses it. The index maps an id to its
// slot: open addressing with linear probing over a power-of-two table at most 5/8 full,
// so a lookup is a hash and usually one cache line of index; an entry carries part of
// the hash, so a probe that does not match reads no slot. A window is a few MB that the
// rest of the broker's work keeps pushing out of the caches: entering an id costs about
// two cache misses (its own index line, and the evicted id's).
// Eviction deletes by backward shift (no tombstones, so probe runs stay short however
// long the window turns over).
#include "broker/duplicates.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace twinmq::broker {

namespace {

std::size_t hash_of(std::string_view id) { return std::hash<std::string_view>{}(id); }

constexpr std::size_t kNotFound = static_cast<std::size_t>(-1);

}  // namespace

// --- DuplicateWindow --------------------------------------------------------------

std::size_t DuplicateWindow::find_bucket(std::string_view id, std::size_t hash) const {
  if (index_.empty()) return kNotFound;
  const std::size_t mask = index_.size() - 1;
  const std::uint64_t tag = hash & 0xFFFFFFFFu;
  for (std::size_t b = hash & mask;; b = (b + 1) & mask) {
    const std::uint64_t v = index_[b];
    if (v == kEmpty) return kNotFound;
    if ((v >> 32) != tag) continue;
    const std::size_t slot = (v & 0xFFFFFFFFu) - 1;
    if (slots_[slot].hash == hash && id_of(slot) == id) return b;
  }
}

std::size_t DuplicateWindow::bucket_of_slot(std::uint32_t slot) const {
  const std::size_t mask = index_.size() - 1;
  const std::uint64_t want = entry(slots_[slot].hash, slot);
  for (std::size_t b = slots_[slot].hash & mask;; b = (b + 1) & mask)
    if (index_[b] == want) return b;
}

void DuplicateWindow::prefetch_eviction() const {
  // Entering the next id evicts the oldest: start loading its index line now, so that
  // its miss overlaps the new id's own (each is likely a miss: see above).
  if (slots_.size() == capacity_ && !index_.empty())
    __builtin_prefetch(&index_[slots_[head_].hash & (index_.size() - 1)], 1);
}

bool DuplicateWindow::contains(std::string_view id) const {
  prefetch_eviction();  // a SEND that is not a duplicate enters its id next
  return find_bucket(id, hash_of(id)) != kNotFound;
}

void DuplicateWindow::index_insert(std::uint32_t slot) {
  const std::size_t mask = index_.size() - 1;
  std::size_t b = slots_[slot].hash & mask;
  while (index_[b] != kEmpty) b = (b + 1) & mask;
  index_[b] = entry(slots_[slot].hash, slot);
}

void DuplicateWindow::index_erase(std::size_t bucket) {
  // Backward shift: move later members of the probe run into the hole when their home
  // bucket does not lie (cyclically) between the hole and them.
  const std::size_t mask = index_.size() - 1;
  std::size_t hole = bucket;
  for (std::size_t b = (hole + 1) & mask;; b = (b + 1) & mask) {
    const std::uint64_t v = index_[b];
    if (v == kEmpty) break;
    const std::size_t home = (v >> 32) & mask;  // the hash's low bits chose the home bucket
    if (((b - home) & mask) >= ((b - hole) & mask)) {
      index_[hole] = v;
      hole = b;
    }
  }
  index_[hole] = kEmpty;
}

void DuplicateWindow::store(std::size_t slot, std::string_view id, std::size_t hash, bool persistent) {
  Slot& s = slots_[slot];
  s.hash = hash;
  s.size = static_cast<std::uint32_t>(id.size());
  s.persistent = persistent;
  if (id.size() <= kInline) {
    std::memcpy(s.bytes, id.data(), id.size());
    if (!long_ids_.empty()) long_ids_[slot].clear();
  } else {
    if (long_ids_.size() < slots_.size()) long_ids_.resize(std::max<std::size_t>(slots_.size(), capacity_));
    long_ids_[slot].assign(id);  // reuses the buffer of the id that was there
  }
}

void DuplicateWindow::grow_index() {
  std::size_t n = index_.empty() ? 16 : index_.size() * 2;
  index_.assign(n, kEmpty);
  for (std::uint32_t s = 0; s < slots_.size(); ++s) index_insert(s);
}

void DuplicateWindow::evict_oldest() {
  const Slot& s = slots_[head_];
  index_erase(bucket_of_slot(static_cast<std::uint32_t>(head_)));
  id_bytes_ -= s.size;
  if (!s.persistent) --non_persistent_;
}

bool DuplicateWindow::insert(std::string_view id, bool persistent) {
  if (capacity_ == 0) return false;
  prefetch_eviction();
  const std::size_t hash = hash_of(id);
  if (find_bucket(id, hash) != kNotFound) return false;
  std::uint32_t slot;
  if (slots_.size() < capacity_) {
    // Filling: append (the ring is still in order from slot 0).
    if ((slots_.size() + 1) * 8 > index_.size() * 5) grow_index();
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    evict_oldest();
    slot = static_cast<std::uint32_t>(head_);
    head_ = (head_ + 1) % slots_.size();
  }
  store(slot, id, hash, persistent);
  id_bytes_ += id.size();
  if (!persistent) ++non_persistent_;
  index_insert(slot);
  return true;
}

void DuplicateWindow::set_capacity(std::uint32_t capacity) {
  if (capacity == capacity_) return;
  // Rare (the policy changed, or a replayed window has another size): straighten the
  // ring, keep the newest `capacity` ids, rebuild the index.
  std::vector<Slot> ordered;
  std::vector<std::string> ordered_long;
  const std::size_t keep = std::min<std::size_t>(slots_.size(), capacity);
  ordered.reserve(keep);
  for (std::size_t i = slots_.size() - keep; i < slots_.size(); ++i) {
    const std::size_t from = (head_ + i) % slots_.size();
    ordered.push_back(slots_[from]);
    if (!long_ids_.empty()) {
      ordered_long.resize(ordered.size());
      ordered_long.back() = std::move(long_ids_[from]);
    }
  }
  slots_ = std::move(ordered);
  long_ids_ = std::move(ordered_long);
  head_ = 0;
  capacity_ = capacity;
  id_bytes_ = 0;
  non_persistent_ = 0;
  for (const Slot& s : slots_) {
    id_bytes_ += s.size;
    if (!s.persistent) ++non_persistent_;
  }
  index_.clear();
  if (!slots_.empty()) {
    std::size_t n = 16;
    while (n * 5 < (slots_.size() + 1) * 8) n *= 2;
    index_.assign(n, kEmpty);
    for (std::uint32_t s = 0; s < slots_.size(); ++s) index_insert(s);
  }
}

void DuplicateWindow::clear() {
  slots_.clear();
  long_ids_.clear();
  head_ = 0;
  index_.clear();
  id_bytes_ = 0;
  non_persistent_ = 0;
}

// --- DuplicateIds -----------------------------------------------------------------

const DuplicateWindow* DuplicateIds::find(std::string_view destination) const {
  if (last_ != nullptr && destination == last_name_) return last_;
  auto it = windows_.find(destination);
  if (it == windows_.end()) return nullptr;
  last_name_ = it->first;  // a view of the map's key: valid until the window is erased
  last_ = it->second.get();
  return last_;
}

DuplicateWindow* DuplicateIds::find(std::string_view destination) {
  return const_cast<DuplicateWindow*>(static_cast<const DuplicateIds&>(*this).find(destination));
}

DuplicateWindow& DuplicateIds::window(std::string_view destination, std::uint32_t capacity) {
  if (DuplicateWindow* w = find(destination)) return *w;
  auto it = windows_.emplace(std::string(destination), std::make_unique<DuplicateWindow>(capacity)).first;
  last_name_ = it->first;
  last_ = it->second.get();
  return *last_;
}

void DuplicateIds::account(Counts before, Counts after) {
  ids_ = ids_ - before.ids + after.ids;
  id_bytes_ = id_bytes_ - before.bytes + after.bytes;
  non_persistent_ = non_persistent_ - before.non_persistent + after.non_persistent;
}

void DuplicateIds::record(std::string_view destination, std::string_view id, std::uint32_t capacity,
                          bool persistent) {
  if (capacity == 0 || id.empty()) return;
  DuplicateWindow& w = window(destination, capacity);
  const Counts before = counts(w);
  w.set_capacity(capacity);
  w.insert(id, persistent);
  account(before, counts(w));
}

void DuplicateIds::apply(const DuplicateIdsRecorded& e, bool persistent_only) {
  if (e.id_cache_size == 0) {
    if (e.replace) erase(e.destination);
    return;
  }
  DuplicateWindow& w = window(e.destination, e.id_cache_size);
  const Counts before = counts(w);
  if (e.replace) w.clear();
  w.set_capacity(e.id_cache_size);
  for (const DuplicateId& d : e.ids) {
    if (persistent_only && !d.persistent) continue;
    if (!d.id.empty()) w.insert(d.id, d.persistent);
  }
  account(before, counts(w));
}

void DuplicateIds::erase(std::string_view destination) {
  auto it = windows_.find(destination);
  if (it == windows_.end()) return;
  account(counts(*it->second), Counts{});
  if (last_ == it->second.get()) last_ = nullptr;
  windows_.erase(it);
}

void DuplicateIds::count_dropped(std::string_view destination) {
  ++dropped_;
  if (DuplicateWindow* w = find(destination)) w->count_dropped();
}

}  // namespace twinmq::broker
