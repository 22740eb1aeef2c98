// broker/admin_ops.cc — the operator's verbs (broker/broker.h "operator verbs"): browse,
// purge, move and remove a destination.
//
// Each mutating verb is decided here and recorded only with events the broker already
// has — MessageRemoved (reason discarded) for a purge, one TransactionCommitted per
// moved message, DestinationRemoved — so the journal, the slave and recovery need no
// new code and no new record type: a purge on the master is a purge on the slave and
// stays one after a failover, because it is the same events.
//
// The verbs take only ready messages (in the lanes). A message a consumer holds is
// not in the lanes; apply() would take a removal of it for an ACK of a held message
// ("not in the lanes means held"), so touching it here would corrupt the count of held
// messages. It stays with its consumer, whose ACK or return decides.
//
// The ids to touch are collected first, then the events emitted: emitting changes the
// lanes being walked.
#include <fmt/format.h>

#include <algorithm>

#include "base/printable.h"
#include "broker/broker_impl.h"

namespace twinmq::broker {

namespace {

Result<void> check_queue_name(std::string_view name) {
  if (classify_destination(name) != DestKind::queue)
    return make_error(Errc::invalid_destination,
                      fmt::format("'{}' is not a queue name (/queue/NAME or /temp-queue/NAME)", shown(name)));
  return {};
}

}  // namespace

Result<std::vector<BrowsedMessage>> Broker::browse(std::string_view queue, std::size_t limit,
                                                   std::size_t preview_bytes) const {
  if (auto ok = check_queue_name(queue); !ok) return std::unexpected(ok.error());
  Queue* q = impl_->find_queue(queue);
  if (q == nullptr)
    return make_error(Errc::unknown_destination, fmt::format("queue '{}' does not exist", shown(queue)));
  std::vector<BrowsedMessage> out;
  out.reserve(std::min<std::size_t>(limit, q->depth()));
  const std::string_view prefix = impl_->options.id_prefix;
  q->visit_in_dispatch_order([&](const QueueEntry& e) {
    if (out.size() >= limit) return false;
    if (!e.msg) {
      // Paged (page_store.h): its headers and body are only in the journal, and a browse
      // reads no disk on the loop. What the queue entry knows is shown.
      BrowsedMessage b;
      b.id = e.id;
      b.id_text = fmt::format("ID:{}-{}", prefix, e.id);
      b.persistent = true;
      b.priority = e.priority;
      b.redelivered = e.redelivered;
      b.redelivery_count = e.redelivery_count;
      b.paged = true;
      out.push_back(std::move(b));
      return true;
    }
    const Message& m = *e.msg;
    BrowsedMessage b;
    b.id = m.id();
    b.id_text = std::string(m.id_text());
    for (const HeaderView& h : m.headers()) b.headers.emplace_back(std::string(h.name), std::string(h.value));
    b.body_bytes = m.body().size();
    b.body_preview = std::string(m.body().substr(0, preview_bytes));
    b.persistent = m.persistent();
    b.priority = m.priority();
    b.expires_ms = m.expires_ms();
    b.timestamp_ms = m.timestamp_ms();
    b.redelivered = e.redelivered;
    b.redelivery_count = e.redelivery_count;
    out.push_back(std::move(b));
    return true;
  });
  return out;
}

Result<AdminOutcome> Broker::purge(std::string_view queue) {
  Impl& im = *impl_;
  if (auto ok = check_queue_name(queue); !ok) return std::unexpected(ok.error());
  Queue* q = im.find_queue(queue);
  if (q == nullptr)
    return make_error(Errc::unknown_destination, fmt::format("queue '{}' does not exist", shown(queue)));
  struct Victim {
    std::uint64_t id;
    bool persistent;
  };
  std::vector<Victim> victims;
  victims.reserve(q->depth());
  q->visit_in_dispatch_order([&](const QueueEntry& e) {
    victims.push_back(Victim{e.id, e.msg ? e.msg->persistent() : true});  // paged ones are persistent
    return true;
  });
  AdminOutcome out;
  const std::string name = q->name();  // the events' views must not point into q
  for (const Victim& v : victims) out.last = im.emit(MessageRemoved{name, v.id, v.persistent, RemovalReason::discarded});
  out.messages = victims.size();
  im.run_dispatch();  // released memory may let waiting producers go on
  return out;
}

Result<AdminOutcome> Broker::move(std::string_view from, std::string_view to, std::size_t limit) {
  Impl& im = *impl_;
  if (auto ok = check_queue_name(from); !ok) return std::unexpected(ok.error());
  if (auto ok = check_queue_name(to); !ok) return std::unexpected(ok.error());
  if (from == to)
    return make_error(Errc::invalid_argument, fmt::format("cannot move queue '{}' onto itself", shown(from)));
  Queue* q = im.find_queue(from);
  if (q == nullptr)
    return make_error(Errc::unknown_destination, fmt::format("queue '{}' does not exist", shown(from)));
  std::vector<MessageRef> moving;
  q->visit_in_dispatch_order([&](const QueueEntry& e) {
    if (limit != 0 && moving.size() >= limit) return false;
    // A paged message's body is on disk only (page_store.h): the move stops before it,
    // so what moves is still the queue's head, in order; the answer says how many.
    if (!e.msg) return false;
    moving.push_back(e.msg);
    return true;
  });
  AdminOutcome out;
  const std::string source = q->name();
  const std::string target(to);
  if (!moving.empty()) out.last = im.ensure_destination(target, DestKind::queue, out.last);
  for (const MessageRef& m : moving) {
    // A new id: the journal's index (store/live_set.h) knows a message by its id, and
    // for the length of this event the message is in both queues.
    const MessageRef copy = readdressed(*m, target, im.next_message_id++, im.options.id_prefix);
    const AckedMessage acked[] = {{source, m->id(), m->persistent()}};
    out.last = im.emit(TransactionCommitted{std::span<const MessageRef>(&copy, 1), acked});
  }
  out.messages = moving.size();
  im.run_dispatch();
  return out;
}

Result<AdminOutcome> Broker::remove_destination(std::string_view name) {
  Impl& im = *impl_;
  const DestKind kind = classify_destination(name);
  if (kind == DestKind::invalid)
    return make_error(Errc::invalid_destination,
                      fmt::format("'{}' is not a destination name (/queue/NAME or /topic/NAME)", shown(name)));
  AdminOutcome out;
  const std::string owned(name);
  if (kind == DestKind::topic) {
    Topic* t = im.find_topic(name);
    if (t == nullptr)
      return make_error(Errc::unknown_destination, fmt::format("topic '{}' does not exist", shown(name)));
    if (!t->subscribers().empty() || !t->durables().empty())
      return make_error(Errc::destination_in_use,
                        fmt::format("topic '{}' has {} subscriber(s) and {} durable subscription(s); they must "
                                    "unsubscribe first",
                                    shown(name), t->subscribers().size(), t->durables().size()));
    out.last = im.emit(DestinationRemoved{owned});
    return out;
  }
  Queue* q = im.find_queue(name);
  if (q == nullptr)
    return make_error(Errc::unknown_destination, fmt::format("queue '{}' does not exist", shown(name)));
  // apply() keeps a queue that consumers or their held messages still refer to (it
  // would drop only its ready messages), so the master and its slave would disagree
  // on whether it exists: refused instead.
  if (!q->consumers().empty() || q->inflight() != 0)
    return make_error(Errc::destination_in_use,
                      fmt::format("queue '{}' has {} consumer(s) holding {} unacknowledged message(s); they must "
                                  "unsubscribe first",
                                  shown(name), q->consumers().size(), q->inflight()));
  out.messages = q->depth();
  out.last = im.emit(DestinationRemoved{owned});
  im.run_dispatch();
  return out;
}

void Broker::when_released(Seq seq, std::function<void()> done) {
  if (gate_.released() >= seq) {
    done();
    return;
  }
  released_waiters_.emplace_back(seq, std::move(done));
}

}  // namespace twinmq::broker
