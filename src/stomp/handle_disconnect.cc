// stomp/handle_disconnect.cc — DISCONNECT: the receipt (if asked) is the last frame,
// sent once everything this connection did before is released by the ReplyGate; then
// the connection closes.
#include "stomp/handlers.h"
#include "stomp/session.h"

namespace twinmq::stomp {

Result<Seq> Session::handle_disconnect(const Frame& frame) {
  queue_reply(last_seq_, true, ReplyKind::disconnect, frame.header("receipt").value_or(""));
  return Seq{0};
}

}  // namespace twinmq::stomp
