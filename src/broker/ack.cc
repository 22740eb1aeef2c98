// broker/ack.cc — ACK and NACK.
//
// Naming the delivery (by STOMP version): 1.2 sends back our ack tag; 1.1 the message
// id plus the subscription; 1.0 only the message id (searched in every subscription of
// the connection). Scope: `client` mode is cumulative — the named delivery and every
// earlier unsettled one of that subscription (NACK too, as STOMP specifies);
// `client-individual` settles only the named one. Auto-ack subscriptions hold nothing,
// so any ACK against them names an unknown delivery.
//
// Inside a transaction nothing settles yet: the deliveries are marked (they keep
// counting against the window) and the transaction records them for COMMIT.
#include <fmt/format.h>

#include <charconv>

#include "base/printable.h"
#include "broker/broker_impl.h"

namespace twinmq::broker {

namespace {

bool parse_u64(std::string_view text, std::uint64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc{} && end == text.data() + text.size();
}

// The number at the end of "ID:<prefix>-<n>".
bool parse_message_number(std::string_view id_text, std::uint64_t* out) {
  const std::size_t dash = id_text.rfind('-');
  return dash != std::string_view::npos && parse_u64(id_text.substr(dash + 1), out);
}

}  // namespace

Result<std::pair<Subscription*, std::size_t>> Broker::Impl::resolve_ack(Connection& c,
                                                                        const AckRequest& req) {
  std::size_t index = 0;
  if (!req.ack_id.empty()) {
    std::uint64_t tag = 0;
    if (parse_u64(req.ack_id, &tag))
      for (auto& [sid, s] : c.subs)
        if (s->find_tag(tag, DeliveryState::held, &index)) return std::pair{s.get(), index};
    return make_error(Errc::unknown_ack_id,
                      fmt::format("no unacknowledged message with ack id '{}' on this connection",
                                  shown(req.ack_id)));
  }
  std::uint64_t number = 0;
  const bool parsed = parse_message_number(req.message_id, &number);
  if (!req.subscription.empty()) {
    auto it = c.subs.find(req.subscription);
    if (it == c.subs.end())
      return make_error(Errc::unknown_subscription,
                        fmt::format("no subscription with id '{}' on this connection",
                                    shown(req.subscription)));
    if (parsed && it->second->find_message(number, req.message_id, &index))
      return std::pair{it->second.get(), index};
    return make_error(Errc::unknown_ack_id,
                      fmt::format("no unacknowledged message with message id '{}' in subscription "
                                  "'{}' on this connection",
                                  shown(req.message_id), shown(req.subscription)));
  }
  if (parsed)
    for (auto& [sid, s] : c.subs)
      if (s->find_message(number, req.message_id, &index)) return std::pair{s.get(), index};
  return make_error(Errc::unknown_ack_id,
                    fmt::format("no unacknowledged message with message id '{}' on this connection",
                                shown(req.message_id)));
}

Result<Seq> Broker::ack(ConnId id, const AckRequest& req) {
  Impl& im = *impl_;
  Connection& c = im.conn(id);
  Transaction* tx = nullptr;
  if (!req.transaction.empty()) {
    tx = im.find_tx(c, req.transaction);
    if (tx == nullptr)
      return make_error(Errc::unknown_transaction,
                        fmt::format("transaction '{}' is not open on this connection",
                                    shown(req.transaction)));
  }
  auto resolved = im.resolve_ack(c, req);
  if (!resolved) return std::unexpected(std::move(resolved.error()));
  auto [s, index] = *resolved;
  const std::size_t first = s->ack_mode() == AckMode::client ? 0 : index;
  Ring<Unacked>& unacked = s->unacked();

  if (tx != nullptr) {
    std::size_t held = 0;
    for (std::size_t i = first; i <= index; ++i) held += unacked[i].state == DeliveryState::held ? 1 : 0;
    const std::size_t each = kAckedMessageBound + (s->queue != nullptr ? s->queue->name().size() : 0);
    if (auto charged = im.charge_tx(*tx, req.transaction, held * each, req.nack ? "NACK" : "ACK"); !charged)
      return std::unexpected(std::move(charged.error()));
    for (std::size_t i = first; i <= index; ++i) {
      Unacked& u = unacked[i];
      if (u.state != DeliveryState::held) continue;
      u.state = DeliveryState::tx_settled;
      tx->acks.push_back(TxAck{s, u.tag, req.nack});
    }
    return Seq{0};
  }

  Seq last{0};
  for (std::size_t i = first; i <= index; ++i) {
    if (unacked[i].state != DeliveryState::held) continue;
    last = req.nack ? im.settle_nack(*s, i, last) : im.settle_ack(*s, i, last);
  }
  s->trim();
  im.room_opened(*s);
  im.run_dispatch();
  return last;
}

Seq Broker::Impl::settle_ack(Subscription& s, std::size_t index, Seq last) {
  if (s.kind() == SubKind::topic) {
    s.settle(index);
    s.topic->count_consumed();
    return last;
  }
  const Message& m = *s.unacked()[index].msg;
  const std::uint64_t id = m.id();
  const bool persistent = m.persistent();
  s.settle(index);
  return emit(MessageRemoved{s.queue->name(), id, persistent, RemovalReason::acked});
}

Seq Broker::Impl::settle_nack(Subscription& s, std::size_t index, Seq last) {
  // A non-durable topic subscription has nowhere to return a message to: a NACKed
  // topic message is dropped (ActiveMQ does the same for non-durable subscribers).
  if (s.kind() == SubKind::topic) {
    s.settle(index);
    return last;
  }
  Unacked& u = s.unacked()[index];
  Unacked taken{u.tag, MessageRef{}, u.redelivery_count, u.redelivered, DeliveryState::done};
  taken.msg = s.settle(index);
  return give_back(*s.queue, std::move(taken), last);
}

}  // namespace twinmq::broker
