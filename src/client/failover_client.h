// client/failover_client.h — FailoverSession: the engine under FailoverClient
// (twinmq/failover.h).
//
// DESIGN
//  - Owns at most one SyncSession (one connection) at a time, and everything needed
//    to rebuild a session on another broker: the ConnectOptions, the active
//    subscriptions, the SENDs not yet receipted (in send order), the open
//    transactions. A SyncSession is created per connection attempt and thrown away
//    when its connection ends; nothing of a dead connection is reused.
//  - Every SEND asks for a RECEIPT. The entry stays in `pending_` until that RECEIPT
//    arrives on the connection it was written to; after a failover every entry is
//    written again, in order, on the new connection. That is what makes a send
//    at-least-once. SendOptions::receipt = false only means "do not wait for it".
//  - Every SEND also gets a duplicate-detection id (`_AMQ_DUPL_ID`, client/
//    duplicate_ids.h) when it is first queued, unless ConnectOptions::duplicate_ids
//    is false or the caller set the header: the re-sent copy carries the same id, so
//    a broker that stored the first one drops the second (exactly once per window).
//  - A call notices a lost connection when its SyncSession reports closed. It then
//    reconnects (reconnect()), restores (subscriptions, then pending sends), and
//    finishes its own work on the new connection. There is no background thread:
//    between calls nothing happens.
//  - Reconnect progress survives calls: a call whose `timeout` runs out returns
//    Errc::timeout, and the next call carries on with the same pass and attempt
//    count. The only wait that is not in a libuv loop is the back-off delay itself,
//    when there is no connection to run a loop for.
//
// State (one field each, checked in this order by ensure_live()):
//   finished_   set       -> terminal: disconnected, gave up, or a broker ERROR
//   session_    live      -> connected
//   session_    closed    -> lost: lose() records why, then reconnect()
//   session_    null      -> reconnecting: pass `attempt_` at position `pos_` of `order_`
//
// Lifecycle: owned by FailoverClient through unique_ptr. One thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "client/duplicate_ids.h"
#include "client/sync_client.h"
#include "twinmq/failover.h"

namespace twinmq::client {

// Views of `headers` for the frame writer (valid while `headers` lives).
std::vector<stomp::Header> header_views(const Headers& headers);

class FailoverSession {
 public:
  using Clock = std::chrono::steady_clock;
  // The `message` of the ERROR a twinmq broker sends when it stops serving (it lost the
  // pair's witness): a failover, not the end of the client.
  static const std::string_view kNotServing;

  FailoverSession(FailoverUri uri, ConnectOptions options, FailoverListener listener);
  FailoverSession(const FailoverSession&) = delete;
  FailoverSession& operator=(const FailoverSession&) = delete;

  Result<void> start();  // the first connection

  Result<void> send(std::string_view destination, std::string_view body, const SendOptions& options);
  Result<void> subscribe(std::string_view destination, std::string_view id, AckMode ack,
                         const Headers& headers);
  Result<void> unsubscribe(std::string_view id);
  std::optional<ReceivedMessage> receive(std::chrono::milliseconds timeout);
  Result<void> ack_or_nack(bool ack, const ReceivedMessage& message, const AckOptions& options);
  Result<void> begin(std::string_view transaction);
  Result<void> commit(std::string_view transaction);
  Result<void> abort(std::string_view transaction);
  Result<void> disconnect();

  bool finished() const { return finished_.has_value(); }
  std::optional<Error> last_error() const;
  std::string broker() const;
  std::uint64_t connection_number() const { return connection_number_; }
  std::size_t unconfirmed_sends() const { return pending_.size(); }
  void set_timeout(std::chrono::milliseconds t);

 private:
  struct Subscription {
    std::string destination;
    std::string id;
    AckMode ack = AckMode::auto_ack;
    Headers headers;
  };
  // A SEND kept until its RECEIPT arrives.
  struct PendingSend {
    std::uint64_t seq = 0;      // send order
    std::string destination{};
    std::string body{};
    Headers headers{};
    bool persistent = false;
    std::string transaction{};
    std::string duplicate_id{};  // added as _AMQ_DUPL_ID when non-empty; kept for re-sends
    std::uint64_t receipt = 0;  // its receipt number on session_; 0 = not written there
  };

  // Reconnects if needed; ok once session_ is live and restored. `deadline` bounds
  // reconnecting (not a live connection's own waits).
  Result<void> ensure_live(Clock::time_point deadline);
  Result<void> reconnect(Clock::time_point deadline);
  Result<void> open_one(std::size_t broker, Clock::time_point deadline);
  bool restore();  // false: lost again while restoring (lose() was called)
  void end_session();  // session_ is closed or unusable: finish or lose()
  void lose(const std::string& reason);
  void give_up(const std::string& why);
  void begin_pass();

  Clock::time_point reconnect_deadline() const;
  bool live() const;
  void write(PendingSend& p);
  void sweep();  // drops the pending sends whose RECEIPT arrived
  PendingSend* find_pending(std::uint64_t seq);
  void drop_pending(std::uint64_t seq);
  std::optional<Error> lost_transaction(const std::string& tx) const;
  void emit(FailoverEvent e);
  std::string name(std::size_t broker) const { return uri_.brokers[broker].to_string(); }

  FailoverUri uri_;
  ConnectOptions options_;
  std::shared_ptr<tls::Context> tls_;  // for the ssl:// members; built by start()
  FailoverListener listener_;
  std::mt19937_64 rng_;

  std::unique_ptr<SyncSession> session_;
  std::optional<std::size_t> current_;  // broker of session_, or of the last one
  std::uint64_t connection_number_ = 0;
  bool ever_connected_ = false;
  std::optional<Error> finished_;

  // Reconnect progress.
  int attempt_ = 0;  // the pass under way: 0 = the very first, 1.. = reconnect passes
  std::vector<std::size_t> order_;
  std::size_t pos_ = 0;
  Clock::time_point next_pass_at_{};
  std::vector<std::string> pass_failures_;  // this pass: "broker: why"
  std::string lost_reason_;                 // why the last connection ended
  Error last_open_error_;                   // of the last failed connection attempt

  std::vector<Subscription> subscriptions_;
  std::optional<DuplicateIdSource> duplicate_ids_;  // unless ConnectOptions::duplicate_ids is false
  std::deque<PendingSend> pending_;
  std::uint64_t next_seq_ = 1;
  std::set<std::string, std::less<>> open_transactions_;
  std::map<std::string, std::string, std::less<>> lost_transactions_;  // id -> why
  std::deque<ReceivedMessage> carried_;  // auto-ack deliveries kept across a failover
};

}  // namespace twinmq::client
