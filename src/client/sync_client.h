// client/sync_client.h — SyncSession: the engine under SyncClient (twinmq/client.h).
//
// DESIGN
//  - A SyncSession owns one net::Loop and one StompConnection and runs the loop only
//    inside run_until(), which returns when the caller's condition holds or its
//    deadline passes; there is no thread and no sleep.
//  - Everything the broker sends lands in an inbox in arrival order, copied out of
//    the read buffer, except RECEIPTs the session asked for itself: those only
//    complete the call waiting for them. ERROR frames go to the inbox (read_frame()
//    sees them) and also become the session's error, which fails the waiting call and
//    every later one.
//  - The one tricky thing: libuv computes its poll timeout after the prepare hook
//    has flushed our output, so a write that completed inside that flush would not
//    wake the loop. run_until() therefore runs a non-blocking turn (flush + poll
//    with no wait) before every blocking one and re-checks the condition in between.
//
// FailoverSession (failover_client.cc) owns one SyncSession per connection attempt
// and replays subscriptions and unreceipted sends into the new one; it tracks its
// SENDs' receipts without blocking on them (expect_receipt / has_receipt).
//
// Lifecycle: owned by SyncClient through unique_ptr; destroying it closes the socket
// and shuts the loop down (every handle closed, uv_loop_close() == 0). One thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include "client/connection.h"
#include "client/duplicate_ids.h"
#include "net/loop.h"
#include "net/timer.h"
#include "tls/context.h"
#include "twinmq/client.h"

namespace twinmq::client {

// A MESSAGE frame from the inbox as the API's ReceivedMessage.
ReceivedMessage to_message(ReceivedFrame&& frame);

class SyncSession final : private StompListener {
 public:
  explicit SyncSession(ConnectOptions options);
  ~SyncSession();
  SyncSession(const SyncSession&) = delete;
  SyncSession& operator=(const SyncSession&) = delete;

  // Resolves, connects (TLS with options.tls, or the context given to use_tls()),
  // waits for CONNECTED within options.timeout.
  Result<void> open(const std::string& host, std::uint16_t port);
  // Speaks TLS with `context` (FailoverClient builds one for all its connections).
  void use_tls(std::shared_ptr<tls::Context> context) { tls_ = std::move(context); }

  // Runs the loop until done() holds (true) or `timeout` passes (false).
  template <class Done>
  bool run_until(Done done, std::chrono::milliseconds timeout);

  // Ok while the connection can carry frames; else the ERROR that ended it, or why
  // it closed.
  Result<void> usable() const;
  // Waits for RECEIPT number `n`; fails early on ERROR or close. `what` names the
  // frame in the timeout message ("SEND to /queue/a").
  Result<void> await_receipt(std::uint64_t n, std::string_view what);
  // Waits until everything written is on the socket.
  Result<void> await_flushed(std::string_view what);
  // Receipts tracked without waiting: RECEIPT `n` is recorded when it comes (not put
  // in the inbox); has_receipt() tells, forget_receipt() drops the record.
  void expect_receipt(std::uint64_t n) { awaited_receipts_.insert(n); }
  bool has_receipt(std::uint64_t n) const { return arrived_receipts_.contains(n); }
  void forget_receipt(std::uint64_t n) {
    awaited_receipts_.erase(n);
    arrived_receipts_.erase(n);
  }
  std::size_t receipts_arrived() const { return arrived_receipts_.size(); }
  const std::string& where() const { return where_; }

  StompConnection& connection() { return *conn_; }
  // SyncClient::send's ids, when ConnectOptions::duplicate_ids is set (null otherwise;
  // a FailoverSession keeps its own source across its connections).
  DuplicateIdSource* duplicate_ids() { return duplicate_ids_ ? &*duplicate_ids_ : nullptr; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }

  std::deque<ReceivedFrame>& inbox() { return inbox_; }
  std::size_t messages_in_inbox() const { return messages_in_inbox_; }
  void taken_from_inbox(const ReceivedFrame& f) {
    if (f.command == stomp::Command::message) --messages_in_inbox_;
  }
  bool closed() const { return closed_; }
  const std::optional<Error>& error() const { return error_; }
  void poll();  // one non-blocking loop turn

 private:
  void on_connected(StompConnection& c, const stomp::Frame& connected) override;
  void on_message(StompConnection& c, const stomp::Frame& message) override;
  void on_receipt(StompConnection& c, std::string_view receipt_id) override;
  void on_error(StompConnection& c, const stomp::Frame& error) override;
  void on_closed(StompConnection& c, const CloseInfo& why) override;

  void push_frame(const stomp::Frame& frame);
  void arm_deadline(std::chrono::milliseconds timeout);
  void run_turn(bool block);

  net::Loop loop_;  // first: destroyed last, after every handle below is closed
  ConnectOptions options_;
  std::shared_ptr<tls::Context> tls_;  // null: plain TCP
  std::chrono::milliseconds timeout_;
  std::unique_ptr<StompConnection> conn_;
  net::HandlePtr<net::Timer> deadline_;
  bool deadline_passed_ = false;
  std::string where_;  // "host:port" for messages
  std::deque<ReceivedFrame> inbox_;
  std::size_t messages_in_inbox_ = 0;
  std::unordered_set<std::uint64_t> awaited_receipts_;
  std::unordered_set<std::uint64_t> arrived_receipts_;
  std::optional<Error> error_;
  std::optional<DuplicateIdSource> duplicate_ids_;
  std::uint64_t errors_seen_ = 0;
  bool connected_ = false;
  bool closed_ = false;
};

template <class Done>
bool SyncSession::run_until(Done done, std::chrono::milliseconds timeout) {
  if (done()) return true;
  arm_deadline(timeout);
  while (!deadline_passed_) {
    run_turn(false);  // flush what we wrote, take what is already there
    // The deadline timer may have fired in that turn (a zero timeout always does);
    // blocking now would wait with no timer left to wake us.
    if (done() || deadline_passed_) break;
    run_turn(true);   // block until something happens (at worst the deadline)
    if (done()) break;
  }
  deadline_->stop();
  return done();
}

}  // namespace twinmq::client
