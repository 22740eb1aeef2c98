// stomp/errors.h — every way a client's bytes or frames can be wrong.
//
// The codec (frame_parser) and the server session both report these. The one
// place a ProtocolErrc becomes an ERROR frame (message header + body) and a
// close is stomp/dispatch.cc; `protocol_error_summary` gives the short text for
// the `message` header, and Error::message carries the detail for the body.
#pragma once

#include <string_view>

#include "base/result.h"

namespace twinmq::stomp {

enum class ProtocolErrc {
  ok = 0,
  // framing (codec)
  frame_too_large,         // frame (headers + body) above the configured maximum
  header_section_too_large,// command + headers above the configured maximum
  too_many_headers,        // more header lines than allowed
  malformed_header,        // a header line without ':' (or an empty name)
  invalid_escape,          // undefined escape (e.g. "\t") in 1.1/1.2 headers
  invalid_content_length,  // not a decimal number (one above the limit is frame_too_large)
  missing_nul,             // content-length body not followed by NUL
  body_not_allowed,        // a body on a frame that must not have one
  // protocol (session)
  unknown_command,
  missing_header,          // a required header is absent (names it)
  invalid_header,          // a header value is malformed (names it)
  not_connected,           // a frame before CONNECT
  already_connected,       // a second CONNECT
  unsupported_version,     // no common version in accept-version
  invalid_heart_beat,
  unknown_subscription,
  duplicate_subscription,
  unknown_ack_id,
  unknown_transaction,
  duplicate_transaction,
  invalid_destination,
  not_authorized,
  connect_timeout,         // connected and sent nothing (not an ERROR: just closed, logged)
  heart_beat_timeout,      // fell silent past the negotiated interval plus grace
  slow_consumer,           // output buffer above the hard limit
  persistence_unavailable, // store cannot accept persistent work (disk full, I/O error)
  transaction_too_large,   // the transaction would pass maxTransactionSize
  server_shutting_down,
  not_serving,             // the broker lost its right to serve (witness): reconnect elsewhere
  // per-connection limits (stomp:// options; README "Configuration reference")
  too_many_subscriptions,  // SUBSCRIBE past maximumConsumersAllowedPerConnection
  too_many_transactions,   // BEGIN past maximumTransactionsPerConnection
  frame_timeout,           // a frame started and not finished within transport.frameTimeout
  // limits on what the broker holds (systemUsage; README "Memory, store limits and
  // producer flow control"): only with sendFailIfNoSpace(AfterTimeout); otherwise the
  // producer waits
  memory_limit_reached,    // memoryUsage or a destination's memoryLimit
  store_limit_reached,     // storeUsage (persistent SENDs)
  // authorization (auth/; README "Security")
  access_denied,           // SEND/SUBSCRIBE without the read, write or admin right on the destination
  login_rate_limited,      // too many failed logins from this address: refused without a check
};

// Short text for the ERROR frame's `message` header ("frame too large", ...).
std::string_view protocol_error_summary(ProtocolErrc code);

}  // namespace twinmq::stomp
