// stomp/handle_transaction.cc — BEGIN / COMMIT / ABORT.
#include "stomp/handlers.h"
#include "stomp/session.h"

namespace twinmq::stomp {

Result<Seq> Session::handle_begin(const Frame& frame) {
  auto tx = required_header(frame, "transaction");
  if (!tx) return std::unexpected(tx.error());
  auto seq = broker_.begin(conn_id_, *tx);
  if (!seq) return std::unexpected(from_broker(seq.error()));
  return *seq;
}

Result<Seq> Session::handle_commit(const Frame& frame) {
  auto tx = required_header(frame, "transaction");
  if (!tx) return std::unexpected(tx.error());
  auto seq = broker_.commit(conn_id_, *tx);
  if (!seq) return std::unexpected(from_broker(seq.error()));
  return *seq;
}

Result<Seq> Session::handle_abort(const Frame& frame) {
  auto tx = required_header(frame, "transaction");
  if (!tx) return std::unexpected(tx.error());
  auto seq = broker_.abort(conn_id_, *tx);
  if (!seq) return std::unexpected(from_broker(seq.error()));
  return *seq;
}

}  // namespace twinmq::stomp
