// client/failover_reconnect.cc — how a FailoverSession gets (back) to a broker: the
// first connection, noticing a lost one (lose()), passes over the broker list with
// the back-off, giving up, and restoring subscriptions and unreceipted SENDs on the
// new connection. See failover_client.h for the design.
#include <thread>
#include <utility>

#include "client/failover_client.h"
#include "client/tls_options.h"

namespace twinmq::client {
namespace {

Errc code_of(const Error& e) { return static_cast<Errc>(e.code); }

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace

const std::string_view FailoverSession::kNotServing = "not serving";

Result<void> FailoverSession::start() {
  for (const BrokerAddress& a : uri_.brokers) {
    if (!a.tls()) continue;
    if (!options_.tls)
      return make_error(Errc::bad_argument, a.to_string() + " speaks TLS: give ConnectOptions::tls (at least trusted_cas)");
    auto context = make_tls_context(*options_.tls);
    if (!context) return std::unexpected(context.error());
    tls_ = std::move(*context);
    break;
  }
  attempt_ = 0;
  begin_pass();
  next_pass_at_ = Clock::now();
  return ensure_live(reconnect_deadline());
}

void FailoverSession::begin_pass() {
  pos_ = 0;
  order_ = pass_order(uri_.brokers.size(), current_, uri_.options.randomize, rng_);
  pass_failures_.clear();
}

Result<void> FailoverSession::ensure_live(Clock::time_point deadline) {
  for (;;) {
    if (finished_) return std::unexpected(*finished_);
    if (session_) {
      if (live()) return {};
      end_session();
      continue;
    }
    if (auto r = reconnect(deadline); !r) return r;
  }
}

void FailoverSession::end_session() {
  const std::optional<Error> err = session_->error();
  // "not serving": the broker lost its pair's witness and stopped serving (it closes
  // every client with this ERROR so that they move at once): the other broker serves.
  const bool moved_on = err && code_of(*err) == Errc::server_error && err->message.starts_with(kNotServing);
  if (err && !moved_on && (code_of(*err) == Errc::server_error || code_of(*err) == Errc::protocol_error)) {
    // The broker told us (or showed us) something is wrong with what we do; another
    // broker of the pair would say the same. Not a failover.
    finished_ = err;
    session_.reset();
    return;
  }
  lose(err ? err->message : "connection to " + session_->where() + " closed");
}

void FailoverSession::lose(const std::string& reason) {
  // 1. Deliveries still in the inbox. Those of client/client-individual
  //    subscriptions can no longer be acknowledged (their session is gone) and the
  //    broker redelivers them: drop them. Auto-ack ones count as consumed: keep them.
  std::size_t dropped = 0;
  for (ReceivedFrame& f : session_->inbox()) {
    if (f.command != stomp::Command::message) continue;
    const auto sub_id = f.header("subscription").value_or("");
    const auto sub = std::find_if(subscriptions_.begin(), subscriptions_.end(),
                                  [&](const Subscription& s) { return s.id == sub_id; });
    if (sub != subscriptions_.end() && sub->ack != AckMode::auto_ack) {
      ++dropped;
      continue;
    }
    ReceivedMessage m = to_message(std::move(f));
    m.connection = connection_number_;
    carried_.push_back(std::move(m));
  }
  // 2. Open transactions die with their connection (the broker rolls them back), and
  //    so do their unreceipted SENDs: re-sending them would name a transaction the
  //    new broker does not know.
  const std::string where = broker();
  for (const auto& tx : open_transactions_) {
    lost_transactions_[tx] = "transaction '" + tx + "' was rolled back: the connection to " + where +
                             " was lost (" + reason + ")";
  }
  open_transactions_.clear();
  std::erase_if(pending_, [](const PendingSend& p) { return !p.transaction.empty(); });
  for (PendingSend& p : pending_) p.receipt = 0;
  session_.reset();
  lost_reason_ = reason;
  emit({.kind = FailoverEventKind::connection_lost, .broker = where, .reason = reason, .dropped = dropped});

  // 3. Start reconnecting: the lost broker goes last in the pass.
  attempt_ = 1;
  begin_pass();
  next_pass_at_ = Clock::now() + reconnect_delay(uri_.options, attempt_);
  const int limit = reconnect_attempt_limit(uri_.options, false);
  if (!uri_.failover) {
    finished_ = Error{static_cast<int>(Errc::connection_closed),
                      reason + " (a plain URI does not reconnect; use failover:(...))"};
  } else if (limit == 0) {
    give_up("connection to " + where + " lost (" + reason + ") and maxReconnectAttempts=0");
  }
}

void FailoverSession::give_up(const std::string& why) {
  finished_ = Error{static_cast<int>(Errc::reconnect_exhausted), "failover: " + why};
  emit({.kind = FailoverEventKind::gave_up, .broker = broker(), .reason = why, .attempts = attempt_});
}

Result<void> FailoverSession::reconnect(Clock::time_point deadline) {
  auto timed_out = [&] {
    std::string text = "no broker of the failover list reachable in time (timeout=" +
                       std::to_string(uri_.options.timeout_ms) + " ms); still reconnecting";
    if (!pass_failures_.empty()) text += "; last: " + join(pass_failures_);
    else if (!lost_reason_.empty()) text += "; connection lost: " + lost_reason_;
    return make_error(Errc::timeout, std::move(text));
  };
  for (;;) {
    if (finished_) return std::unexpected(*finished_);
    if (pos_ == 0 && Clock::now() < next_pass_at_) {
      // The back-off delay itself: there is no connection, so nothing can happen
      // that a loop would wake us for.
      if (deadline < next_pass_at_) {
        std::this_thread::sleep_until(deadline);
        return timed_out();
      }
      std::this_thread::sleep_until(next_pass_at_);
    }
    while (pos_ < order_.size()) {
      if (Clock::now() >= deadline) return timed_out();
      const std::size_t b = order_[pos_++];
      if (auto r = open_one(b, deadline); !r) {
        if (finished_) return std::unexpected(*finished_);
        last_open_error_ = r.error();
        pass_failures_.push_back(name(b) + ": " + r.error().message);
        emit({.kind = FailoverEventKind::attempt_failed, .broker = name(b), .reason = r.error().message,
              .attempts = attempt_});
        continue;
      }
      if (restore()) return {};
      if (finished_) return std::unexpected(*finished_);
      // Lost again while restoring: lose() has started a new pass.
      break;
    }
    if (pos_ < order_.size() || pos_ == 0) continue;  // a new pass was begun above
    // A whole pass failed.
    const std::string failures = join(pass_failures_);
    ++attempt_;
    const int limit = reconnect_attempt_limit(uri_.options, !ever_connected_);
    if (limit >= 0 && attempt_ > limit) {
      if (!uri_.failover) {  // a plain URI: the connect error as SyncClient reports it
        finished_ = last_open_error_;
        return std::unexpected(*finished_);
      }
      const bool startup_limit = !ever_connected_ && uri_.options.startup_max_reconnect_attempts != -1;
      give_up(std::string(ever_connected_ ? "no broker reachable after " : "no first connection after ") +
              std::to_string(attempt_ - 1) + " reconnect attempts (" +
              (startup_limit ? "startupMaxReconnectAttempts=" : "maxReconnectAttempts=") +
              std::to_string(limit) + "); last pass: " + failures);
      return std::unexpected(*finished_);
    }
    begin_pass();
    pass_failures_ = {failures};  // keep something to report if the deadline comes first
    next_pass_at_ = Clock::now() + reconnect_delay(uri_.options, attempt_);
  }
}

Result<void> FailoverSession::open_one(std::size_t b, Clock::time_point deadline) {
  ConnectOptions o = options_;
  if (deadline != Clock::time_point::max()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    o.timeout = std::clamp(left, std::chrono::milliseconds(1), options_.timeout);
  }
  const BrokerAddress& a = uri_.brokers[b];
  if (!a.tls()) o.tls.reset();  // tcp:// and stomp:// members are plain TCP whatever the options say
  auto s = std::make_unique<SyncSession>(o);
  if (a.tls()) s->use_tls(tls_);
  if (auto r = s->open(a.host, a.port); !r) {
    if (code_of(r.error()) == Errc::server_error) {
      // An ERROR answering CONNECT (bad credentials, ...) will not go away by retrying.
      finished_ = Error{r.error().code, name(b) + " refused CONNECT: " + r.error().message};
    }
    return r;
  }
  s->set_timeout(options_.timeout);
  session_ = std::move(s);
  current_ = b;
  return {};
}

bool FailoverSession::restore() {
  ++connection_number_;
  // Subscriptions first, so that nothing re-sent below can be missed by them.
  for (const Subscription& sub : subscriptions_) {
    const auto extra = header_views(sub.headers);
    const std::uint64_t n = session_->connection().subscribe(sub.destination, sub.id, sub.ack, extra, true);
    if (auto r = session_->await_receipt(n, "SUBSCRIBE to " + sub.destination); !r) {
      if (session_->closed() || session_->error()) {
        end_session();
      } else {
        lose("no RECEIPT for the restored SUBSCRIBE to " + sub.destination + " (" + r.error().message + ")");
      }
      return false;
    }
  }
  for (PendingSend& p : pending_) write(p);
  const bool first = !ever_connected_;
  ever_connected_ = true;
  FailoverEvent e{.kind = first ? FailoverEventKind::connected : FailoverEventKind::reconnected,
                  .broker = broker(),
                  .attempts = attempt_,
                  .resubscribed = subscriptions_.size(),
                  .resent = pending_.size()};
  attempt_ = 0;
  pass_failures_.clear();
  emit(std::move(e));
  return true;
}

}  // namespace twinmq::client
