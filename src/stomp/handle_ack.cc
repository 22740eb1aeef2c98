// stomp/handle_ack.cc — ACK and NACK, which name the message differently per version:
// 1.2 `id` (our MESSAGE's ack header), 1.1 `message-id` + `subscription`, 1.0 `message-id`.
#include "stomp/handlers.h"
#include "stomp/session.h"

namespace twinmq::stomp {

Result<Seq> Session::handle_ack(const Frame& frame, bool nack) {
  if (nack && version_ == Version::v1_0) {
    return make_error(ProtocolErrc::unknown_command, "NACK is not part of STOMP 1.0 (this connection negotiated 1.0)");
  }
  broker::AckRequest req;
  req.nack = nack;
  if (version_ == Version::v1_2) {
    auto id = required_header(frame, "id");
    if (!id) return std::unexpected(id.error());
    req.ack_id = *id;
  } else {
    auto id = required_header(frame, "message-id");
    if (!id) return std::unexpected(id.error());
    req.message_id = *id;
    if (version_ == Version::v1_1) {
      auto sub = required_header(frame, "subscription");
      if (!sub) return std::unexpected(sub.error());
      req.subscription = *sub;
    }
  }
  if (auto tx = frame.header("transaction")) req.transaction = *tx;
  auto seq = broker_.ack(conn_id_, req);
  if (!seq) return std::unexpected(from_broker(seq.error()));
  return *seq;
}

}  // namespace twinmq::stomp
