// stomp/handle_subscribe.cc — SUBSCRIBE and UNSUBSCRIBE.
#include "stomp/handlers.h"
#include "stomp/server.h"
#include "stomp/session.h"

namespace twinmq::stomp {

Result<Seq> Session::handle_subscribe(const Frame& frame) {
  auto destination = required_header(frame, "destination");
  if (!destination) return std::unexpected(destination.error());
  if (auto ok = check_destination_bytes(*destination); !ok) return std::unexpected(ok.error());
  if (auto ok = authorize(*destination, auth::Right::read, "subscribe to"); !ok) return std::unexpected(ok.error());

  broker::SubscribeRequest req;
  req.destination = *destination;
  if (auto id = frame.header("id")) {
    req.id = *id;
  } else if (version_ == Version::v1_0) {
    req.id = *destination;  // 1.0 made id optional; the destination names the subscription
  } else {
    return std::unexpected(required_header(frame, "id").error());
  }

  const auto ack = frame.header("ack").value_or("auto");
  if (ack == "auto") {
    req.ack = broker::AckMode::auto_ack;
  } else if (ack == "client") {
    req.ack = broker::AckMode::client;
  } else if (ack == "client-individual") {
    req.ack = broker::AckMode::client_individual;
  } else {
    return make_error(ProtocolErrc::invalid_header,
                      "header 'ack' must be auto, client or client-individual, got '" + printable(ack) + "'");
  }
  if (auto p = frame.header("activemq.prefetchSize")) {
    auto n = integer_header("activemq.prefetchSize", *p, 1, 1'000'000);
    if (!n) return std::unexpected(n.error());
    req.prefetch = static_cast<std::uint32_t>(*n);
  }
  if (auto name = frame.header("activemq.subscriptionName")) req.durable_name = *name;
  if (auto selector = frame.header("selector"); selector && !selector->empty()) {
    // Delivering messages the selector would have excluded is worse than refusing.
    return make_error(ProtocolErrc::invalid_header,
                      "message selectors are not supported by this broker (selector '" +
                          printable(*selector) + "')");
  }

  const std::uint32_t limit = server_.options().max_subscriptions;
  if (broker_.usage(conn_id_).subscriptions >= limit) {
    return make_error(ProtocolErrc::too_many_subscriptions,
                      "this connection already has " + std::to_string(limit) +
                          " subscriptions, the most maximumConsumersAllowedPerConnection allows; "
                          "UNSUBSCRIBE one first, or use another connection");
  }
  auto seq = broker_.subscribe(conn_id_, req);
  if (!seq) return std::unexpected(from_broker(seq.error()));
  return *seq;
}

Result<Seq> Session::handle_unsubscribe(const Frame& frame) {
  std::string_view id;
  const auto durable_name = frame.header("activemq.subscriptionName");
  if (auto v = frame.header("id")) {
    id = *v;
  } else if (durable_name) {
    // ActiveMQ: removing an offline durable subscription names it, there is no live id.
    id = *durable_name;
  } else if (auto d = frame.header("destination"); d && version_ == Version::v1_0) {
    id = *d;
  } else {
    return std::unexpected(required_header(frame, "id").error());
  }
  const bool durable_remove = durable_name.has_value();
  auto seq = broker_.unsubscribe(conn_id_, id, durable_remove);
  if (!seq) return std::unexpected(from_broker(seq.error()));
  return *seq;
}

}  // namespace twinmq::stomp
