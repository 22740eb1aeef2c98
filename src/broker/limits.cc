// broker/limits.cc — memory and store limits at the point of decision, and the
// producers waiting for room (README "Memory, store limits and producer flow control").
//
// The rule: a SEND (or each send of a COMMIT) is accepted while
//  1. the broker's memory (memoryUsage) is below its limit,
//  2. the destination's memory is below its memoryLimit, if it has one and
//     producerFlowControl is on (for a topic: each durable subscription's backlog; what
//     non-durable subscribers have pending is bounded by dropping their oldest instead,
//     dispatch.cc), and
//  3. for a persistent message, the journal's live bytes are below storeUsage.
// "Below" is checked before the message is added, as ActiveMQ's isFull() does, so a
// destination may pass its limit by at most one message. Refusals change nothing; the
// session decides whether its producer waits (wait_for_room) or gets an ERROR
// (sendFailIfNoSpace). apply() never checks: a slave only counts (memory_usage.h).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/printable.h"
#include "broker/broker_impl.h"

namespace twinmq::broker {

namespace {

std::string how_full(std::uint64_t used, std::uint64_t limit) {
  constexpr double kMiB = 1024.0 * 1024.0;
  return fmt::format("{:.1f} MiB used of {:.1f} MiB ({}%)", static_cast<double>(used) / kMiB,
                     static_cast<double>(limit) / kMiB, limit == 0 ? 0 : used * 100 / limit);
}

}  // namespace

Result<void> Broker::Impl::check_room(std::string_view destination, bool persistent) {
  if (memory.full())
    return make_error(Errc::memory_full,
                      fmt::format("the broker's memory limit is reached (systemUsage memoryUsage): {}",
                                  how_full(memory.used, memory.limit)));
  // `what` names the destination only for the error: every SEND passes here, and
  // formatting the name up front was an allocation per message.
  auto destination_full = [&](const Queue& q, auto what) -> Result<void> {
    if (!q.policy().producer_flow_control || !q.memory.full()) return {};
    return make_error(Errc::memory_full, fmt::format("{} has reached its memoryLimit (policyEntry): {}", what(),
                                                     how_full(q.memory.used(), q.memory.limit())));
  };
  if (classify_destination(destination) == DestKind::topic) {
    if (const Topic* t = find_topic(destination))
      for (const Queue* d : t->durables())
        if (auto r = destination_full(*d,
                                      [&] {
                                        return fmt::format("durable subscription '{}' of '{}' on {}",
                                                           shown(d->durable->name), shown(d->durable->client_id),
                                                           shown(destination));
                                      });
            !r)
          return r;
  } else if (const Queue* q = find_queue(destination)) {
    if (auto r = destination_full(*q, [&] { return fmt::format("{}", shown(destination)); }); !r) return r;
  }
  if (persistent && options.store_limit != 0 && store_used >= options.store_limit)
    return make_error(Errc::store_full,
                      fmt::format("the store limit is reached (systemUsage storeUsage): {} of live messages in "
                                  "the journal",
                                  how_full(store_used, options.store_limit)));
  return {};
}

void Broker::Impl::notify_room() {
  if (!memory.freed && !store_freed) return;
  memory.freed = false;
  store_freed = false;
  if (room_waiters.empty()) return;
  room_scratch.swap(room_waiters);
  for (ConnId id : room_scratch)
    if (auto it = conns.find(id); it != conns.end()) it->second->client->on_room();
  room_scratch.clear();
}

void Broker::wait_for_room(ConnId conn) {
  std::vector<ConnId>& w = impl_->room_waiters;
  if (std::find(w.begin(), w.end(), conn) == w.end()) w.push_back(conn);
}

void Broker::set_store_usage(std::uint64_t live_bytes) {
  Impl& im = *impl_;
  if (live_bytes < im.store_used) im.store_freed = true;
  im.store_used = live_bytes;
}

Broker::MemoryStats Broker::memory_stats() const {
  const Impl& im = *impl_;
  MemoryStats out{im.memory.used, im.memory.limit, im.store_used, im.options.store_limit,
                  im.room_waiters.size()};
  for (const auto& [name, q] : im.queues) out.paged += q->paged();
  for (const auto& [key, q] : im.durables) out.paged += q->paged();
  return out;
}

}  // namespace twinmq::broker
