#include "store/live_set.h"

#include <algorithm>
#include <type_traits>

#include "base/assert.h"
#include "broker/broker.h"
#include "store/event_codec.h"
#include "store/record_format.h"

namespace twinmq::store {

namespace {

bool is_topic_name(std::string_view name) {
  return name.starts_with("/topic/") || name.starts_with("/temp-topic/");
}

}  // namespace

LiveSet::LiveSet() = default;

std::uint64_t LiveSet::Entry::offset() const { return (place >> kMemberBits) * kRecordAlign; }

void LiveSet::Entry::set_place(std::uint64_t offset, std::uint32_t member) {
  // A record holds fewer than 2^kMemberBits messages: each takes at least 8 bytes of
  // it (its vector slot and its table's vtable offset), and recovery refuses a payload
  // larger than kMaxRecordPayload.
  static_assert((std::uint64_t{1} << kMemberBits) * 8 >= kMaxRecordPayload);
  TWINMQ_ASSERT(offset % kRecordAlign == 0 && offset / kRecordAlign < (std::uint64_t{1} << (64 - kMemberBits)) &&
                    member < (1u << kMemberBits),
                "journal index: record offset or member out of range");
  place = offset / kRecordAlign << kMemberBits | member;
}

// --- locations ------------------------------------------------------------------

LiveSet::LocId LiveSet::current(std::string_view name) const {
  auto it = current_.find(name);
  return it == current_.end() ? kNone : it->second;
}

LiveSet::LocId LiveSet::make_location(std::string_view name, LocKind kind, Seq added) {
  LocId id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<LocId>(locs_.size());
    TWINMQ_ASSERT(id < kMany >> 1, "journal index: too many destinations");  // Entry::origin_moved
    locs_.emplace_back();
  }
  Location& l = locs_[id];
  l = Location{};
  l.name = std::string(name);
  l.kind = kind;
  l.added = added;
  l.in_use = true;
  current_.insert_or_assign(l.name, id);
  return id;
}

LiveSet::LocId LiveSet::current_or_implicit(std::string_view name, LocKind kind) {
  LocId id = current(name);
  return id != kNone ? id : make_location(name, kind, Seq{0});
}

void LiveSet::remove_location(LocId l, Seq seq) {
  if (locs_[l].live > 0) {
    // A queue removed with messages, or a durable subscription with a backlog: the
    // broker drops them without an event per message.
    std::vector<std::uint64_t> dead;
    messages_.for_each([&](std::uint64_t id, Entry& e) {
      if (holds(id, e, l) && drop_location(id, e, l)) dead.push_back(id);
    });
    for (std::uint64_t id : dead) kill(id, *messages_.find(id));
  }
  Location& loc = locs_[l];
  loc.removed = seq;
  auto it = current_.find(loc.name);
  if (it != current_.end() && it->second == l) current_.erase(it);
  if (loc.pins == 0) free_location(l);
}

void LiveSet::unpin(LocId l) {
  Location& loc = locs_[l];
  TWINMQ_ASSERT(loc.pins > 0, "location unpinned more often than pinned");
  if (--loc.pins == 0 && loc.removed) free_location(l);
}

void LiveSet::free_location(LocId l) {
  Location& loc = locs_[l];
  if (loc.kind == LocKind::durable) {
    auto t = topic_durables_.find(loc.topic);
    if (t != topic_durables_.end()) {
      std::erase(t->second, l);
      if (t->second.empty()) topic_durables_.erase(t);
    }
  }
  auto it = current_.find(loc.name);
  if (it != current_.end() && it->second == l) current_.erase(it);
  loc = Location{};
  free_.push_back(l);
}

// --- messages -------------------------------------------------------------------

bool LiveSet::holds(std::uint64_t id, const Entry& e, LocId l) const {
  if (e.loc == l) return true;
  if (e.loc != kMany) return false;
  const auto& v = many_.at(id);
  return std::find(v.begin(), v.end(), l) != v.end();
}

