// broker/inactive_gc.cc — removing destinations nobody uses (ActiveMQ's
// gcInactiveDestinations / inactiveTimoutBeforeGC policy; README "Memory, store limits
// and producer flow control").
//
// Every auto-created destination is persistent state (DestinationAdded is journaled and
// mirrored), so without this a broker whose clients make up names — temporary queues,
// per-request reply queues — grows without bound. A destination whose policy says
// gcInactiveDestinations is removed once it has been inactive for inactiveTimoutBeforeGC:
//  - a queue: no message ready or in flight, no consumer;
//  - a topic: no subscriber, no durable subscription;
// and nothing sent to it meanwhile. Inactivity is observed at the housekeeping tick
// (the master's; a slave applies the DestinationRemoved its master decided), through
// the destination's own counters, so the hot path pays nothing: the first tick that
// finds it inactive notes the time and its enqueue count; a later tick that finds it
// still inactive with the same count past the timeout removes it. A SEND recreates it
// (DestinationAdded) as before.
//
// Removing a destination also forgets its duplicate-detection window (its ids are
// older than the timeout by then).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/printable.h"
#include "broker/broker_impl.h"

namespace twinmq::broker {

namespace {

// How often the walk runs: the timeout is at least a second, the tick is faster.
constexpr std::int64_t kGcEveryMs = 1000;

}  // namespace

void Broker::Impl::collect_inactive(std::int64_t now_ms) {
  if (now_ms - last_gc_ms < kGcEveryMs) return;
  last_gc_ms = now_ms;
  gc_scratch.clear();
  // `activity` is a counter that moves with every message sent to the destination.
  auto observe = [&](const std::string& name, const DestinationPolicy& policy, bool inactive,
                     std::uint64_t activity) {
    if (!policy.gc_inactive || !inactive) {
      idle.erase(name);
      return;
    }
    auto [it, fresh] = idle.try_emplace(name, IdleMark{now_ms, activity});
    if (!fresh && it->second.activity != activity) it->second = IdleMark{now_ms, activity};
    if (now_ms - it->second.since_ms >= static_cast<std::int64_t>(policy.inactive_timeout_before_gc_ms))
      gc_scratch.push_back(name);
  };
  for (const auto& [name, q] : queues)
    observe(name, q->policy(), q->depth() == 0 && q->inflight() == 0 && q->consumers().empty(), q->enqueued());
  for (const auto& [name, t] : topics)
    observe(name, t->policy(), t->subscribers().empty() && t->durables().empty(), t->published());
  for (const std::string& name : gc_scratch) {
    const std::int64_t idle_ms = now_ms - idle.at(name).since_ms;
    emit(DestinationRemoved{name});
    spdlog::info("[event=destination_removed] {} removed: inactive for {:.1f} s (gcInactiveDestinations)", shown(name),
                 static_cast<double>(idle_ms) / 1000.0);
  }
}

}  // namespace twinmq::broker
