// broker/topic.h — Topic: a /topic/ (or /temp-topic/) destination.
//
// A topic holds no messages itself. A published message goes, as shared references,
// to every live non-durable subscription (delivered at once, or parked in that
// subscription's bounded pending list when it is slow) and — through the event log,
// because that is state — into the backlog Queue of every durable subscription on it.
//
// Lifecycle: owned by Broker::Impl's topics_ map; subscriptions unregister before they
// die. Loop thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/memory_usage.h"

namespace twinmq::broker {

class Queue;
class Subscription;

class Topic {
 public:
  Topic(std::string name, DestinationPolicy policy) : name_(std::move(name)), policy_(std::move(policy)) {}
  Topic(const Topic&) = delete;
  Topic& operator=(const Topic&) = delete;

  const std::string& name() const { return name_; }
  const DestinationPolicy& policy() const { return policy_; }

  const std::vector<Subscription*>& subscribers() const { return subs_; }
  void add_subscriber(Subscription* s) { subs_.push_back(s); }
  void remove_subscriber(Subscription* s) { std::erase(subs_, s); }

  const std::vector<Queue*>& durables() const { return durables_; }
  void add_durable(Queue* q) { durables_.push_back(q); }
  void remove_durable(Queue* q) { std::erase(durables_, q); }

  std::uint64_t published() const { return published_; }
  std::uint64_t consumed() const { return consumed_; }
  void count_published() { ++published_; }
  void count_consumed() { ++consumed_; }

  // What its non-durable subscribers hold unacknowledged and have pending (charged
  // and released by their Subscriptions); durable backlogs count in their own Queue.
  MemoryAccount memory;

 private:
  std::string name_;
  DestinationPolicy policy_;
  std::vector<Subscription*> subs_;  // live, non-durable
  std::vector<Queue*> durables_;     // backlogs of durable subscriptions on this topic
  std::uint64_t published_ = 0;      // messages accepted for this topic
  std::uint64_t consumed_ = 0;       // deliveries settled by non-durable subscribers
};

}  // namespace twinmq::broker