bool LiveSet::drop_location(std::uint64_t id, Entry& e, LocId l) {
  --locs_[l].live;
  if (e.loc == l) {
    e.loc = kNone;
    return true;
  }
  auto it = many_.find(id);
  std::erase(it->second, l);
  if (it->second.size() == 1) {
    e.loc = it->second.front();
    many_.erase(it);
  }
  return false;
}

void LiveSet::kill(std::uint64_t id, Entry& e) {
  FileLive& f = files_[e.file];
  f.count -= 1;
  f.bytes -= e.bytes;
  live_bytes_ -= e.bytes;
  if (e.loc == kMany) {
    for (LocId l : many_[id]) --locs_[l].live;
    many_.erase(id);
  } else if (e.loc != kNone) {
    --locs_[e.loc].live;
  }
  if (auto mv = e.moved() ? moves_.find(id) : moves_.end(); mv != moves_.end()) {
    for (const Move& m : mv->second) {
      unpin(m.from);
      unpin(m.to);
    }
    moves_.erase(mv);
  }
  const LocId origin = e.origin();
  messages_.erase(id);
  unpin(origin);
}

void LiveSet::enqueue(Seq seq, std::uint64_t id, std::string_view dest, std::uint32_t member, FileNo file,
                      std::uint64_t offset, std::uint32_t bytes) {
  max_message_id_ = std::max(max_message_id_, id);
  if (messages_.contains(id)) {
    ++dangling_;  // the same id enqueued twice: keep the first
    return;
  }
  TWINMQ_ASSERT(file != 0, "journal index: a message in file 0");  // 0 marks a removed entry
  Entry e;
  e.seq = seq;
  e.set_place(offset, member);
  e.file = file;
  e.bytes = bytes;
  if (is_topic_name(dest)) {
    e.set_origin(current_or_implicit(dest, LocKind::topic));
    // Queued for every durable subscription of the topic that exists now.
    std::vector<LocId> subs;
    if (auto t = topic_durables_.find(dest); t != topic_durables_.end()) {
      for (LocId d : t->second)
        if (!locs_[d].removed) subs.push_back(d);
    }
    if (subs.empty()) return;  // nobody keeps it: not live
    for (LocId d : subs) ++locs_[d].live;
    if (subs.size() == 1) {
      e.loc = subs.front();
    } else {
      e.loc = kMany;
      many_.emplace(id, std::move(subs));
    }
  } else {
    e.set_origin(current_or_implicit(dest, LocKind::queue));
    e.loc = e.origin();
    ++locs_[e.loc].live;
  }
  pin(e.origin());
  messages_.insert(id, e);
  FileLive& f = files_[file];
  f.count += 1;
  f.bytes += bytes;
  live_bytes_ += bytes;
}

void LiveSet::remove_from(std::uint64_t id, std::string_view queue) {
  Entry* e = messages_.find(id);
  const LocId l = current(queue);
  if (e == nullptr || l == kNone || !holds(id, *e, l)) {
    ++dangling_;
    return;
  }
  if (drop_location(id, *e, l)) kill(id, *e);
}

void LiveSet::move(Seq seq, std::uint64_t id, std::string_view queue, std::string_view dlq) {
  Entry* found = messages_.find(id);
  const LocId from = current(queue);
  if (found == nullptr || from == kNone || !holds(id, *found, from)) {
    ++dangling_;
    return;
  }
  const LocId to = current_or_implicit(dlq, LocKind::queue);
  Entry& e = *found;
  if (e.loc == from) {
    e.loc = to;
  } else {
    auto& v = many_.at(id);
    std::replace(v.begin(), v.end(), from, to);
  }
  --locs_[from].live;
  ++locs_[to].live;
  moves_[id].push_back(Move{seq, from, to});
  e.set_moved();
  pin(from);
  pin(to);
}

