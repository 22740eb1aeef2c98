// broker/durable.cc — durable topic subscriptions (ActiveMQ: CONNECT client-id +
// SUBSCRIBE activemq.subscriptionName).
//
// A durable subscription is a Queue (its backlog) registered with its topic: every
// MessageEnqueued on the topic is queued there, whether a consumer is attached or
// not. At most one live Subscription consumes it at a time; when that consumer goes,
// what it held returns to the backlog (counted as a redelivery, like a queue).
#include <fmt/format.h>

#include "base/assert.h"
#include "broker/broker_impl.h"

namespace twinmq::broker {

// "durable:<client-id>:<name>" with ':' and '\' escaped in the client-id, so the first
// unescaped ':' after the prefix ends the client-id and no two pairs share a key. The
// key never starts with '/', so it cannot be confused with a queue name in events.
std::string durable_key(std::string_view client_id, std::string_view name) {
  std::string key = "durable:";
  key.reserve(key.size() + client_id.size() + name.size() + 1);
  for (char ch : client_id) {
    if (ch == ':' || ch == '\\') key.push_back('\\');
    key.push_back(ch);
  }
  key.push_back(':');
  key.append(name);
  return key;
}

Seq Broker::Impl::attach_durable(Connection& c, Subscription& s, std::string_view topic,
                                 Seq last) {
  const std::string key = durable_key(c.client_id, s.durable_name);
  Queue* d = find_durable(key);
  // Subscribing under the same name to another topic replaces the subscription,
  // backlog included (what ActiveMQ does when a durable subscriber changes topic).
  if (d != nullptr && d->durable->topic != topic) {
    last = emit(DurableSubscriptionRemoved{c.client_id, s.durable_name});
    d = nullptr;
  }
  if (d == nullptr) {
    last = emit(DurableSubscriptionAdded{c.client_id, s.durable_name, topic});
    d = find_durable(key);
  }
  TWINMQ_ASSERT(d != nullptr && d->durable->active == nullptr, "durable subscription attach");
  s.queue = d;
  s.set_account(&d->memory);
  d->durable->active = &s;
  d->add_consumer(&s);
  mark_dirty(*d);
  return last;
}

void Broker::Impl::apply_durable_added(const DurableSubscriptionAdded& e) {
  const std::string key = durable_key(e.client_id, e.name);
  Topic& t = make_topic(e.topic);
  if (Queue* d = find_durable(key)) {
    if (d->durable->topic == e.topic) return;
    // Same subscription re-pointed at another topic: the old backlog goes.
    if (Topic* old = find_topic(d->durable->topic)) old->remove_durable(d);
    d->drop_all();
    d->durable->topic = std::string(e.topic);
    t.add_durable(d);
    return;
  }
  auto q = std::make_unique<Queue>(key, t.policy());
  // Each backlog has the topic's memoryLimit as its own.
  q->memory.bind(&memory, t.policy().memory_limit);
  if (q->memory.limit() != 0) queue_limits = true;
  q->durable = std::make_unique<Queue::Durable>(
      Queue::Durable{std::string(e.client_id), std::string(e.name), std::string(e.topic), nullptr});
  t.add_durable(q.get());
  durables.emplace(key, std::move(q));
}

void Broker::Impl::apply_durable_removed(const DurableSubscriptionRemoved& e) {
  auto it = durables.find(durable_key(e.client_id, e.name));
  if (it == durables.end()) return;
  Queue* d = it->second.get();
  // The deciding side removes the live consumer first; a slave never has one.
  TWINMQ_ASSERT(d->durable->active == nullptr, "removing a durable subscription that is in use");
  if (Topic* t = find_topic(d->durable->topic)) t->remove_durable(d);
  std::erase(dirty, d);
  durables.erase(it);
}

}  // namespace twinmq::broker
