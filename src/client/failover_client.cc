// client/failover_client.cc — FailoverSession's calls (send, subscribe, receive, acks,
// transactions, disconnect) and the FailoverClient API on top of them. Reconnecting
// and restoring are in failover_reconnect.cc. See failover_client.h for the design.
#include "client/failover_client.h"

#include <algorithm>
#include <utility>

namespace twinmq::client {
namespace {

constexpr std::size_t kMaxUnconfirmed = 1000;  // SENDs written and not yet receipted

std::string millis(std::chrono::milliseconds t) { return std::to_string(t.count()) + " ms"; }

Errc code_of(const Error& e) { return static_cast<Errc>(e.code); }

}  // namespace

std::vector<stomp::Header> header_views(const Headers& headers) {
  std::vector<stomp::Header> out;
  out.reserve(headers.size());
  for (const auto& [n, v] : headers) out.push_back({n, v});
  return out;
}

FailoverSession::FailoverSession(FailoverUri uri, ConnectOptions options, FailoverListener listener)
    : uri_(std::move(uri)), options_(std::move(options)), listener_(std::move(listener)),
      rng_(std::random_device{}()) {
  if (options_.duplicate_ids.value_or(true)) duplicate_ids_.emplace();
}

void FailoverSession::emit(FailoverEvent e) {
  if (listener_) listener_(e);
}

std::string FailoverSession::broker() const { return current_ ? name(*current_) : std::string(); }

std::optional<Error> FailoverSession::last_error() const {
  if (finished_) return finished_;
  if (session_ && session_->error()) return session_->error();
  return std::nullopt;
}

void FailoverSession::set_timeout(std::chrono::milliseconds t) {
  options_.timeout = t;
  if (session_) session_->set_timeout(t);
}

FailoverSession::Clock::time_point FailoverSession::reconnect_deadline() const {
  if (uri_.options.timeout_ms < 0) return Clock::time_point::max();
  return Clock::now() + std::chrono::milliseconds(uri_.options.timeout_ms);
}

bool FailoverSession::live() const { return session_ && session_->usable().has_value(); }

// --- sends and receipts ------------------------------------------------------------

void FailoverSession::write(PendingSend& p) {
  auto extra = header_views(p.headers);
  if (!p.duplicate_id.empty()) extra.push_back({kDuplicateIdHeader, p.duplicate_id});
  p.receipt = session_->connection().send(SendFrame{
      .destination = p.destination,
      .body = p.body,
      .persistent = p.persistent,
      .receipt = true,
      .transaction = p.transaction,
      .headers = extra,
  });
  if (p.receipt) session_->expect_receipt(p.receipt);
}

void FailoverSession::sweep() {
  if (!session_ || session_->receipts_arrived() == 0) return;
  std::erase_if(pending_, [&](const PendingSend& p) {
    if (p.receipt == 0 || !session_->has_receipt(p.receipt)) return false;
    session_->forget_receipt(p.receipt);
    return true;
  });
}

FailoverSession::PendingSend* FailoverSession::find_pending(std::uint64_t seq) {
  for (PendingSend& p : pending_) {
    if (p.seq == seq) return &p;
  }
  return nullptr;
}

void FailoverSession::drop_pending(std::uint64_t seq) {
  std::erase_if(pending_, [&](const PendingSend& p) {
    if (p.seq != seq) return false;
    if (p.receipt && session_) session_->forget_receipt(p.receipt);
    return true;
  });
}

std::optional<Error> FailoverSession::lost_transaction(const std::string& tx) const {
  if (auto it = lost_transactions_.find(tx); it != lost_transactions_.end()) {
    return Error{static_cast<int>(Errc::transaction_rolled_back),
                 it->second + "; its sends and acks did not happen: begin a new transaction and redo them"};
  }
  return std::nullopt;
}

Result<void> FailoverSession::send(std::string_view destination, std::string_view body,
                                   const SendOptions& options) {
  if (finished_) return std::unexpected(*finished_);
  const std::string tx(options.transaction);
  if (auto e = lost_transaction(tx)) return std::unexpected(*e);
  const auto deadline = reconnect_deadline();
  const std::string what = "SEND to " + std::string(destination);

  // Bound what we keep for re-sending: wait for receipts when too many are out.
  while (pending_.size() >= kMaxUnconfirmed) {
    if (auto r = ensure_live(deadline); !r) return r;
    const std::size_t before = pending_.size();
    session_->run_until([&] { return session_->receipts_arrived() > 0 || !live(); }, session_->timeout());
    sweep();
    if (live() && pending_.size() == before) {
      return make_error(Errc::timeout, what + ": " + std::to_string(before) +
                                           " earlier sends still wait for their RECEIPT from " + broker());
    }
  }

  const std::uint64_t seq = next_seq_++;
  pending_.push_back(PendingSend{.seq = seq,
                                 .destination = std::string(destination),
                                 .body = std::string(body),
                                 .headers = options.headers,
                                 .persistent = options.persistent,
                                 .transaction = tx});
  if (duplicate_ids_ && !find_header(options.headers, kDuplicateIdHeader))
    pending_.back().duplicate_id = std::string(duplicate_ids_->next());
  bool written = false;
  for (;;) {
    if (auto r = ensure_live(deadline); !r) {
      drop_pending(seq);
      if (auto e = lost_transaction(tx); e && !tx.empty()) return std::unexpected(*e);
      return make_error(code_of(r.error()),
                        what + ": " + r.error().message +
                            (written ? " (it was written before the connection broke and may have reached "
                                       "the broker; it will not be re-sent)"
                                     : " (not sent)"));
    }
    PendingSend* p = find_pending(seq);
    if (!p) {  // dropped by lose(): its transaction was rolled back
      if (auto e = lost_transaction(tx)) return std::unexpected(*e);
      return make_error(Errc::transaction_rolled_back, what + ": its transaction was rolled back by a failover");
    }
    if (p->receipt == 0) write(*p);
    written = true;
    if (!options.receipt) {
      // Fire-and-forget: done once the bytes are on the socket; the receipt is
      // still tracked (a later failover re-sends the message if it never comes).
      session_->run_until(
          [&] { return session_->connection().queued_bytes() == 0 || session_->closed(); },
          session_->timeout());
      sweep();
      if (!live()) continue;
      if (session_->connection().queued_bytes() == 0) return {};
      drop_pending(seq);
      return make_error(Errc::timeout, what + ": " + broker() + " did not take the bytes within " +
                                           millis(session_->timeout()));
    }
    const std::uint64_t n = p->receipt;
    session_->run_until([&] { return session_->has_receipt(n) || !live(); }, session_->timeout());
    sweep();
    if (!find_pending(seq)) return {};
    if (!live()) continue;  // lost: reconnect, re-send, wait again
    drop_pending(seq);
    return make_error(Errc::timeout, "no RECEIPT for " + what + " from " + broker() + " within " +
                                         millis(session_->timeout()) +
                                         " (it may still arrive; it will not be re-sent)");
  }
}

// --- subscriptions, receiving, acks --------------------------------------------------

Result<void> FailoverSession::subscribe(std::string_view destination, std::string_view id, AckMode ack,
                                        const Headers& headers) {
  const auto deadline = reconnect_deadline();
  const std::string what = "SUBSCRIBE to " + std::string(destination);
  for (;;) {
    if (auto r = ensure_live(deadline); !r) return make_error(code_of(r.error()), what + ": " + r.error().message);
    const auto extra = header_views(headers);
    const std::uint64_t n = session_->connection().subscribe(destination, id, ack, extra, true);
    auto r = session_->await_receipt(n, what);
    sweep();
    if (r) {
      std::erase_if(subscriptions_, [&](const Subscription& s) { return s.id == id; });
      subscriptions_.push_back({std::string(destination), std::string(id), ack, headers});
      return {};
    }
    if (!live()) continue;
    return r;
  }
}

Result<void> FailoverSession::unsubscribe(std::string_view id) {
  const auto deadline = reconnect_deadline();
  const bool known = std::erase_if(subscriptions_, [&](const Subscription& s) { return s.id == id; }) > 0;
  // A connection made after this point has not restored the subscription.
  const std::uint64_t on = live() ? connection_number_ : 0;
  for (;;) {
    if (auto r = ensure_live(deadline); !r) return r;
    if (known && connection_number_ != on) return {};
    auto r = session_->await_receipt(session_->connection().unsubscribe(id, true),
                                     "UNSUBSCRIBE " + std::string(id));
    sweep();
    if (r || live()) return r;
  }
}

std::optional<ReceivedMessage> FailoverSession::receive(std::chrono::milliseconds timeout) {
  const auto deadline = std::min(Clock::now() + timeout, reconnect_deadline());
  for (;;) {
    if (!carried_.empty()) {
      ReceivedMessage m = std::move(carried_.front());
      carried_.pop_front();
      return m;
    }
    if (!ensure_live(deadline)) return std::nullopt;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    session_->run_until([&] { return session_->messages_in_inbox() > 0 || !live(); },
                        std::max(left, std::chrono::milliseconds(0)));
    sweep();
    auto& inbox = session_->inbox();
    for (auto it = inbox.begin(); it != inbox.end(); ++it) {
      if (it->command != stomp::Command::message) continue;
      ReceivedFrame f = std::move(*it);
      inbox.erase(it);
      session_->taken_from_inbox(f);
      ReceivedMessage m = to_message(std::move(f));
      m.connection = connection_number_;
      return m;
    }
    if (!live() && Clock::now() < deadline) continue;
    return std::nullopt;
  }
}

Result<void> FailoverSession::ack_or_nack(bool ack, const ReceivedMessage& m, const AckOptions& options) {
  if (session_ && !live()) end_session();  // an ERROR ends the client; a loss is noted
  if (finished_) return std::unexpected(*finished_);
  const std::string tx(options.transaction);
  if (auto e = lost_transaction(tx)) return std::unexpected(*e);
  const std::string what = std::string(ack ? "ACK" : "NACK") + " of " + m.message_id;
  auto dropped = [&](const std::string& why) -> Result<void> {
    if (!tx.empty()) {
      lost_transactions_.try_emplace(tx, "transaction '" + tx + "' was rolled back: " + why);
      if (auto e = lost_transaction(tx)) return std::unexpected(*e);
    }
    emit({.kind = FailoverEventKind::ack_dropped, .broker = broker(),
          .reason = what + ": " + why + "; the broker redelivers the message (redelivered=true)"});
    return {};
  };
  if (!live() || m.connection != connection_number_) {
    return dropped("it was delivered on connection " + std::to_string(m.connection) +
                   ", which was lost (now on connection " +
                   std::to_string(connection_number_ + (live() ? 0 : 1)) + ")");
  }
  if (!ack && session_->connection().version() == stomp::Version::v1_0) {
    return make_error(Errc::bad_argument, "NACK does not exist in STOMP 1.0 (negotiated here)");
  }
  const AckIds ids{m.ack_id, m.message_id, m.subscription};
  auto& c = session_->connection();
  const std::uint64_t n = ack ? c.ack(ids, tx, options.receipt) : c.nack(ids, tx, options.receipt);
  auto r = options.receipt ? session_->await_receipt(n, what) : session_->await_flushed(what);
  sweep();
  if (r || live()) return r;
  return dropped("the connection to " + broker() + " broke before it was confirmed");
}

// --- transactions -----------------------------------------------------------------

Result<void> FailoverSession::begin(std::string_view transaction) {
  const auto deadline = reconnect_deadline();
  const std::string tx(transaction);
  for (;;) {
    if (auto r = ensure_live(deadline); !r) return r;
    auto r = session_->await_receipt(session_->connection().begin(tx, true), "BEGIN " + tx);
    sweep();
    if (r) {
      lost_transactions_.erase(tx);
      open_transactions_.insert(tx);
      return {};
    }
    if (!live()) continue;  // nothing was in it yet: begin again on the new connection
    return r;
  }
}

Result<void> FailoverSession::commit(std::string_view transaction) {
  const std::string tx(transaction);
  if (auto r = ensure_live(reconnect_deadline()); !r) {
    if (auto e = lost_transaction(tx)) {
      lost_transactions_.erase(tx);
      return std::unexpected(*e);
    }
    return r;
  }
  if (auto e = lost_transaction(tx)) {
    lost_transactions_.erase(tx);
    return std::unexpected(*e);
  }
  auto r = session_->await_receipt(session_->connection().commit(tx, true), "COMMIT " + tx);
  sweep();
  if (r || live()) {
    open_transactions_.erase(tx);
    return r;
  }
  open_transactions_.erase(tx);  // not "lost": nobody knows whether it committed
  return make_error(Errc::outcome_unknown,
                    "COMMIT of transaction '" + tx + "': the connection to " + broker() +
                        " broke before its RECEIPT, so whether it was committed is unknown; check "
                        "before redoing it");
}

Result<void> FailoverSession::abort(std::string_view transaction) {
  const std::string tx(transaction);
  if (lost_transactions_.erase(tx)) return {};  // already rolled back by the failover
  if (auto r = ensure_live(reconnect_deadline()); !r) return r;
  if (lost_transactions_.erase(tx)) return {};
  auto r = session_->await_receipt(session_->connection().abort(tx, true), "ABORT " + tx);
  sweep();
  open_transactions_.erase(tx);
  if (r || live()) return r;
  return {};  // the connection broke: the broker rolls the transaction back anyway
}

Result<void> FailoverSession::disconnect() {
  const auto deadline = reconnect_deadline();
  for (;;) {
    if (finished_) return std::unexpected(*finished_);
    if (!live() && pending_.empty()) break;  // nothing that a broker still has to confirm
    if (auto r = ensure_live(deadline); !r) return r;
    // The RECEIPT of DISCONNECT confirms every frame before it.
    auto r = session_->await_receipt(session_->connection().disconnect(true), "DISCONNECT");
    if (r) {
      pending_.clear();
      session_->run_until([&] { return session_->closed(); }, session_->timeout());
      break;
    }
    // Lost before the RECEIPT (a close, not an ERROR): reconnect, re-send what is
    // unconfirmed, and DISCONNECT there.
    if (!live() && !(session_->error() && code_of(*session_->error()) == Errc::server_error)) continue;
    return r;
  }
  session_.reset();
  finished_ = Error{static_cast<int>(Errc::connection_closed), "disconnected"};
  return {};
}

// --- FailoverClient -----------------------------------------------------------------

FailoverClient::FailoverClient(std::unique_ptr<FailoverSession> session) : session_(std::move(session)) {}
FailoverClient::FailoverClient(FailoverClient&&) noexcept = default;
FailoverClient& FailoverClient::operator=(FailoverClient&&) noexcept = default;
FailoverClient::~FailoverClient() = default;

Result<FailoverClient> FailoverClient::connect(std::string_view uri, ConnectOptions options,
                                               FailoverListener listener) {
  auto parsed = parse_failover_uri(uri);
  if (!parsed) return std::unexpected(parsed.error());
  return connect(std::move(*parsed), std::move(options), std::move(listener));
}

Result<FailoverClient> FailoverClient::connect(FailoverUri uri, ConnectOptions options,
                                               FailoverListener listener) {
  if (uri.brokers.empty()) return make_error(Errc::bad_argument, "failover URI: the broker list is empty");
  auto s = std::make_unique<FailoverSession>(std::move(uri), std::move(options), std::move(listener));
  if (auto r = s->start(); !r) return std::unexpected(r.error());
  return FailoverClient(std::move(s));
}

Result<void> FailoverClient::send(std::string_view destination, std::string_view body,
                                  const SendOptions& options) {
  return session_->send(destination, body, options);
}
Result<void> FailoverClient::subscribe(std::string_view destination, std::string_view id, AckMode ack,
                                       const Headers& headers) {
  return session_->subscribe(destination, id, ack, headers);
}
Result<void> FailoverClient::unsubscribe(std::string_view id) { return session_->unsubscribe(id); }
std::optional<ReceivedMessage> FailoverClient::receive(std::chrono::milliseconds timeout) {
  return session_->receive(timeout);
}
Result<void> FailoverClient::ack(const ReceivedMessage& message, const AckOptions& options) {
  return session_->ack_or_nack(true, message, options);
}
Result<void> FailoverClient::nack(const ReceivedMessage& message, const AckOptions& options) {
  return session_->ack_or_nack(false, message, options);
}
Result<void> FailoverClient::begin(std::string_view transaction) { return session_->begin(transaction); }
Result<void> FailoverClient::commit(std::string_view transaction) { return session_->commit(transaction); }
Result<void> FailoverClient::abort(std::string_view transaction) { return session_->abort(transaction); }
Result<void> FailoverClient::disconnect() { return session_->disconnect(); }
bool FailoverClient::is_finished() const { return session_->finished(); }
std::optional<Error> FailoverClient::last_error() const { return session_->last_error(); }
std::string FailoverClient::broker() const { return session_->broker(); }
std::uint64_t FailoverClient::connection_number() const { return session_->connection_number(); }
std::size_t FailoverClient::unconfirmed_sends() const { return session_->unconfirmed_sends(); }
void FailoverClient::set_timeout(std::chrono::milliseconds timeout) { session_->set_timeout(timeout); }

}  // namespace twinmq::client