void LiveSet::apply(Seq seq, const broker::Event& event, FileNo file, std::uint64_t offset,
                    std::uint32_t frame_bytes) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, broker::MessageEnqueued>) {
          if (e.message->persistent()) {
            record_id(*e.message);
            enqueue(seq, e.message->id(), e.message->destination(), 0, file, offset, frame_bytes);
          }
        } else if constexpr (std::is_same_v<T, broker::MessageRemoved>) {
          if (e.persistent) remove_from(e.message_id, e.queue);
        } else if constexpr (std::is_same_v<T, broker::MessageDeadLettered>) {
          if (e.persistent) move(seq, e.message_id, e.queue, e.dlq);
        } else if constexpr (std::is_same_v<T, broker::TransactionCommitted>) {
          std::uint32_t n = 0;
          for (const broker::MessageRef& m : e.sends) n += m->persistent() ? 1 : 0;
          const std::uint32_t share = n == 0 ? 0 : std::max<std::uint32_t>(1, frame_bytes / n);
          std::uint32_t member = 0;
          for (const broker::MessageRef& m : e.sends) {
            if (!m->persistent()) continue;
            record_id(*m);
            enqueue(seq, m->id(), m->destination(), member++, file, offset, share);
          }
          for (const broker::AckedMessage& a : e.acks) {
            if (a.persistent) remove_from(a.message_id, a.queue);
          }
        } else if constexpr (std::is_same_v<T, broker::DestinationAdded>) {
          const LocId l = current(e.name);
          if (l == kNone) {
            make_location(e.name, is_topic_name(e.name) ? LocKind::topic : LocKind::queue, seq);
          } else if (!locs_[l].added) {
            locs_[l].added = seq;  // it came into being by an enqueue; now it has its event
          }
        } else if constexpr (std::is_same_v<T, broker::DestinationRemoved>) {
          windows_.erase(e.name);  // as the broker drops the window with its destination
          const LocId l = current(e.name);
          if (l == kNone) {
            ++dangling_;
            return;
          }
          remove_location(l, seq);
        } else if constexpr (std::is_same_v<T, broker::DurableSubscriptionAdded>) {
          const std::string key = broker::durable_key(e.client_id, e.name);
          if (LocId old = current(key); old != kNone) {
            if (locs_[old].topic == e.topic) return;
            remove_location(old, seq);  // re-pointed at another topic: the backlog goes
          }
          const LocId l = make_location(key, LocKind::durable, seq);
          Location& loc = locs_[l];
          loc.client_id = std::string(e.client_id);
          loc.sub_name = std::string(e.name);
          loc.topic = std::string(e.topic);
          topic_durables_[loc.topic].push_back(l);
        } else if constexpr (std::is_same_v<T, broker::DurableSubscriptionRemoved>) {
          const LocId l = current(broker::durable_key(e.client_id, e.name));
          if (l == kNone) {
            ++dangling_;
            return;
          }
          remove_location(l, seq);
        } else if constexpr (std::is_same_v<T, broker::DuplicateIdsRecorded>) {
          if (e.persistent) windows_.apply(e, /*persistent_only=*/true);
        } else {
          static_assert(std::is_same_v<T, broker::Handover>);  // no state: nothing a checkpoint keeps
        }
      },
      event);
}

void LiveSet::record_id(const broker::Message& m) {
  if (m.id_cache_size() == 0) return;
  if (const std::string_view id = m.duplicate_id(); !id.empty())
    windows_.record(m.destination(), id, m.id_cache_size(), true);
}

