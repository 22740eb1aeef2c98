// stomp/handle_transaction.cc — BEGIN / COMMIT / ABORT.
#include "stomp/handlers.h"
#include "stomp/server.h"
#include "stomp/session.h"

namespace twinmq::stomp {

Result<Seq> Session::handle_begin(const Frame& frame) {
  auto tx = required_header(frame, "transaction");
  if (!tx) return std::unexpected(tx.error());
  // Each open transaction may hold up to maxTransactionSize until it ends.
  const std::uint32_t limit = server_.options().max_transactions;
  if (broker_.usage(conn_id_).transactions >= limit) {
    return make_error(ProtocolErrc::too_many_transactions,
                      "this connection already has " + std::to_string(limit) +
                          " open transactions, the most maximumTransactionsPerConnection allows; "
                          "COMMIT or ABORT one first");
  }
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
