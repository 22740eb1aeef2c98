// broker/dispatch.cc — handing messages to consumers.
//
// Queues: round-robin. For each ready message (highest priority, lowest id first) the
// next consumer, starting after the one served last, that has window room and whose
// client can accept takes it. Consumers without room are skipped, not waited for; when
// nobody has room the queue stops until room opens (ACK, resume) and it is marked
// dirty again.
//
// Topics: every live subscriber gets the same MessageRef; one that has no room now (or
// still has older pending messages, to keep order) parks it in its bounded pending list.
//
// Expired messages are never handed out: dispatch removes them (event, reason
// expired) when it meets them. The clock is read at most once per queue pass, and only
// when a message with an expiry is met.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/printable.h"
#include "broker/broker_impl.h"

namespace twinmq::broker {

void Broker::Impl::mark_dirty(Queue& q) {
  if (q.dirty || q.consumers().empty()) return;
  q.dirty = true;
  dirty.push_back(&q);
}

void Broker::Impl::run_dispatch() {
  // Client::deliver must not call back into the broker; if it does anyway, the outer
  // loop picks up whatever the nested call marked.
  if (dispatching) return;
  dispatching = true;
  while (!dirty.empty()) {
    dirty_scratch.swap(dirty);
    for (Queue* q : dirty_scratch) {
      q->dirty = false;
      dispatch_queue(*q);
    }
    dirty_scratch.clear();
  }
  dispatching = false;
  notify_room();
}

void Broker::Impl::dispatch_queue(Queue& q) {
  std::int64_t now = -1;
  for (;;) {
    QueueEntry* next = q.front();
    if (next == nullptr) return;
    const std::vector<Subscription*>& consumers = q.consumers();
    const std::size_t n = consumers.size();
    if (n == 0) return;
    const std::size_t start = q.next_consumer();
    std::size_t chosen = n;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t index = start + i < n ? start + i : start + i - n;
      if (consumers[index]->can_take()) {
        chosen = index;
        break;
      }
    }
    if (chosen == n) return;
    if (!next->msg) {
      // Paged (page_store.h): read back off the loop; paged_in() dispatches again.
      request_page_in(q, false);
      return;
    }
    if (next->msg->expires_ms() != 0) {
      if (now < 0) now = now_ms();
      if (next->msg->expired_at(now)) {
        emit(MessageRemoved{q.name(), next->id, next->msg->persistent(), RemovalReason::expired});
        continue;
      }
    }
    Subscription& s = *consumers[chosen];
    q.consumer_served(chosen);
    deliver_from_queue(s, q, q.take_front());
  }
}

void Broker::Impl::deliver_from_queue(Subscription& s, Queue& q, QueueEntry e) {
  Connection& c = s.conn();
  if (s.ack_mode() == AckMode::auto_ack) {
    c.client->deliver(Delivery{s.id(), 0, *e.msg, e.redelivered, e.redelivery_count});
    // Delivered is acked: the message leaves the queue for good.
    q.memory.release(memory_cost(*e.msg));
    const MessageRemoved removal{q.name(), e.id, e.msg->persistent(), RemovalReason::acked};
    if (consumed_at_once(q, e))
      emit_consumed(removal, *e.msg);
    else
      emit(removal);
    return;
  }
  const std::uint64_t tag = c.next_tag++;
  c.client->deliver(Delivery{s.id(), tag, *e.msg, e.redelivered, e.redelivery_count});
  s.adopt(Unacked{tag, std::move(e.msg), e.redelivery_count, e.redelivered, DeliveryState::held});
}

void Broker::Impl::fan_out(Topic& t, const MessageRef& m) {
  if (m->expires_ms() != 0 && m->expired_at(now_ms())) return;
  for (Subscription* s : t.subscribers()) {
    if (s->pending().empty() && s->can_take())
      deliver_topic(*s, m);
    else
      park_pending(*s, m);
  }
}

void Broker::Impl::deliver_topic(Subscription& s, const MessageRef& m) {
  Connection& c = s.conn();
  if (s.ack_mode() == AckMode::auto_ack) {
    c.client->deliver(Delivery{s.id(), 0, *m, false, 0});
    s.topic->count_consumed();
    return;
  }
  const std::uint64_t tag = c.next_tag++;
  c.client->deliver(Delivery{s.id(), tag, *m, false, 0});
  s.hold(Unacked{tag, m, 0, false, DeliveryState::held});
}

void Broker::Impl::park_pending(Subscription& s, const MessageRef& m) {
  const std::uint32_t limit = s.topic->policy().topic_pending_limit;
  const Ring<MessageRef>& pending = s.pending();
  // Counted against memory too: with the topic's memoryLimit or the broker's memory
  // reached, a slow subscriber's pending list makes room by dropping its oldest.
  const bool memory_full = s.topic->memory.full() || memory.full();
  if (limit == 0 || pending.size() >= limit || (memory_full && !pending.empty())) {
    if (!pending.empty()) s.pop_pending();
    // One line when a subscriber starts losing messages, then one per 10,000 lost.
    if (s.dropped++ % 10000 == 0)
      spdlog::warn("slow subscriber '{}' on '{}': {} reached, dropped {} oldest message(s) so far",
                   shown(s.id()), shown(s.topic->name()),
                   memory_full ? "memory limit (the topic's memoryLimit or the broker's memoryUsage)"
                               : fmt::format("pending limit {}", limit),
                   s.dropped);
    if (limit == 0) return;
  }
  s.push_pending(m);
}

void Broker::Impl::drain_pending(Subscription& s) {
  const Ring<MessageRef>& pending = s.pending();
  std::int64_t now = -1;
  while (!pending.empty() && s.can_take()) {
    MessageRef m = s.pop_pending();
    if (m->expires_ms() != 0) {
      if (now < 0) now = now_ms();
      if (m->expired_at(now)) continue;
    }
    deliver_topic(s, m);
  }
}

void Broker::Impl::room_opened(Subscription& s) {
  if (s.kind() == SubKind::topic)
    drain_pending(s);
  else
    mark_dirty(*s.queue);
}

}  // namespace twinmq::broker
