// stomp/handle_send.cc — SEND: validate, pass the user headers on, hand to the broker.
#include "stomp/handlers.h"
#include "stomp/session.h"

namespace twinmq::stomp {

namespace {
// Headers that describe the SEND itself and are not passed on to MESSAGE frames
// (the broker sets destination, message-id and content-length on delivery).
bool is_transport_header(std::string_view name) {
  return name == "destination" || name == "receipt" || name == "transaction" ||
         name == "content-length" || name == "message-id" || name == "subscription" || name == "ack" ||
         name == "redelivered";
}

bool seen_before(const std::vector<broker::HeaderView>& kept, std::string_view name) {
  for (const auto& h : kept) {
    if (h.name == name) return true;
  }
  return false;
}
}  // namespace

Result<Seq> Session::handle_send(const Frame& frame) {
  auto destination = required_header(frame, "destination");
  if (!destination) return std::unexpected(destination.error());

  broker::SendRequest req;
  req.destination = *destination;
  req.body = frame.body;
  if (auto p = frame.header("persistent")) req.persistent = (*p == "true");
  if (auto p = frame.header("priority")) {
    auto n = integer_header("priority", *p, 0, 9);
    if (!n) return std::unexpected(n.error());
    req.priority = static_cast<std::uint8_t>(*n);
  }
  if (auto e = frame.header("expires")) {
    auto n = integer_header("expires", *e, 0, INT64_MAX);
    if (!n) return std::unexpected(n.error());
    req.expires_ms = *n;
  }
  if (auto tx = frame.header("transaction")) req.transaction = *tx;

  // Repeated headers: the first wins (spec), so later duplicates are not passed on.
  header_scratch_.clear();
  for (const Header& h : frame.headers) {
    if (is_transport_header(h.name) || seen_before(header_scratch_, h.name)) continue;
    header_scratch_.push_back(broker::HeaderView{h.name, h.value});
  }
  req.headers = header_scratch_;

  auto seq = broker_.send(conn_id_, req);
  if (!seq) return std::unexpected(from_broker(seq.error()));
  return *seq;
}

}  // namespace twinmq::stomp
