// client/vocabulary.cc — the small value types of twinmq/client.h: error texts,
// ack-mode names, header lookup.
#include "twinmq/client.h"

namespace twinmq::client {

std::string_view errc_summary(Errc code) {
  switch (code) {
    case Errc::ok: return "ok";
    case Errc::resolve_failed: return "host name does not resolve";
    case Errc::connect_failed: return "connect failed";
    case Errc::timeout: return "timed out";
    case Errc::server_error: return "ERROR from the broker";
    case Errc::connection_closed: return "connection closed";
    case Errc::protocol_error: return "broker sent invalid STOMP";
    case Errc::bad_argument: return "bad argument";
    case Errc::reconnect_exhausted: return "gave up reconnecting";
    case Errc::transaction_rolled_back: return "transaction rolled back by a failover";
    case Errc::outcome_unknown: return "outcome unknown";
  }
  return "unknown error";
}

std::optional<std::string_view> find_header(const Headers& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view ack_mode_name(AckMode mode) {
  switch (mode) {
    case AckMode::auto_ack: return "auto";
    case AckMode::client: return "client";
    case AckMode::client_individual: return "client-individual";
  }
  return "auto";
}

}  // namespace twinmq::client
