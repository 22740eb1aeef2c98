// broker/apply.cc — apply(Event): the one path by which state changes, used alike by
// this broker right after it decides a change (Impl::emit), by the journal's recovery
// and by the slave link. That includes the duplicate-detection windows
// (broker/duplicates.h): an id enters its window here, from the event that carries it.
//
// Applying never consults consumers: the store (ready messages, counters, durable
// subscriptions, destinations) is all an event touches. The one place the two sides
// differ is where a removed message sits: on a slave or during recovery it is ready
// in its queue's lanes; on the deciding broker an acked message is held by a consumer
// and was already taken out of the lanes. "Not in the lanes" therefore means "held".
//
// apply_indexed() is apply() of a MessageEnqueued or TransactionCommitted that an
// index-only recovery read without building its messages (broker/event.h
// IndexedEnqueue): the same numbering, windows, queues and order, with paged entries
// where the messages would be.
//
// Applying an event that names something unknown (a queue that does not exist, a
// message already gone) changes nothing and is logged: it can only come from a
// damaged log, and refusing it here would not repair anything.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <type_traits>

#include "base/printable.h"
#include "broker/broker_impl.h"

namespace twinmq::broker {

// "ID:<prefix>-<n>" -> "<prefix>"
std::string_view id_prefix_of(const Message& m) {
  std::string_view text = m.id_text();
  const std::size_t dash = text.rfind('-');
  return text.size() >= 3 && dash != std::string_view::npos && dash >= 3 ? text.substr(3, dash - 3)
                                                                         : std::string_view{};
}

// A message as the consumers of the queue it moved to see it: `to` as its destination,
// and ActiveMQ's `original-destination` header naming where it was sent.
MessageRef readdressed(const Message& m, std::string_view to, std::uint64_t id, std::string_view id_prefix) {
  constexpr std::string_view kOriginal = "original-destination";
  std::vector<HeaderView> headers(m.headers().begin(), m.headers().end());
  const bool has_original = std::any_of(headers.begin(), headers.end(),
                                        [&](const HeaderView& h) { return h.name == kOriginal; });
  if (!has_original) headers.push_back(HeaderView{kOriginal, m.destination()});
  MessageInit init;
  init.id = id;
  init.id_prefix = id_prefix;
  init.destination = to;
  init.headers = headers;
  init.body = m.body();
  init.persistent = m.persistent();
  init.priority = m.priority();
  init.expires_ms = m.expires_ms();
  init.timestamp_ms = m.timestamp_ms();
  return Message::create(init);
}

void Broker::apply(const Event& event) {
  impl_->apply_event(event);
  impl_->run_dispatch();
}

void Broker::Impl::apply_event(const Event& event) {
  std::visit(
      [this](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, MessageEnqueued>) {
          apply_enqueued(e.message);
        } else if constexpr (std::is_same_v<T, MessageRemoved>) {
          apply_removed(e.queue, e.message_id, e.reason);
        } else if constexpr (std::is_same_v<T, MessageDeadLettered>) {
          apply_dead_lettered(e);
        } else if constexpr (std::is_same_v<T, TransactionCommitted>) {
          for (const MessageRef& m : e.sends) apply_enqueued(m);
          for (const AckedMessage& a : e.acks) apply_removed(a.queue, a.message_id);
        } else if constexpr (std::is_same_v<T, DestinationAdded>) {
          if (classify_destination(e.name) == DestKind::topic)
            make_topic(e.name);
          else
            make_queue(e.name);
        } else if constexpr (std::is_same_v<T, DestinationRemoved>) {
          apply_destination_removed(e.name);
        } else if constexpr (std::is_same_v<T, DurableSubscriptionAdded>) {
          apply_durable_added(e);
        } else if constexpr (std::is_same_v<T, DurableSubscriptionRemoved>) {
          apply_durable_removed(e);
        } else if constexpr (std::is_same_v<T, DuplicateIdsRecorded>) {
          apply_duplicate_ids(e);
        } else {
          static_assert(std::is_same_v<T, Handover>);  // a marker in the log: no state
        }
      },
      event);
}

void Broker::Impl::apply_enqueued(const MessageRef& m) {
  // A slave or a recovered broker continues numbering after the ids it has seen.
  next_message_id = std::max(next_message_id, m->id() + 1);
  const std::string_view dest = m->destination();
  if (m->id_cache_size() != 0) {
    if (const std::string_view dup = m->duplicate_id(); !dup.empty())
      duplicates.record(dest, dup, m->id_cache_size(), m->persistent());
  }
  if (classify_destination(dest) == DestKind::topic) {
    // Queued for the durable subscriptions that exist at this point of the log; live
    // non-durable subscribers are fed by the deciding side (not state).
    Topic& t = make_topic(dest);
    for (Queue* d : t.durables()) {
      d->push(QueueEntry{m, m->id(), 0, false});
      d->count_enqueued();
      mark_dirty(*d);
    }
    return;
  }
  Queue& q = make_queue(dest);
  q.push(QueueEntry{m, m->id(), 0, false});
  q.count_enqueued();
  mark_dirty(q);
}

