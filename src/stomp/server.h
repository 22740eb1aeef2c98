// stomp/server.h — a STOMP transport connector: the listener and the sessions it
// accepted.
//
// DESIGN
//  - open() starts listening, close_listener() stops (a slave, or a master waiting
//    for its slave, keeps its connectors closed = not listening, ARCHITECTURE.md).
//  - Sessions are self-owned (freed when their connection closes) and registered
//    here so shutdown can close them and the housekeeping timer can check their
//    deadlines: one periodic check for every connection's timeouts (connect timeout,
//    frame timeout, heart-beats), as Redis clientsCron does, instead of a timer per
//    connection.
//  - maximumConnections: a connection accepted while max_connections sessions exist is
//    closed at once, before a Session (or any buffer) exists for it. Accepting it (rather
//    than leaving it in the backlog) is what lets the listener keep serving the others.
//    The first refusal is logged at once, later ones as one line per 10 s with a count.
//  - TLS (stomp+ssl://) is the connection's business: accept() gives it an engine and
//    the session never knows. A client that never finishes its handshake is closed by
//    the same connect timeout as one that never sends CONNECT.
//
// Lifecycle: owned by app::Runtime; loop thread only. close_all() before destruction.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "auth/security.h"
#include "base/result.h"
#include "broker/broker.h"
#include "net/loop.h"
#include "net/tcp_connection.h"
#include "net/tcp_listener.h"
#include "net/timer.h"
#include "net/write_guard.h"
#include "stomp/frame_parser.h"
#include "tls/context.h"

namespace twinmq::stomp {

class Session;

struct ServerOptions {
  std::string name = "stomp";          // connector name, for logs
  std::string host = "127.0.0.1";
  std::uint16_t port = 61613;          // 0 = any free port
  ParserLimits limits{.strict_command_line = true};
  std::uint32_t connect_timeout_ms = 30000;
  double heart_beat_grace = 1.5;       // multiplier on the interval we expect beats
  std::uint32_t heart_beat_ms = 10000; // the most we offer in CONNECTED (sx and sy)
  std::uint32_t min_heart_beat_ms = 100;  // the least, however fast a client asks (negotiate.h)
  std::size_t max_pending_output = 64u << 20;
  // What one client may take (stomp:// options; README "Configuration reference").
  std::uint32_t max_connections = 10000;     // maximumConnections: past it a new socket is closed at once
  std::uint32_t max_subscriptions = 1000;    // maximumConsumersAllowedPerConnection: SUBSCRIBE past it is an ERROR
  std::uint32_t max_transactions = 10;       // maximumTransactionsPerConnection: BEGIN past it is an ERROR
  std::uint32_t max_unacked = 10000;         // maximumUnacknowledgedPerConnection: dispatch pauses at it
  std::uint32_t frame_timeout_ms = 60000;    // transport.frameTimeout: a started frame must end within
  // A SEND/COMMIT that finds no memory or store room (systemUsage; stomp/flow_control.cc):
  bool send_fail_if_no_space = false;              // sendFailIfNoSpace: an ERROR at once
  std::uint32_t send_fail_if_no_space_after_timeout_ms = 0;  // ...or after waiting this long (0 = wait)
  std::string server_name = "twinmq";  // CONNECTED server header
  // Users, rights and failed-login counts, shared by every connector (auth/security.h).
  // nullptr or no users: anyone may connect, as user "anonymous". Not owned.
  auth::Security* security = nullptr;
  // With a witness: every session's writes must pass it (net/write_guard.h). Not owned.
  const net::WriteGuard* write_guard = nullptr;
  // stomp+ssl://: every accepted connection speaks TLS with this server context
  // (net/tcp_connection.h "TLS"); null = plain TCP.
  std::shared_ptr<tls::Context> tls;
};

class StompServer {
 public:
  StompServer(net::Loop& loop, broker::Broker& broker, ServerOptions options);
  ~StompServer();
  StompServer(const StompServer&) = delete;
  StompServer& operator=(const StompServer&) = delete;

  // Starts listening; prints "twinmq: listening <name> <ip:port>" on stdout (tools
  // and tests wait for that line).
  Result<void> open();
  void close_listener();
  bool listening() const { return listener_ != nullptr; }
  std::uint16_t port() const;
  std::string address() const { return listener_ ? listener_->address() : std::string(); }  // "ip:port", "" closed

  // Closes every session (each flushes what it has queued first).
  void close_all();
  // This broker stopped serving (its witness lease ran out): every session drops what
  // it has queued and is closed with an ERROR saying `why`, so failover clients move
  // at once. Returns how many sessions were closed.
  std::size_t fence_all(std::string_view why);
  std::size_t session_count() const { return sessions_.size(); }
  // Stop (true) or resume (false) reading from every connection, new ones included:
  // back-pressure from the replication link when the slave falls behind (the master's
  // receipts wait for it anyway; this keeps clients without receipts from piling events
  // up in memory). Output, deliveries and heart-beats to clients go on.
  void hold_reading(bool on);
  bool reading_held() const { return reading_held_; }
  // Since start (never going down when connections close): for /metrics.
  std::uint64_t accepted_total() const { return accepted_total_; }
  std::uint64_t refused_total() const { return refused_total_; }

  // --- for Session ---
  net::Loop& loop() { return loop_; }
  broker::Broker& broker() { return broker_; }
  const ServerOptions& options() const { return options_; }
  void forget(Session* s) { sessions_.erase(s); }
  // `s` was told there is room again: it retries its waiting frames from a zero-delay
  // timer, outside the broker call that made the room (broker::Client::on_room).
  void schedule_retry(Session* s);

 private:
  void accept(net::TcpListener& listener);
  void refuse(net::TcpConnection* conn);
  void report_refusals(std::int64_t now_ms);
  void housekeeping();
  void run_retries();

  net::Loop& loop_;
  broker::Broker& broker_;
  ServerOptions options_;
  net::HandlePtr<net::TcpListener> listener_;
  net::HandlePtr<net::Timer> timer_;
  net::HandlePtr<net::Timer> retry_timer_;
  bool retry_armed_ = false;
  std::vector<Session*> retries_, retries_scratch_;
  std::unordered_set<Session*> sessions_;
  std::uint64_t next_session_ = 1;
  bool reading_held_ = false;
  std::uint64_t refused_unreported_ = 0;  // past maximumConnections since the last log line
  std::uint64_t refused_total_ = 0;
  std::uint64_t accepted_total_ = 0;
  std::int64_t refusal_reported_ms_ = 0;
};

}  // namespace twinmq::stomp
