// broker/queue.cc — the sorted priority lanes of a Queue (see queue.h).
#include "broker/queue.h"

#include <algorithm>
#include <bit>

#include "base/assert.h"
#include "broker/page_store.h"

namespace twinmq::broker {

namespace {
constexpr auto kIdOf = [](const QueueEntry& e) { return e.id; };
// Compact a lane when tombstones are both many and the majority: amortised O(1)
// per removal, and a lane never holds more than about twice its live entries.
constexpr std::uint32_t kCompactMinTombstones = 32;
}  // namespace

void Queue::note_expiry(std::int64_t expires_ms) {
  if (expires_ms == 0) return;
  next_expiry_ = std::min(next_expiry_, expires_ms);
  sweep_min_ = std::min(sweep_min_, expires_ms);
}

void Queue::push(QueueEntry e) {
  TWINMQ_ASSERT(e.msg, "pushing an empty queue entry");
  const Message* msg = e.msg.get();  // the entry moves; the message stays where it is
  const int p = e.msg->priority();
  e.paged = false;
  e.priority = static_cast<std::uint8_t>(p);
  Lane& lane = lanes_[p];
  note_expiry(e.msg->expires_ms());
  if (lane.ring.empty() || lane.ring.back().id < e.id) {
    lane.ring.push_back(std::move(e));
  } else {
    const std::size_t pos = lane.ring.lower_bound(e.id, kIdOf);
    lane.ring.insert(pos, std::move(e));
    if (sweep_lane_ == p && pos < sweep_pos_) ++sweep_pos_;
  }
  ++lane.live;
  ++depth_;
  if (msg->persistent()) ++resident_persistent_;
  live_mask_ |= 1u << p;
  memory.charge(memory_cost(*msg));
}

void Queue::push_paged(std::uint64_t id, std::uint8_t priority, std::int64_t expires_ms,
                       std::uint32_t redelivery_count, bool redelivered) {
  const int p = priority;
  Lane& lane = lanes_[p];
  QueueEntry e{MessageRef{}, id, redelivery_count, redelivered, true, priority};
  if (lane.ring.empty() || lane.ring.back().id < id) {
    lane.ring.push_back(std::move(e));
  } else {
    const std::size_t pos = lane.ring.lower_bound(id, kIdOf);
    lane.ring.insert(pos, std::move(e));
    if (sweep_lane_ == p && pos < sweep_pos_) ++sweep_pos_;
  }
  if (expires_ms != 0) {
    paged_expiry_[id] = expires_ms;
    note_expiry(expires_ms);
  }
  ++lane.live;
  ++depth_;
  ++paged_;
  live_mask_ |= 1u << p;
  memory.charge(kPagedEntryBytes);
}

void Queue::pop_front_of(int p) {
  lanes_[p].ring.pop_front();
  if (sweep_lane_ == p && sweep_pos_ > 0) --sweep_pos_;
}

QueueEntry* Queue::front() {
  if (live_mask_ == 0) return nullptr;
  const int p = 31 - std::countl_zero(live_mask_);
  Lane& lane = lanes_[p];
  while (!lane.ring.front().live()) {
    pop_front_of(p);
    --lane.tombstones;
  }
  return &lane.ring.front();
}

QueueEntry Queue::take_front() {
  QueueEntry* f = front();
  TWINMQ_ASSERT(f != nullptr && f->msg, "take_front on an empty queue or a paged message");
  const int p = f->msg->priority();
  QueueEntry e = std::move(*f);
  if (e.msg->persistent()) --resident_persistent_;
  Lane& lane = lanes_[p];
  pop_front_of(p);
  if (--lane.live == 0) live_mask_ &= ~(1u << p);
  --depth_;
  ++inflight_;
  // Still counted here: the consumer's Subscription adopts the charge (adopt()), or the
  // caller releases it when the message leaves at once (auto-ack).
  return e;
}

void Queue::give_back(QueueEntry e) {
  TWINMQ_ASSERT(inflight_ > 0, "a consumer gave back a message the queue never handed out");
  --inflight_;
  push(std::move(e));
}

bool Queue::release_held() {
  if (inflight_ == 0) return false;
  --inflight_;
  return true;
}

bool Queue::remove_ready(std::uint64_t id, QueueEntry* out, std::int64_t* expires_ms) {
  for (int p = kLanes - 1; p >= 0; --p) {
    Lane& lane = lanes_[p];
    if (lane.live == 0) continue;
    std::size_t pos = lane.ring.lower_bound(id, kIdOf);
    // A tombstone may share the id of a live entry (removed, then given back).
    while (pos < lane.ring.size() && lane.ring[pos].id == id && !lane.ring[pos].live()) ++pos;
    if (pos == lane.ring.size() || lane.ring[pos].id != id) continue;
    QueueEntry& e = lane.ring[pos];
    *out = QueueEntry{std::move(e.msg), e.id, e.redelivery_count, e.redelivered, e.paged,
                      static_cast<std::uint8_t>(p)};
    if (e.paged) {
      e.paged = false;
      --paged_;
      memory.release(kPagedEntryBytes);
      std::int64_t expiry = 0;
      if (auto it = paged_expiry_.find(id); it != paged_expiry_.end()) {
        expiry = it->second;
        paged_expiry_.erase(it);
      }
      if (expires_ms != nullptr) *expires_ms = expiry;
    } else {
      memory.release(memory_cost(*out->msg));
      if (out->msg->persistent()) --resident_persistent_;
      if (expires_ms != nullptr) *expires_ms = out->msg->expires_ms();
    }
    --depth_;
    if (--lane.live == 0) live_mask_ &= ~(1u << p);
    ++lane.tombstones;
    while (!lane.ring.empty() && !lane.ring.front().live()) {
      pop_front_of(p);
      --lane.tombstones;
    }
    maybe_compact(p);
    return true;
  }
  return false;
}

void Queue::maybe_compact(int p) {
  Lane& lane = lanes_[p];
  if (lane.tombstones < kCompactMinTombstones || lane.tombstones <= lane.live) return;
  std::size_t kept_before_cursor = 0;
  const bool cursor_here = sweep_lane_ == p;
  const std::size_t cursor = sweep_pos_;
  lane.ring.erase_if([](const QueueEntry& e) { return !e.live(); },
                     [&](std::size_t old_index, std::size_t) {
                       if (cursor_here && old_index < cursor) ++kept_before_cursor;
                     });
  lane.tombstones = 0;
  if (cursor_here) sweep_pos_ = kept_before_cursor;
}

void Queue::drop_all() {
  std::uint64_t bytes = 0;
  for_each_ready([&](const QueueEntry& e) { bytes += e.msg ? memory_cost(*e.msg) : kPagedEntryBytes; });
  memory.release(bytes);
  paged_ = 0;
  resident_persistent_ = 0;
  paged_expiry_.clear();
  for (Lane& lane : lanes_) {
    lane.ring.clear();
    lane.live = lane.tombstones = 0;
  }
  live_mask_ = 0;
  depth_ = 0;
  next_expiry_ = sweep_min_ = kNever;
  sweep_lane_ = 0;
  sweep_pos_ = 0;
}

std::size_t Queue::collect_expired(std::int64_t now_ms, std::size_t budget,
                                   std::vector<ExpiredMessage>& out) {
  if (next_expiry_ > now_ms) return 0;
  std::size_t examined = 0;
  while (sweep_lane_ < kLanes) {
    Lane& lane = lanes_[sweep_lane_];
    while (sweep_pos_ < lane.ring.size()) {
      if (examined == budget) return examined;  // resume here on the next tick
      const QueueEntry& e = lane.ring[sweep_pos_++];
      ++examined;
      if (!e.live()) continue;
      std::int64_t expires = 0;
      if (e.msg) {
        expires = e.msg->expires_ms();
      } else if (!paged_expiry_.empty()) {
        if (auto it = paged_expiry_.find(e.id); it != paged_expiry_.end()) expires = it->second;
      }
      if (expires == 0) continue;
      if (now_ms >= expires)
        out.push_back(ExpiredMessage{e.id, e.msg ? e.msg->persistent() : true});
      else
        sweep_min_ = std::min(sweep_min_, expires);
    }
    ++sweep_lane_;
    sweep_pos_ = 0;
  }
  // A full pass: every unexpired ready message was seen (or pushed since, which
  // lowered sweep_min_ too), so sweep_min_ is the true earliest expiry.
  next_expiry_ = sweep_min_;
  sweep_min_ = kNever;
  sweep_lane_ = 0;
  sweep_pos_ = 0;
  return examined;
}

std::uint64_t Queue::page_out(const PageStore& store, std::uint64_t want) {
  std::uint64_t freed = 0;
  if (resident_persistent_ == 0) return 0;
  // Bounds the walk over entries that cannot go (tombstones, non-persistent, not yet
  // durable): the broker calls this every loop turn while memory stays high. Entries
  // that can go cost nothing: finding them is the work.
  std::size_t budget = kPageOutScanBudget;
  auto pageable = [&](const QueueEntry& e) { return e.msg && e.msg->persistent() && store.can_page_out(e.id); };
  auto page = [&](QueueEntry& e, int p) {
    if (!pageable(e)) return;
    const std::uint64_t cost = memory_cost(*e.msg);
    if (e.msg->expires_ms() != 0) paged_expiry_[e.id] = e.msg->expires_ms();
    e.msg = MessageRef{};
    e.paged = true;
    e.priority = static_cast<std::uint8_t>(p);
    ++paged_;
    --resident_persistent_;
    memory.release(cost);
    memory.charge(kPagedEntryBytes);
    freed += cost - kPagedEntryBytes;
  };
  for (int p = 0; p < kLanes && freed < want && budget != 0; ++p) {
    Lane& lane = lanes_[p];
    // The resident run at the back: [start, size).
    std::size_t start = lane.ring.size();
    while (start > 0 && budget != 0 && !lane.ring[start - 1].paged) {
      if (!pageable(lane.ring[start - 1])) --budget;
      --start;
    }
    if (start > 0 && lane.ring[start - 1].paged) {
      // Behind paged messages: all of the run is delivered after them, so page its
      // oldest first. Paging its newest first (as below) would leave its older part
      // resident between two paged stretches, where no later walk from the back
      // reaches it: each partial page-out would strand some, until memory filled.
      for (std::size_t i = start; i < lane.ring.size() && freed < want; ++i) page(lane.ring[i], p);
    } else {
      // The whole lane is resident (or too many entries that cannot go): its front is
      // what will be delivered next, so the newest go first.
      for (std::size_t i = lane.ring.size(); i-- > start && freed < want;) page(lane.ring[i], p);
    }
  }
  return freed;
}

std::size_t Queue::collect_paged(std::size_t max_ids, std::size_t scan, std::vector<std::uint64_t>& ids) const {
  std::size_t seen = 0;
  std::size_t resident_ahead = 0;
  bool met_paged = false;
  visit_in_dispatch_order([&](const QueueEntry& e) {
    if (seen++ == scan || ids.size() == max_ids) return false;
    if (e.paged) {
      met_paged = true;
      ids.push_back(e.id);
    } else if (!met_paged) {
      ++resident_ahead;
    }
    return true;
  });
  return resident_ahead;
}

bool Queue::fill_paged(MessageRef m) {
  const int p = m->priority();
  Lane& lane = lanes_[p];
  std::size_t pos = lane.ring.lower_bound(m->id(), kIdOf);
  while (pos < lane.ring.size() && lane.ring[pos].id == m->id() && !lane.ring[pos].paged) ++pos;
  if (pos == lane.ring.size() || lane.ring[pos].id != m->id()) return false;
  QueueEntry& e = lane.ring[pos];
  e.paged = false;
  --paged_;
  ++resident_persistent_;
  if (m->expires_ms() != 0) paged_expiry_.erase(m->id());
  memory.release(kPagedEntryBytes);
  memory.charge(memory_cost(*m));
  e.msg = std::move(m);
  return true;
}

void Queue::remove_consumer(Subscription* s) {
  auto it = std::find(consumers_.begin(), consumers_.end(), s);
  if (it == consumers_.end()) return;
  const std::size_t index = static_cast<std::size_t>(it - consumers_.begin());
  consumers_.erase(it);
  if (index < rr_) --rr_;
  if (rr_ >= consumers_.size()) rr_ = 0;
}

}  // namespace twinmq::broker