void LiveSet::apply_indexed(Seq seq, const broker::IndexedEnqueue& e, FileNo file, std::uint64_t offset,
                            std::uint32_t frame_bytes) {
  // As apply() of the MessageEnqueued or TransactionCommitted it stands for: every send
  // of a journal record is persistent, so member numbers are plain indexes, and a
  // MessageEnqueued's one send takes the whole record (frame_bytes / 1).
  const auto n = static_cast<std::uint32_t>(e.sends.size());
  const std::uint32_t share = n == 0 ? 0 : std::max<std::uint32_t>(1, frame_bytes / n);
  std::uint32_t member = 0;
  for (const broker::StoredMessageIndex& m : e.sends) {
    if (m.id_cache_size != 0 && !m.duplicate_id.empty())
      windows_.record(m.destination, m.duplicate_id, m.id_cache_size, true);
    enqueue(seq, m.id, m.destination, member++, file, offset, share);
  }
  for (const broker::AckedMessage& a : e.acks) {
    if (a.persistent) remove_from(a.message_id, a.queue);
  }
}

// --- observation ------------------------------------------------------------------

std::uint64_t LiveSet::window_bytes() const {
  // A string in a DuplicateIdsRecorded costs its bytes plus a length word, a NUL,
  // padding and a vector slot (< 16); each event (one per kDuplicateIdsPerEvent ids)
  // its table, vtable and record frame (< 128).
  const std::uint64_t events = windows_.windows() + windows_.ids() / broker::kDuplicateIdsPerEvent;
  return windows_.id_bytes() + 16 * windows_.ids() + 128 * events;
}

std::uint64_t LiveSet::live_bytes_in(FileNo f) const {
  auto it = files_.find(f);
  return it == files_.end() ? 0 : it->second.bytes;
}

std::uint64_t LiveSet::live_count_in(FileNo f) const {
  auto it = files_.find(f);
  return it == files_.end() ? 0 : it->second.count;
}

std::optional<MessageLoc> LiveSet::locate(std::uint64_t id) const {
  const Entry* e = messages_.find(id);
  if (e == nullptr) return std::nullopt;
  return MessageLoc{e->file, e->member(), e->offset()};
}

std::optional<Seq> LiveSet::enqueued_seq(std::uint64_t id) const {
  const Entry* e = messages_.find(id);
  if (e == nullptr) return std::nullopt;
  return e->seq;
}

std::map<std::string, std::uint64_t> LiveSet::messages_per_location() const {
  std::map<std::string, std::uint64_t> out;
  for (const Location& l : locs_) {
    if (l.in_use && !l.removed && l.kind != LocKind::topic) out[l.name] += l.live;
  }
  return out;
}

// --- compaction -----------------------------------------------------------------

void LiveSet::add_framed(CheckpointPlan& plan, Seq seq, std::uint32_t member, std::uint32_t order,
                         const broker::Event& e, EventEncoder& enc) const {
  PlanItem item;
  item.seq = seq;
  item.rank = PlanItem::rank_of(member, order);
  item.a = plan.framed.size();
  append_record(plan.framed, seq, 0, record_type_of(e), enc.encode(e));
  item.b = plan.framed.size();
  plan.items.push_back(item);
}

// Sort order within one seq: a location's removal (0) before the event itself (1)
// before the removals synthesised after an enqueue (2). Only a durable subscription
// re-pointed at another topic has a removal and an addition at the same seq.
void LiveSet::plan_location(LocId l, CheckpointPlan& plan, EventEncoder& enc) const {
  const Location& loc = locs_[l];
  if (loc.added) {
    if (loc.kind == LocKind::durable) {
      add_framed(plan, loc.added, 0, 1,
                 broker::DurableSubscriptionAdded{loc.client_id, loc.sub_name, loc.topic}, enc);
    } else {
      add_framed(plan, loc.added, 0, 1, broker::DestinationAdded{loc.name}, enc);
    }
  }
  if (loc.removed) {
    if (loc.kind == LocKind::durable) {
      add_framed(plan, loc.removed, 0, 0, broker::DurableSubscriptionRemoved{loc.client_id, loc.sub_name}, enc);
    } else {
      add_framed(plan, loc.removed, 0, 0, broker::DestinationRemoved{loc.name}, enc);
    }
  }
}

