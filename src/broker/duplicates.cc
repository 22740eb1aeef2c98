// broker/duplicates.cc — the duplicate-detection window (design comment in
// broker/duplicates.h).
//
// DuplicateWindow keeps its ids in `slots_`: while the window fills, slots are
// appended (head_ stays 0); once it holds capacity() ids it is a ring, and entering an
// id evicts the slot at head_ and reuses it (its std::string keeps its buffer). The
// index maps an id to its slot: open addressing with linear probing over a power-of-two
// table at most half full, so a lookup is a hash and usually one or two probes.
// Eviction deletes by backward shift (no tombstones, so probe runs stay short however
// long the window turns over).
#include "broker/duplicates.h"

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
  for (std::size_t b = hash & mask;; b = (b + 1) & mask) {
    const std::uint32_t v = index_[b];
    if (v == kEmpty) return kNotFound;
    const Slot& s = slots_[v - 1];
    if (s.hash == hash && s.id == id) return b;
  }
}

bool DuplicateWindow::contains(std::string_view id) const { return find_bucket(id, hash_of(id)) != kNotFound; }

void DuplicateWindow::index_insert(std::uint32_t slot) {
  const std::size_t mask = index_.size() - 1;
  std::size_t b = slots_[slot].hash & mask;
  while (index_[b] != kEmpty) b = (b + 1) & mask;
  index_[b] = slot + 1;
}

void DuplicateWindow::index_erase(std::size_t bucket) {
  // Backward shift: move later members of the probe run into the hole when their home
  // bucket does not lie (cyclically) between the hole and them.
  const std::size_t mask = index_.size() - 1;
  std::size_t hole = bucket;
  for (std::size_t b = (hole + 1) & mask;; b = (b + 1) & mask) {
    const std::uint32_t v = index_[b];
    if (v == kEmpty) break;
    const std::size_t home = slots_[v - 1].hash & mask;
    if (((b - home) & mask) >= ((b - hole) & mask)) {
      index_[hole] = v;
      hole = b;
    }
  }
  index_[hole] = kEmpty;
}

void DuplicateWindow::grow_index() {
  std::size_t n = index_.empty() ? 16 : index_.size() * 2;
  index_.assign(n, kEmpty);
  for (std::uint32_t s = 0; s < slots_.size(); ++s) index_insert(s);
}

void DuplicateWindow::evict_oldest() {
  Slot& s = slots_[head_];
  index_erase(find_bucket(s.id, s.hash));
  id_bytes_ -= s.id.size();
  if (!s.persistent) --non_persistent_;
}

bool DuplicateWindow::insert(std::string_view id, bool persistent) {
  if (capacity_ == 0) return false;
  const std::size_t hash = hash_of(id);
  if (find_bucket(id, hash) != kNotFound) return false;
  std::uint32_t slot;
  if (slots_.size() < capacity_) {
    // Filling: append (the ring is still in order from slot 0).
    if ((slots_.size() + 1) * 2 > index_.size()) grow_index();
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(Slot{std::string(id), hash, persistent});
  } else {
    evict_oldest();
    slot = static_cast<std::uint32_t>(head_);
    Slot& s = slots_[slot];
    s.id.assign(id);  // reuses the evicted id's buffer
    s.hash = hash;
    s.persistent = persistent;
    head_ = (head_ + 1) % slots_.size();
  }
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
  const std::size_t keep = std::min<std::size_t>(slots_.size(), capacity);
  ordered.reserve(keep);
  for (std::size_t i = slots_.size() - keep; i < slots_.size(); ++i)
    ordered.push_back(std::move(slots_[(head_ + i) % slots_.size()]));
  slots_ = std::move(ordered);
  head_ = 0;
  capacity_ = capacity;
  id_bytes_ = 0;
  non_persistent_ = 0;
  for (const Slot& s : slots_) {
    id_bytes_ += s.id.size();
    if (!s.persistent) ++non_persistent_;
  }
  index_.clear();
  if (!slots_.empty()) {
    std::size_t n = 16;
    while (n < slots_.size() * 2 + 2) n *= 2;
    index_.assign(n, kEmpty);
    for (std::uint32_t s = 0; s < slots_.size(); ++s) index_insert(s);
  }
}

void DuplicateWindow::clear() {
  slots_.clear();
  head_ = 0;
  index_.clear();
  id_bytes_ = 0;
  non_persistent_ = 0;
}

// --- DuplicateIds -----------------------------------------------------------------

const DuplicateWindow* DuplicateIds::find(std::string_view destination) const {
  auto it = windows_.find(destination);
  return it == windows_.end() ? nullptr : it->second.get();
}

DuplicateWindow* DuplicateIds::find(std::string_view destination) {
  auto it = windows_.find(destination);
  return it == windows_.end() ? nullptr : it->second.get();
}

DuplicateWindow& DuplicateIds::window(std::string_view destination, std::uint32_t capacity) {
  auto it = windows_.find(destination);
  if (it == windows_.end())
    it = windows_.emplace(std::string(destination), std::make_unique<DuplicateWindow>(capacity)).first;
  return *it->second;
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
  windows_.erase(it);
}

void DuplicateIds::count_dropped(std::string_view destination) {
  ++dropped_;
  if (DuplicateWindow* w = find(destination)) w->count_dropped();
}

}  // namespace twinmq::broker
