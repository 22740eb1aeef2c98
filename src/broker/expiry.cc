// broker/expiry.cc — the periodic expiry sweep (Broker::tick).
//
// Dispatch already refuses expired messages, but a queue nobody consumes would keep
// them forever, so tick() also removes them. Cost stays bounded however large the
// queues: a queue is examined only when its earliest expiry is due, and one tick
// examines at most kSweepBudget entries in all, each queue resuming its pass where the
// previous tick stopped. Pending lists of slow topic subscribers are trimmed from the
// front only (they are bounded by topic_pending_limit anyway, and dispatch skips
// expired entries).
#include "broker/broker_impl.h"

namespace twinmq::broker {

namespace {
constexpr std::size_t kSweepBudget = 65536;
}

void Broker::tick(std::int64_t now_ms) {
  impl_->sweep_expired(now_ms);
  impl_->collect_inactive(now_ms);
  impl_->retry_failed_page_ins();
  impl_->page_out();  // a broker with no journal traffic (a slave at rest) pages here too
  impl_->run_dispatch();
}

Seq Broker::Impl::sweep_expired(std::int64_t now_ms) {
  Seq last{0};
  std::size_t budget = kSweepBudget;
  auto sweep = [&](Queue& q) {
    if (budget == 0 || q.next_expiry() > now_ms) return;
    expired_scratch.clear();
    budget -= q.collect_expired(now_ms, budget, expired_scratch);
    for (const ExpiredMessage& e : expired_scratch)
      last = emit(MessageRemoved{q.name(), e.id, e.persistent, RemovalReason::expired});
  };
  for (auto& [name, q] : queues) sweep(*q);
  for (auto& [key, q] : durables) sweep(*q);
  for (auto& [name, t] : topics)
    for (Subscription* s : t->subscribers()) {
      const Ring<MessageRef>& pending = s->pending();
      while (!pending.empty() && pending.front()->expired_at(now_ms)) s->pop_pending();
    }
  return last;
}

}  // namespace twinmq::broker
