// broker/snapshot.cc — Broker::take_snapshot() and SnapshotCursor (design comment in
// broker/snapshot.h), and Broker::mark_all_redelivered() for a promoted slave.
//
// Where a message sits is read from the store itself: the ready entries of each queue
// and durable backlog, plus the deliveries consumers still hold (state held, or settled
// inside a transaction not yet committed: both are still in the store).
#include "broker/snapshot.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>

#include "base/printable.h"
#include "broker/broker_impl.h"

namespace twinmq::broker {

namespace {

// A queue message whose own destination names another queue (none today: a
// dead-lettered message is readdressed to its DLQ when it moves). MessageEnqueued puts a
// message where its destination says, so such a message is sent readdressed.
MessageRef readdressed_to(const Message& m, std::string_view queue) {
  std::string_view text = m.id_text();
  const std::size_t dash = text.rfind('-');
  MessageInit init;
  init.id = m.id();
  init.id_prefix = text.size() >= 3 && dash != std::string_view::npos && dash >= 3 ? text.substr(3, dash - 3)
                                                                                  : std::string_view{};
  init.destination = queue;
  std::vector<HeaderView> headers(m.headers().begin(), m.headers().end());
  init.headers = headers;
  init.body = m.body();
  init.persistent = m.persistent();
  init.priority = m.priority();
  init.expires_ms = m.expires_ms();
  init.timestamp_ms = m.timestamp_ms();
  return Message::create(init);
}

struct Builder {
  Snapshot& s;
  std::unordered_map<std::uint64_t, std::size_t> by_id;    // message id -> index in items
  std::vector<std::vector<std::uint32_t>> holders;          // per item: durables holding it

  void add_queue_message(const Queue& q, const MessageRef& m) {
    if (by_id.contains(m->id())) return;
    by_id.emplace(m->id(), s.messages.size());
    holders.emplace_back();
    s.body_bytes += m->body().size();
    if (m->destination() != q.name()) {
      s.messages.push_back(Snapshot::Item{readdressed_to(*m, q.name()), 0, 0});
    } else {
      s.messages.push_back(Snapshot::Item{m, 0, 0});
    }
  }

  void add_durable_message(std::uint32_t durable, const MessageRef& m) {
    const Snapshot::Durable& d = s.durables[durable];
    if (m->destination() != d.topic) {
      // Cannot happen: a durable backlog only ever receives messages of its topic.
      spdlog::error("snapshot: durable subscription '{}' holds message {} of '{}', not of its topic '{}'; "
                    "left out",
                    shown(d.key), m->id(), shown(m->destination()), shown(d.topic));
      return;
    }
    auto [it, fresh] = by_id.emplace(m->id(), s.messages.size());
    if (fresh) {
      holders.emplace_back();
      s.body_bytes += m->body().size();
      s.messages.push_back(Snapshot::Item{m, 0, 0});
    }
    holders[it->second].push_back(durable);
  }
};

// Every message a snapshot carries, with the queue (or durable backlog) it belongs to:
// ready entries, and deliveries consumers still hold (still in the store). One walk for
// take_snapshot and holds_non_persistent, so the two cannot disagree on what is held.
// (`Im` is Broker::Impl, deduced: the name is private to Broker.)
template <class Im, class F>
void for_each_held(Im& im, F&& visit) {
  // A paged message (page_store.h) is persistent and in the journal: a snapshot never
  // needs it from memory (a broker without a journal pages nothing).
  auto ready = [&](Queue& q) {
    q.for_each_ready([&](QueueEntry& e) {
      if (e.msg) visit(q, e.msg);
    });
  };
  for (const auto& [name, q] : im.queues) ready(*q);
  for (const auto& [key, q] : im.durables) ready(*q);
  for (const auto& [id, c] : im.conns) {
    for (const auto& [sid, sub] : c->subs) {
      if (sub->kind() == SubKind::topic || sub->queue == nullptr) continue;
      Ring<Unacked>& held = sub->unacked();
      for (std::size_t i = 0; i < held.size(); ++i) {
        const Unacked& u = held[i];
        if (u.state != DeliveryState::done && u.msg) visit(*sub->queue, u.msg);
      }
    }
  }
}

}  // namespace

std::uint64_t Broker::next_message_id() const { return impl_->next_message_id; }

bool Broker::holds_non_persistent() const {
  bool found = false;
  for_each_held(*impl_, [&](Queue&, const MessageRef& m) { found = found || !m->persistent(); });
  return found;
}

Snapshot Broker::take_snapshot() const { return take_snapshot_of(false); }

Snapshot Broker::take_memory_snapshot() const { return take_snapshot_of(true); }

Snapshot Broker::take_snapshot_of(bool memory_only) const {
  Impl& im = *impl_;
  Snapshot s;
  s.memory_only = memory_only;
  s.upto = log_.last();
  s.next_message_id = im.next_message_id;
  if (!memory_only) {
    for (const auto& [name, q] : im.queues) s.queues.push_back(name);
    for (const auto& [name, t] : im.topics) s.topics.push_back(name);
  }
  std::sort(s.queues.begin(), s.queues.end());
  std::sort(s.topics.begin(), s.topics.end());
  std::unordered_map<const Queue*, std::uint32_t> durable_index;
  {
    std::vector<const Queue*> ds;
    for (const auto& [key, q] : im.durables) ds.push_back(q.get());
    std::sort(ds.begin(), ds.end(), [](const Queue* a, const Queue* b) { return a->name() < b->name(); });
    for (const Queue* q : ds) {
      durable_index.emplace(q, static_cast<std::uint32_t>(s.durables.size()));
      s.durables.push_back(Snapshot::Durable{q->durable->client_id, q->durable->name, q->durable->topic, q->name()});
    }
  }

  Builder b{s, {}, {}};
  auto visit = [&](Queue& q, const MessageRef& m) {
    if (memory_only && m->persistent()) return;
    if (auto it = durable_index.find(&q); it != durable_index.end())
      b.add_durable_message(it->second, m);
    else
      b.add_queue_message(q, m);
  };
  for_each_held(im, visit);

  // In id order; the durable backlogs of a topic message's topic that lack it get a
  // MessageRemoved after its MessageEnqueued.
  std::vector<std::size_t> order(s.messages.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return s.messages[a].message->id() < s.messages[b].message->id(); });
  std::vector<Snapshot::Item> sorted;
  sorted.reserve(s.messages.size());
  for (std::size_t i : order) {
    Snapshot::Item item = std::move(s.messages[i]);
    if (classify_destination(item.message->destination()) == DestKind::topic) {
      item.first_absent = static_cast<std::uint32_t>(s.absent.size());
      const auto& have = b.holders[i];
      for (std::uint32_t d = 0; d < s.durables.size(); ++d) {
        if (s.durables[d].topic == item.message->destination() &&
            std::find(have.begin(), have.end(), d) == have.end())
          s.absent.push_back(d);
      }
      item.absent_count = static_cast<std::uint32_t>(s.absent.size()) - item.first_absent;
    }
    sorted.push_back(std::move(item));
  }
  s.messages = std::move(sorted);

