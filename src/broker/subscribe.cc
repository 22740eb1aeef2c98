// broker/subscribe.cc — SUBSCRIBE and UNSUBSCRIBE.
//
// Every check runs before the first event: a refused SUBSCRIBE changes nothing (not
// even the destination's existence).
#include <fmt/format.h>

#include "base/printable.h"
#include "broker/broker_impl.h"

namespace twinmq::broker {

Result<Seq> Broker::subscribe(ConnId id, const SubscribeRequest& req) {
  Impl& im = *impl_;
  Connection& c = im.conn(id);
  if (c.subs.contains(req.id))
    return make_error(Errc::duplicate_subscription,
                      fmt::format("subscription id '{}' is already in use on this connection",
                                  shown(req.id)));
  const DestKind kind = classify_destination(req.destination);
  if (kind == DestKind::invalid)
    return make_error(Errc::invalid_destination,
                      fmt::format("destination '{}' is not valid: use {}", shown(req.destination),
                                  kDestinationForms));
  const bool durable = !req.durable_name.empty();
  if (durable) {
    if (c.client_id.empty())
      return make_error(Errc::invalid_subscription,
                        fmt::format("durable subscription '{}' needs a client-id on CONNECT",
                                    shown(req.durable_name)));
    if (!req.destination.starts_with("/topic/"))
      return make_error(Errc::invalid_subscription,
                        fmt::format("durable subscription '{}' must be on a /topic/ destination, "
                                    "not '{}'", shown(req.durable_name), shown(req.destination)));
    const Queue* d = im.find_durable(durable_key(c.client_id, req.durable_name));
    if (d != nullptr && d->durable->active != nullptr)
      return make_error(Errc::duplicate_subscription,
                        fmt::format("durable subscription '{}' of client-id '{}' is already active "
                                    "(subscription '{}'); only one consumer may hold it",
                                    shown(req.durable_name), shown(c.client_id),
                                    shown(d->durable->active->id())));
  }

  Seq last = im.ensure_destination(req.destination, kind, Seq{0});
  const DestinationPolicy& policy = kind == DestKind::queue
                                        ? im.find_queue(req.destination)->policy()
                                        : im.find_topic(req.destination)->policy();
  std::uint32_t prefetch = req.prefetch;
  if (prefetch == 0) prefetch = kind == DestKind::queue ? policy.queue_prefetch : policy.topic_prefetch;
  if (prefetch == 0) prefetch = 1;  // a zero window would never receive anything

  const SubKind sub_kind = durable ? SubKind::durable
                           : kind == DestKind::queue ? SubKind::queue
                                                     : SubKind::topic;
  auto owned = std::make_unique<Subscription>(c, std::string(req.id), req.ack, prefetch, sub_kind);
  Subscription& s = *owned;
  c.subs.emplace(std::string(req.id), std::move(owned));

  switch (sub_kind) {
    case SubKind::queue:
      s.queue = im.find_queue(req.destination);
      s.set_account(&s.queue->memory);
      s.queue->add_consumer(&s);
      im.mark_dirty(*s.queue);
      break;
    case SubKind::topic:
      s.topic = im.find_topic(req.destination);
      s.set_account(&s.topic->memory);
      s.topic->add_subscriber(&s);
      break;
    case SubKind::durable:
      s.durable_name = std::string(req.durable_name);
      last = im.attach_durable(c, s, req.destination, last);
      break;
  }
  im.run_dispatch();
  return last;
}

Result<Seq> Broker::unsubscribe(ConnId id, std::string_view sub_id, bool durable_remove) {
  Impl& im = *impl_;
  Connection& c = im.conn(id);
  auto it = c.subs.find(sub_id);
  if (it == c.subs.end()) {
    if (durable_remove && !c.client_id.empty()) {
      if (const Queue* d = im.find_durable(durable_key(c.client_id, sub_id))) {
        if (d->durable->active != nullptr)
          return make_error(Errc::invalid_subscription,
                            fmt::format("durable subscription '{}' of client-id '{}' is active on "
                                        "another connection; it cannot be removed from here",
                                        shown(sub_id), shown(c.client_id)));
        const Seq last = im.emit(DurableSubscriptionRemoved{c.client_id, sub_id});
        im.run_dispatch();
        return last;
      }
    }
    return make_error(Errc::unknown_subscription,
                      fmt::format("no subscription with id '{}' on this connection", shown(sub_id)));
  }
  Subscription& s = *it->second;
  im.forget_tx_acks(c, s);
  Seq last = im.remove_subscription(s, Seq{0});
  if (durable_remove && s.kind() == SubKind::durable)
    last = im.emit(DurableSubscriptionRemoved{c.client_id, s.durable_name});
  c.subs.erase(it);
  im.run_dispatch();
  return last;
}

// Counted on demand: the session asks when a limit may be crossed (SUBSCRIBE, BEGIN,
// after an ACK), not per message.
Broker::ConnectionUsage Broker::usage(ConnId id) const {
  const Connection& c = impl_->conn(id);
  ConnectionUsage u;
  u.subscriptions = c.subs.size();
  u.transactions = c.txs.size();
  for (const auto& [sid, s] : c.subs) u.unacked += s->held();
  return u;
}

}  // namespace twinmq::broker
