// stomp/handle_send.cc — SEND: validate, pass the user headers on, hand to the broker.
#include "stomp/handlers.h"
#include "stomp/session.h"

namespace twinmq::stomp {

namespace {
// Headers that describe the SEND itself or that the broker writes in every MESSAGE
// (destination, message-id, subscription, ack, redelivered, content-length): never
// passed on. Compared without regard to case, because some clients read headers that
// way, and a producer's `Content-Length:0` ahead of the broker's own would then cut a
// subscriber's body short.
constexpr std::string_view kTransportHeaders[] = {"destination", "receipt", "transaction", "content-length",
                                                  "message-id",  "subscription", "ack", "redelivered"};

bool is_transport_header(std::string_view name) {
  for (std::string_view t : kTransportHeaders) {
    if (name.size() != t.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < t.size() && same; ++i) {
      const char c = name[i];
      same = (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) == t[i];
    }
    if (same) return true;
  }
  return false;
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
  if (auto ok = check_destination_bytes(*destination); !ok) return std::unexpected(ok.error());
  if (auto ok = authorize(*destination, auth::Right::write, "send to"); !ok) return std::unexpected(ok.error());

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