  im.duplicates.for_each([&](std::string_view destination, const DuplicateWindow& w) {
    if (memory_only) {
      bool any = false;
      w.for_each([&](std::string_view, bool persistent) { any = any || !persistent; });
      if (!any) return;  // the journal has this window as it is
    }
    Snapshot::Window& out = s.windows.emplace_back();
    out.destination = std::string(destination);
    out.id_cache_size = w.capacity();
    out.ids.reserve(w.size());
    out.persistent.reserve(w.size());
    w.for_each([&](std::string_view id, bool persistent) {
      out.ids.emplace_back(id);
      out.persistent.push_back(persistent);
    });
  });
  std::sort(s.windows.begin(), s.windows.end(),
            [](const Snapshot::Window& a, const Snapshot::Window& b) { return a.destination < b.destination; });
  return s;
}

std::size_t Snapshot::window_events() const {
  std::size_t n = 0;
  for (const Window& w : windows)
    n += std::max<std::size_t>(1, (w.ids.size() + kDuplicateIdsPerEvent - 1) / kDuplicateIdsPerEvent);
  return n;
}

bool SnapshotCursor::next(Event& out) {
  const std::size_t nq = s_.queues.size(), nt = s_.topics.size(), nd = s_.durables.size();
  if (!s_.memory_only && structure_ < nq + nt + nd) {
    const std::size_t i = structure_++;
    ++events_;
    if (i < nq) {
      out = DestinationAdded{s_.queues[i]};
    } else if (i < nq + nt) {
      out = DestinationAdded{s_.topics[i - nq]};
    } else {
      const Snapshot::Durable& d = s_.durables[i - nq - nt];
      out = DurableSubscriptionAdded{d.client_id, d.name, d.topic};
    }
    return true;
  }
  while (message_ < s_.messages.size()) {
    const Snapshot::Item& item = s_.messages[message_];
    if (!enqueued_) {
      enqueued_ = true;
      removal_ = 0;
      ++events_;
      out = MessageEnqueued{item.message};
      return true;
    }
    if (removal_ < item.absent_count) {
      const Snapshot::Durable& d = s_.durables[s_.absent[item.first_absent + removal_++]];
      ++events_;
      out = MessageRemoved{d.key, item.message->id(), item.message->persistent(), RemovalReason::discarded};
      return true;
    }
    ++message_;
    enqueued_ = false;
  }
  if (window_ < s_.windows.size()) {
    const Snapshot::Window& w = s_.windows[window_];
    const bool first = window_pos_ == 0;
    // At least one event per window (an empty window replaces the ids its destination's
    // messages entered on the way).
    const std::size_t end = std::min(w.ids.size(), window_pos_ + kDuplicateIdsPerEvent);
    ids_.clear();
    for (std::size_t i = window_pos_; i < end; ++i) ids_.push_back(DuplicateId{w.ids[i], w.persistent[i]});
    window_pos_ = end;
    if (end == w.ids.size()) {
      ++window_;
      window_pos_ = 0;
    }
    ++events_;
    out = DuplicateIdsRecorded{w.destination, ids_, w.id_cache_size, first, true};
    return true;
  }
  return false;
}

std::size_t Broker::mark_all_redelivered() {
  Impl& im = *impl_;
  std::size_t n = 0;
  auto mark = [&n](QueueEntry& e) {
    e.redelivered = true;
    ++n;
  };
  for (auto& [name, q] : im.queues) q->for_each_ready(mark);
  for (auto& [key, q] : im.durables) q->for_each_ready(mark);
  return n;
}

}  // namespace twinmq::broker
