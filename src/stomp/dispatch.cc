// stomp/dispatch.cc — command → handler, and the ONE place where a protocol error
// becomes an ERROR frame followed by a close (ARCHITECTURE.md "How we write code").
#include <spdlog/spdlog.h>

#include "stomp/frame_writer.h"
#include "stomp/handlers.h"
#include "stomp/session.h"

namespace twinmq::stomp {

Error from_broker(const Error& e) {
  using B = broker::Errc;
  ProtocolErrc code = ProtocolErrc::invalid_header;
  switch (static_cast<B>(e.code)) {
    case B::invalid_destination: code = ProtocolErrc::invalid_destination; break;
    case B::duplicate_subscription: code = ProtocolErrc::duplicate_subscription; break;
    case B::unknown_subscription: code = ProtocolErrc::unknown_subscription; break;
    case B::unknown_ack_id: code = ProtocolErrc::unknown_ack_id; break;
    case B::unknown_transaction: code = ProtocolErrc::unknown_transaction; break;
    case B::duplicate_transaction: code = ProtocolErrc::duplicate_transaction; break;
    case B::invalid_subscription: code = ProtocolErrc::invalid_header; break;
    case B::persistence_unavailable: code = ProtocolErrc::persistence_unavailable; break;
    case B::transaction_too_large: code = ProtocolErrc::transaction_too_large; break;
    case B::invalid_duplicate_id: code = ProtocolErrc::invalid_header; break;
    case B::memory_full: code = ProtocolErrc::memory_limit_reached; break;
    case B::store_full: code = ProtocolErrc::store_limit_reached; break;
    // The operator's verbs (admin endpoint) only; no STOMP frame reaches them.
    case B::unknown_destination:
    case B::destination_in_use:
    case B::invalid_argument:
    case B::ok: break;
  }
  return Error{static_cast<int>(code), e.message};
}

namespace {
// An ERROR body says what was wrong in a sentence or two; longer is cut.
constexpr std::size_t kMaxErrorBody = 4096;
}  // namespace

Result<Seq> Session::dispatch(const Frame& frame) {
  if (state_ == State::awaiting_connect) {
    if (frame.command == Command::connect || frame.command == Command::stomp) return handle_connect(frame);
    if (frame.command == Command::unknown) {
      return make_error(ProtocolErrc::unknown_command,
                        "unknown command '" + printable(frame.command_text) + "'; expected CONNECT or STOMP");
    }
    return make_error(ProtocolErrc::not_connected,
                      "received " + std::string(command_name(frame.command)) +
                          " before CONNECT; the first frame must be CONNECT or STOMP");
  }
  // Only SEND may carry a body among client frames (MESSAGE and ERROR are server frames).
  if (!frame.body.empty() && frame.command != Command::send && frame.command != Command::unknown) {
    return make_error(ProtocolErrc::body_not_allowed,
                      std::string(command_name(frame.command)) + " frames must not have a body (got " +
                          std::to_string(frame.body.size()) + " bytes)");
  }
  switch (frame.command) {
    case Command::send: return handle_send(frame);
    case Command::subscribe: return handle_subscribe(frame);
    case Command::unsubscribe: return handle_unsubscribe(frame);
    case Command::ack: return handle_ack(frame, false);
    case Command::nack: return handle_ack(frame, true);
    case Command::begin: return handle_begin(frame);
    case Command::commit: return handle_commit(frame);
    case Command::abort: return handle_abort(frame);
    case Command::disconnect: return handle_disconnect(frame);
    case Command::connect:
    case Command::stomp:
      return make_error(ProtocolErrc::already_connected, "already connected: CONNECT may be sent only once");
    case Command::connected:
    case Command::message:
    case Command::receipt:
    case Command::error:
      return make_error(ProtocolErrc::unknown_command,
                        std::string(command_name(frame.command)) + " is a server frame; clients may not send it");
    case Command::unknown: break;
  }
  return make_error(ProtocolErrc::unknown_command, "unknown command '" + printable(frame.command_text) + "'");
}

void Session::fail(const Error& error, const Frame* frame) {
  if (state_ == State::closing || !conn_) return;
  const auto code = static_cast<ProtocolErrc>(error.code);
  spdlog::info("connection {} from {}: protocol error, closing: {}", number_, peer_, error.message);
  FrameWriter w(conn_->output(), version_, Command::error);
  w.header("message", protocol_error_summary(code));
  // Spec: a version mismatch ERROR lists the versions this server supports.
  if (code == ProtocolErrc::unsupported_version) w.header("version", "1.0,1.1,1.2");
  if (frame) {
    if (auto receipt = frame->header("receipt")) w.header("receipt-id", *receipt);
  }
  w.header("content-type", "text/plain");
  // Every piece a client chose is already shown through base/printable.h; this pass makes
  // it a property of every ERROR body, whatever built the message.
  w.finish(printable(error.message, kMaxErrorBody), true);
  written();
  close_after_flush(error.message);
}

}  // namespace twinmq::stomp
