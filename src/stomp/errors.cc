// stomp/errors.cc — the words for protocol errors: the short summary that goes in
// an ERROR frame's `message` header. Offending client bytes inside the longer
// Error::message are shown with base/printable.h.
#include "stomp/errors.h"


namespace twinmq::stomp {

std::string_view protocol_error_summary(ProtocolErrc code) {
  switch (code) {
    case ProtocolErrc::ok: return "ok";
    case ProtocolErrc::frame_too_large: return "frame too large";
    case ProtocolErrc::header_section_too_large: return "header section too large";
    case ProtocolErrc::too_many_headers: return "too many headers";
    case ProtocolErrc::malformed_header: return "malformed header";
    case ProtocolErrc::invalid_escape: return "invalid escape sequence";
    case ProtocolErrc::invalid_content_length: return "invalid content-length";
    case ProtocolErrc::missing_nul: return "missing frame terminator";
    case ProtocolErrc::body_not_allowed: return "body not allowed";
    case ProtocolErrc::unknown_command: return "unknown command";
    case ProtocolErrc::missing_header: return "missing header";
    case ProtocolErrc::invalid_header: return "invalid header";
    case ProtocolErrc::not_connected: return "not connected";
    case ProtocolErrc::already_connected: return "already connected";
    case ProtocolErrc::unsupported_version: return "unsupported protocol version";
    case ProtocolErrc::invalid_heart_beat: return "invalid heart-beat";
    case ProtocolErrc::unknown_subscription: return "unknown subscription";
    case ProtocolErrc::duplicate_subscription: return "duplicate subscription";
    case ProtocolErrc::unknown_ack_id: return "unknown ack id";
    case ProtocolErrc::unknown_transaction: return "unknown transaction";
    case ProtocolErrc::duplicate_transaction: return "duplicate transaction";
    case ProtocolErrc::invalid_destination: return "invalid destination";
    case ProtocolErrc::not_authorized: return "not authorized";
    case ProtocolErrc::connect_timeout: return "connect timeout";
    case ProtocolErrc::heart_beat_timeout: return "heart-beat timeout";
    case ProtocolErrc::slow_consumer: return "slow consumer";
    case ProtocolErrc::persistence_unavailable: return "persistence unavailable";
    case ProtocolErrc::transaction_too_large: return "transaction too large";
    case ProtocolErrc::server_shutting_down: return "server shutting down";
    case ProtocolErrc::not_serving: return "not serving";
    case ProtocolErrc::too_many_subscriptions: return "too many subscriptions";
    case ProtocolErrc::too_many_transactions: return "too many transactions";
    case ProtocolErrc::frame_timeout: return "frame timeout";
    case ProtocolErrc::memory_limit_reached: return "memory limit reached";
    case ProtocolErrc::store_limit_reached: return "store limit reached";
    case ProtocolErrc::access_denied: return "access denied";
    case ProtocolErrc::login_rate_limited: return "too many failed logins";
  }
  return "protocol error";
}

}  // namespace twinmq::stomp
