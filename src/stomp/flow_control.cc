// stomp/flow_control.cc — producer flow control on one connection (README "Memory,
// store limits and producer flow control").
//
// The broker refuses a SEND (or COMMIT) that finds no room — the broker's memoryUsage,
// the destination's memoryLimit, or storeUsage for persistent work — without changing
// anything (broker/limits.cc). Unless sendFailIfNoSpace says to answer with an ERROR,
// the session then:
//  1. keeps the frame (an owned copy: stomp/held_frame.h) and asks the broker to say
//     when room is released (Broker::wait_for_room -> on_room);
//  2. goes on reading, because the connection may also be a consumer: an ACK or NACK
//     without a transaction that arrives behind the waiting frame is processed at once
//     (it may be what makes the room; its RECEIPT may then come before the waiting
//     SEND's). Any other frame is held behind the waiting one, in order; once more than
//     kMaxHeldBehind bytes are held, reading stops and the producer is held back by TCP.
//     So a client that pipelines SENDs and then ACKs on one connection gets its ACKs
//     through as long as they are within kMaxHeldBehind of the waiting SEND, and what
//     the broker holds per waiting connection is bounded by that plus one read and one
//     frame. (ActiveMQ blocks the producer's send per destination, not the connection; a
//     STOMP connection is one ordered stream, so this is as close as order allows.)
//  3. on_room() defers a retry to a zero-delay timer (StompServer::schedule_retry),
//     outside the broker call that released the room; the retry processes the held
//     frames in order until one has to wait again or none is left, then reading
//     resumes.
//  4. with sendFailIfNoSpaceAfterTimeout, a frame that has waited that long gets the
//     ERROR instead (checked by the housekeeping tick, so up to 100 ms late).
// Other connections, consumers and producers to destinations with room never notice.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/clock.h"
#include "base/printable.h"
#include "stomp/server.h"
#include "stomp/session.h"

namespace twinmq::stomp {

namespace {
constexpr std::int64_t kWaitLogEveryMs = 10'000;
constexpr std::size_t kMaxHeldBehind = 256u << 10;

std::string what_waits(const Frame& frame) {
  if (frame.command == Command::commit)
    return "COMMIT of transaction '" + printable(frame.header("transaction").value_or("")) + "'";
  return "SEND to " + printable(frame.header("destination").value_or(""));
}
}  // namespace

Session::Outcome Session::wait_for_room(const Frame& frame, const Error& error, bool already_held) {
  const ServerOptions& opts = server_.options();
  if (opts.send_fail_if_no_space) {
    fail(Error{error.code, error.message + "; the " + std::string(command_name(frame.command)) +
                               " was refused at once (sendFailIfNoSpace)"},
         &frame);
    return Outcome::closing;
  }
  if (!already_held) {
    held_.emplace_back(frame);
    held_bytes_ += held_.back().bytes();
  }
  const std::int64_t now = mono_ms();
  if (waiting_since_ms_ == 0) waiting_since_ms_ = now;
  waiting_error_ = error;
  broker_.wait_for_room(conn_id_);
  if (wait_logged_ms_ == 0 || now - wait_logged_ms_ >= kWaitLogEveryMs) {
    wait_logged_ms_ = now;
    spdlog::info("connection {} from {}: {} waits for room (producer flow control): {}", number_, peer_,
                 what_waits(frame), error.message);
  }
  return Outcome::waiting;
}

bool Session::hold_behind(const Frame& frame) {
  if ((frame.command == Command::ack || frame.command == Command::nack) && !frame.header("transaction"))
    return process(frame) != Outcome::closing;
  held_.emplace_back(frame);
  held_bytes_ += held_.back().bytes();
  if (held_bytes_ - held_.front().bytes() > kMaxHeldBehind) set_paused(kFlowControl, true);
  return true;
}

void Session::on_room() {
  if (held_.empty() || retry_scheduled_ || state_ == State::closing) return;
  retry_scheduled_ = true;
  server_.schedule_retry(this);
}

void Session::retry_held() {
  retry_scheduled_ = false;
  if (state_ == State::closing) return;
  // Every frame processed here is held_.front(): one that has to wait stays there.
  while (!held_.empty()) {
    retrying_ = true;
    const Outcome o = process(held_.front().view());
    retrying_ = false;
    if (o == Outcome::waiting) return;
    held_bytes_ -= std::min(held_bytes_, held_.front().bytes());
    held_.pop_front();
    waiting_since_ms_ = 0;
    if (o == Outcome::closing) return;
  }
  held_bytes_ = 0;
  set_paused(kFlowControl, false);
}

void Session::check_waiting(std::int64_t now_ms) {
  if (held_.empty() || waiting_since_ms_ == 0) return;
  const std::uint32_t timeout = server_.options().send_fail_if_no_space_after_timeout_ms;
  if (timeout == 0 || now_ms - waiting_since_ms_ < static_cast<std::int64_t>(timeout)) return;
  const Frame f = held_.front().view();
  fail(Error{waiting_error_.code, waiting_error_.message + "; the " + std::string(command_name(f.command)) +
                                      " waited " + std::to_string(now_ms - waiting_since_ms_) +
                                      " ms for room (sendFailIfNoSpaceAfterTimeout)"},
       &f);
}

}  // namespace twinmq::stomp