CheckpointPlan LiveSet::plan_checkpoint(Seq upto, std::uint64_t next_message_id, EventEncoder& enc) const {
  CheckpointPlan plan;
  plan.upto = upto;
  plan.next_message_id = next_message_id;
  plan.items.reserve(messages_.size() + locs_.size());
  for (LocId l = 0; l < locs_.size(); ++l) {
    if (locs_[l].in_use) plan_location(l, plan, enc);
  }
  messages_.for_each([&](std::uint64_t id, const Entry& e) {
    PlanItem item;
    item.seq = e.seq;
    item.rank = PlanItem::rank_of(e.member(), 1);
    item.a = e.offset();
    item.b = id;
    item.file = e.file;
    plan.items.push_back(item);

    // Most messages are in one queue with no history: two flag checks, no lookups.
    const Location& origin = locs_[e.origin()];
    if (!e.moved() && origin.kind != LocKind::topic) return;
    const auto moves = e.moved() ? moves_.find(id) : moves_.end();
    auto moved_from = [&](LocId d) {
      if (moves == moves_.end()) return false;
      for (const Move& m : moves->second)
        if (m.from == d) return true;
      return false;
    };
    if (origin.kind == LocKind::topic) {
      // Replay queues the message for every durable subscription of the topic that
      // exists at its seq; take it out again where it has already left.
      if (auto t = topic_durables_.find(origin.name); t != topic_durables_.end()) {
        for (LocId d : t->second) {
          const Location& dl = locs_[d];
          if (!(dl.added < e.seq) || (dl.removed && dl.removed < e.seq)) continue;
          if (holds(id, e, d) || moved_from(d)) continue;
          add_framed(plan, e.seq, e.member(), 2,
                     broker::MessageRemoved{dl.name, id, true, broker::RemovalReason::discarded}, enc);
        }
      }
    }
    if (moves != moves_.end()) {
      for (const Move& m : moves->second) {
        add_framed(plan, m.seq, 0, 1,
                   broker::MessageDeadLettered{locs_[m.from].name, id, true, locs_[m.to].name}, enc);
      }
    }
  });
  plan_windows(plan, enc);
  return plan;
}

// Last in the checkpoint (seq `upto`, after every real record there): replay enters the
// live messages' ids first, then each window is replaced by what it is now.
void LiveSet::plan_windows(CheckpointPlan& plan, EventEncoder& enc) const {
  std::uint32_t n = 0;
  std::vector<broker::DuplicateId> scratch;
  windows_.for_each([&](std::string_view destination, const broker::DuplicateWindow& w) {
    broker::window_events(destination, w, /*persistent_only=*/true, scratch,
                          [&](const broker::DuplicateIdsRecorded& e) {
                            add_framed(plan, plan.upto, PlanItem::kWindowMember + n++, 3, e, enc);
                          });
  });
}

std::size_t LiveSet::relocate(FileNo file, std::span<const Relocation> moved,
                              std::span<const FileNo> obsolete) {
  auto is_obsolete = [&](FileNo f) { return std::find(obsolete.begin(), obsolete.end(), f) != obsolete.end(); };
  for (const Relocation& r : moved) {
    Entry* found = messages_.find(r.message_id);
    if (found == nullptr || !is_obsolete(found->file)) continue;
    Entry& e = *found;
    FileLive& old = files_[e.file];
    old.count -= 1;
    old.bytes -= e.bytes;
    FileLive& now = files_[file];
    now.count += 1;
    now.bytes += e.bytes;
    e.file = file;
    e.set_place(r.offset, 0);
  }
  std::size_t stray = 0;
  for (FileNo f : obsolete) {
    auto it = files_.find(f);
    if (it == files_.end()) continue;
    stray += it->second.count;
    files_.erase(it);
  }
  return stray;
}

}  // namespace twinmq::store
