// broker/redelivery.cc — giving held messages back, and dead-lettering.
//
// A message a consumer gives back (NACK, UNSUBSCRIBE, disconnect) returns to the
// ready lanes of its queue at its id's place — ahead of every never-delivered message
// of its priority — flagged redelivered with its delivery count raised. Which consumer
// held it is not state, so this return is not an event. When the count exceeds the
// policy's maximumRedeliveries (6 = at most 7 deliveries) the message moves to the
// dead-letter queue: that is state, decided here once, and an event
// (MessageDeadLettered, preceded by DestinationAdded for a DLQ not yet created).
// A message already in its dead-letter queue that fails again is discarded
// (MessageRemoved reason discarded) rather than cycling through the DLQ forever.
#include <spdlog/spdlog.h>

#include "base/printable.h"
#include "broker/broker_impl.h"

namespace twinmq::broker {

Seq Broker::Impl::give_back(Queue& q, Unacked u, Seq last) {
  const std::uint32_t count = u.redelivery_count + 1;
  const std::uint64_t id = u.msg->id();
  const bool persistent = u.msg->persistent();
  q.give_back(QueueEntry{std::move(u.msg), id, count, true});
  mark_dirty(q);
  if (count > q.policy().maximum_redeliveries) last = dead_letter(q, id, persistent, last);
  return last;
}

Seq Broker::Impl::dead_letter(Queue& q, std::uint64_t id, bool persistent, Seq last) {
  std::string_view dlq = q.policy().dead_letter_queue;
  if (classify_destination(dlq) != DestKind::queue) {
    static bool warned = false;
    if (!warned) {
      spdlog::error("dead-letter queue '{}' (policy of {}) is not a queue name; using /queue/DLQ",
                    shown(dlq), shown(q.name()));
      warned = true;
    }
    dlq = "/queue/DLQ";
  }
  if (dlq == q.name())
    return emit(MessageRemoved{q.name(), id, persistent, RemovalReason::discarded});
  if (spdlog::should_log(spdlog::level::debug))
    spdlog::debug("message {} exceeded maximumRedeliveries on '{}': moved to '{}'", id, shown(q.name()),
                  shown(dlq));
  last = ensure_destination(dlq, DestKind::queue, last);
  return emit(MessageDeadLettered{q.name(), id, persistent, dlq});
}

Seq Broker::Impl::remove_subscription(Subscription& s, Seq last) {
  Ring<Unacked>& unacked = s.unacked();
  if (s.kind() == SubKind::topic) {
    // Non-durable topic deliveries are not state: what it held or had pending is dropped.
    s.topic->remove_subscriber(&s);
    for (std::size_t i = 0; i < unacked.size(); ++i)
      if (unacked[i].state != DeliveryState::done) s.settle(i);
    s.clear_pending();
    return last;
  }
  Queue& q = *s.queue;
  q.remove_consumer(&s);
  if (q.durable && q.durable->active == &s) q.durable->active = nullptr;
  // Back to front: each returned message usually becomes its lane's new first entry,
  // which the ring does in O(1).
  for (std::size_t i = unacked.size(); i-- > 0;) {
    Unacked& u = unacked[i];
    if (u.state == DeliveryState::done) continue;
    Unacked taken{u.tag, MessageRef{}, u.redelivery_count, u.redelivered, DeliveryState::done};
    taken.msg = s.settle(i);
    last = give_back(q, std::move(taken), last);
  }
  return last;
}

}  // namespace twinmq::broker