void Broker::apply_indexed(const IndexedEnqueue& e) {
  // In the order apply(TransactionCommitted) takes: every send, then every ack.
  for (const StoredMessageIndex& m : e.sends) impl_->apply_enqueued_paged(m);
  for (const AckedMessage& a : e.acks) impl_->apply_removed(a.queue, a.message_id);
  impl_->run_dispatch();
}

// apply_enqueued for a message whose body stays on disk (index-only recovery): the same
// numbering, window and queues, with a paged entry where the message would be.
void Broker::Impl::apply_enqueued_paged(const StoredMessageIndex& m) {
  next_message_id = std::max(next_message_id, m.id + 1);
  if (m.id_cache_size != 0 && !m.duplicate_id.empty())
    duplicates.record(m.destination, m.duplicate_id, m.id_cache_size, /*persistent=*/true);
  const std::uint8_t priority = m.priority > 9 ? 9 : m.priority;  // as Message::create clamps it
  if (classify_destination(m.destination) == DestKind::topic) {
    Topic& t = make_topic(m.destination);
    for (Queue* d : t.durables()) {
      d->push_paged(m.id, priority, m.expires_ms, 0, false);
      d->count_enqueued();
      mark_dirty(*d);
    }
    return;
  }
  Queue& q = make_queue(m.destination);
  q.push_paged(m.id, priority, m.expires_ms, 0, false);
  q.count_enqueued();
  mark_dirty(q);
}

void Broker::Impl::apply_removed(std::string_view store, std::uint64_t id, RemovalReason reason) {
  Queue* q = find_store(store);
  if (q == nullptr) {
    spdlog::warn("event removes message {} from '{}', which does not exist; ignored", id,
                 shown(store));
    return;
  }
  QueueEntry gone;
  if (q->remove_ready(id, &gone) || q->release_held()) {
    q->count_dequeued();
    if (reason == RemovalReason::expired) q->count_expired();
    return;
  }
  spdlog::warn("event removes message {} from '{}', which does not hold it; ignored", id,
               shown(store));
}

void Broker::Impl::apply_dead_lettered(const MessageDeadLettered& e) {
  Queue* q = find_store(e.queue);
  QueueEntry entry;
  std::int64_t expires_ms = 0;
  // The deciding side gives a message back to its queue before dead-lettering it, so
  // on both sides it is found among the ready messages.
  if (q == nullptr || !q->remove_ready(e.message_id, &entry, &expires_ms)) {
    spdlog::warn("event dead-letters message {} from '{}', which does not hold it; ignored",
                 e.message_id, shown(e.queue));
    return;
  }
  q->count_dequeued();
  q->count_dead_lettered();
  Queue& dlq = make_queue(e.dlq);
  if (entry.paged) {
    // Paged here (a slave's or a recovering broker's queue: the deciding side held it):
    // it stays paged there; page-in readdresses it (paging.cc).
    dlq.push_paged(e.message_id, entry.priority, expires_ms, 0, false);
    dlq.count_enqueued();
    mark_dirty(dlq);
    return;
  }
  // A dead-lettered message keeps its id (and so the prefix of the broker that accepted it).
  dlq.push(QueueEntry{readdressed(*entry.msg, e.dlq, e.message_id, id_prefix_of(*entry.msg)), e.message_id, 0, false});
  dlq.count_enqueued();
  mark_dirty(dlq);
}

void Broker::Impl::apply_duplicate_ids(const DuplicateIdsRecorded& e) {
  // A window belongs to a destination that exists, as on the deciding side (where the
  // SEND made it): its policy's idCacheSize is read there.
  if (classify_destination(e.destination) == DestKind::topic)
    make_topic(e.destination);
  else
    make_queue(e.destination);
  duplicates.apply(e);
}

void Broker::Impl::apply_destination_removed(std::string_view name) {
  duplicates.erase(name);
  if (auto mark = idle.find(name); mark != idle.end()) idle.erase(mark);
  if (classify_destination(name) == DestKind::topic) {
    auto it = topics.find(name);
    // A topic with subscriptions stays: they still refer to it (only a slave, which
    // has none, or an idle master removes destinations).
    if (it != topics.end() && it->second->subscribers().empty() && it->second->durables().empty())
      topics.erase(it);
    return;
  }
  auto it = queues.find(name);
  if (it == queues.end()) return;
  Queue* q = it->second.get();
  q->drop_all();
  if (q->consumers().empty() && q->inflight() == 0) {
    std::erase(dirty, q);
    queues.erase(it);
  }
}

}  // namespace twinmq::broker
