#include "stomp/session.h"

#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/printable.h"
#include "stomp/frame_writer.h"
#include "stomp/server.h"

namespace twinmq::stomp {

Session::Session(StompServer& server, std::uint64_t number, net::TcpConnection* conn)
    : server_(server),
      broker_(server.broker()),
      conn_(conn),
      number_(number),
      peer_(conn->peer()),
      parser_(server.options().limits) {
  opened_ms_ = last_read_ms_ = last_write_ms_ = mono_ms();
  conn_->set_handler(this);
  spdlog::info("connection {} opened from {} on {}", number_, peer_, server_.options().name);
  if (server_.reading_held()) set_paused(kServerHold, true);
}

void Session::on_data(std::string_view bytes) {
  if (state_ == State::closing) return;
  if (state_ == State::awaiting_login) {  // reading is paused; a read already under way lands here
    held_after_connect_.append(bytes);
    return;
  }
  last_read_ms_ = mono_ms();
  const std::uint64_t ended_before = frames_in_ + heart_beats_in_;
  if (auto r = parser_.feed(bytes, *this); !r && state_ != State::closing) {
    fail(r.error(), nullptr);
    return;
  }
  if (state_ == State::closing) return;
  if (state_ == State::awaiting_login) {
    // The CONNECT's password is being checked: what followed it waits, unparsed.
    held_after_connect_.assign(bytes.substr(bytes.size() - parser_.left_unparsed()));
    return;
  }
  // A frame left unfinished began in this read if it is the first unfinished one or if
  // an earlier frame ended in this read; otherwise it is still the one that began before.
  if (parser_.buffered() == 0) {
    frame_started_ms_ = 0;
  } else if (frame_started_ms_ == 0 || frames_in_ + heart_beats_in_ != ended_before) {
    frame_started_ms_ = last_read_ms_;
  }
  // A peer that sends faster than it reads our replies is paused, not buffered for.
  if (conn_->above_high_watermark()) set_paused(kOutputFull, true);
}

bool Session::on_frame(const Frame& frame) {
  ++frames_in_;
  if (!held_.empty()) return hold_behind(frame);
  return process(frame) != Outcome::closing;
}

Session::Outcome Session::process(const Frame& frame) {
  auto seq = dispatch(frame);
  if (!seq) {
    const auto code = static_cast<ProtocolErrc>(seq.error().code);
    if ((code == ProtocolErrc::memory_limit_reached || code == ProtocolErrc::store_limit_reached) &&
        (frame.command == Command::send || frame.command == Command::commit))
      return wait_for_room(frame, seq.error(), retrying_);
    fail(seq.error(), &frame);
    return Outcome::closing;
  }
  if (*seq > last_seq_) last_seq_ = *seq;
  if (state_ == State::closing || state_ == State::awaiting_login) return Outcome::closing;
  switch (frame.command) {
    case Command::ack:
    case Command::nack:
    case Command::commit:
    case Command::abort:
    case Command::unsubscribe:
      if (unacked_ != 0) recount_unacked();
      break;
    default:
      break;
  }
  if (state_ == State::connected || frame.command == Command::connect || frame.command == Command::stomp) {
    if (auto receipt = frame.header("receipt"); receipt && frame.command != Command::connect &&
                                                frame.command != Command::stomp &&
                                                frame.command != Command::disconnect) {
      // Only a non-persistent SEND's receipt may skip the journal; every other change
      // (acks, commits, persistent sends) is confirmed once durable.
      const bool persistent = frame.command != Command::send || frame.header("persistent") == "true";
      queue_reply(*seq, persistent, ReplyKind::receipt, *receipt);
    }
  }
  return state_ != State::closing ? Outcome::processed : Outcome::closing;
}

void Session::on_drained() {
  if (state_ == State::closing) return;
  set_paused(kOutputFull, false);
  if (conn_id_) broker_.resume(conn_id_);
}

void Session::set_paused(std::uint8_t reason, bool on) {
  const bool was = paused_ != 0;
  paused_ = on ? static_cast<std::uint8_t>(paused_ | reason) : static_cast<std::uint8_t>(paused_ & ~reason);
  if (conn_ == nullptr || state_ == State::closing || was == (paused_ != 0)) return;
  if (paused_ != 0) {
    conn_->pause_reading();
    return;
  }
  conn_->resume_reading();
  // Every deadline counts the client's time, not the time we did not read.
  const std::int64_t now = mono_ms();
  last_read_ms_ = now;
  if (frame_started_ms_ != 0) frame_started_ms_ = now;
  if (state_ == State::awaiting_connect) opened_ms_ = now;
}

void Session::on_close(int status) {
  conn_ = nullptr;
  if (password_check_ != nullptr) {
    password_check_->cancel();  // the worker's answer then finds nobody to tell
    password_check_ = nullptr;
  }
  if (conn_id_) {
    broker_.reply_gate().forget(conn_id_);
    broker_.detach(conn_id_);
  }
  const char* why = status == 0 ? "closed" : status == UV_EOF ? "closed by peer" : uv_strerror(status);
  spdlog::info("connection {} from {} closed: {} (frames in {}, messages out {})", number_, peer_,
               why, frames_in_, messages_out_);
  server_.forget(this);
  delete this;
}

bool Session::can_accept() const {
  return state_ == State::connected && conn_ && !conn_->above_high_watermark() &&
         unacked_ < server_.options().max_unacked;
}

void Session::recount_unacked() {
  unacked_ = broker_.usage(conn_id_).unacked;
  if (unacked_paused_ && unacked_ < server_.options().max_unacked) {
    unacked_paused_ = false;
    if (log_debug()) spdlog::debug("connection {}: {} unacknowledged, dispatch resumes", number_, unacked_);
    broker_.resume(conn_id_);
  }
}

void Session::deliver(const broker::Delivery& d) {
  if (!conn_ || state_ == State::closing) return;
  const broker::Message& m = d.message;
  std::string& out = conn_->output();
  FrameWriter w(out, version_, Command::message);
  w.header("subscription", d.subscription_id);
  w.header("message-id", m.id_text());
  w.header("destination", m.destination());
  if (d.ack_tag != 0 && version_ == Version::v1_2) w.header("ack", d.ack_tag);
  if (d.redelivered) w.header("redelivered", "true");
  // The producer chose these: one this subscriber's version cannot carry exactly is
  // left out, never written raw (stomp/frame_writer.h can_carry; README "STOMP support").
  for (const broker::HeaderView& h : m.headers()) {
    if (!w.header_if_carried(h.name, h.value) && log_debug()) {
      spdlog::debug("connection {}: header '{}' of {} left out of a STOMP {} MESSAGE (its name or value holds "
                    "a byte that version cannot carry)",
                    number_, shown(h.name), m.id_text(), version_name(version_));
    }
  }
  w.finish(m.body(), true);
  ++messages_out_;
  if (d.ack_tag != 0 && ++unacked_ >= server_.options().max_unacked && !unacked_paused_) {
    unacked_paused_ = true;
    if (log_debug()) {
      spdlog::debug("connection {}: {} unacknowledged messages (maximumUnacknowledgedPerConnection), "
                    "dispatch paused until some are acknowledged",
                    number_, unacked_);
    }
  }
  written();
}

void Session::on_released(Seq) {
  if (state_ != State::closing) release_replies();
}

void Session::queue_reply(Seq seq, bool persistent, ReplyKind kind, std::string_view receipt_id) {
  broker::ReplyGate& gate = broker_.reply_gate();
  if (pending_.empty() && seq <= gate.released_for(persistent)) {
    if (!receipt_id.empty()) write_receipt(receipt_id);
    if (kind == ReplyKind::disconnect) close_after_flush("client disconnected");
    return;
  }
  pending_.push_back(PendingReply{seq, persistent, kind, std::string(receipt_id)});
  if (conn_id_) gate.wait(conn_id_);
  if (pending_.size() >= kMaxHeldReplies && (paused_ & kReceiptsHeld) == 0) {
    ++receipt_pauses_;
    spdlog::info("[event=receipts_held] connection {} from {}: {} receipts wait for the journal or the slave; not "
                 "reading it until half of them went out (pause {} of this connection)",
                 number_, peer_, pending_.size(), receipt_pauses_);
    set_paused(kReceiptsHeld, true);
  }
}

void Session::release_replies() {
  broker::ReplyGate& gate = broker_.reply_gate();
  while (!pending_.empty() && pending_.front().seq <= gate.released_for(pending_.front().persistent)) {
    PendingReply r = std::move(pending_.front());
    pending_.pop_front();
    if (!r.receipt_id.empty()) write_receipt(r.receipt_id);
    if (r.kind == ReplyKind::disconnect) {
      close_after_flush("client disconnected");
      return;
    }
  }
  if (!pending_.empty() && conn_id_) gate.wait(conn_id_);
  if ((paused_ & kReceiptsHeld) != 0 && pending_.size() <= kMaxHeldReplies / 2) set_paused(kReceiptsHeld, false);
}

void Session::write_receipt(std::string_view receipt_id) {
  if (!conn_) return;
  FrameWriter w(conn_->output(), version_, Command::receipt);
  w.header("receipt-id", receipt_id);
  w.finish({}, false);
  written();
}

void Session::written() {
  last_write_ms_ = mono_ms();
  conn_->commit_output();
  if (conn_->queued_bytes() > server_.options().max_pending_output) {
    spdlog::warn("connection {} from {}: closing slow consumer ({} bytes of output queued, limit {})",
                 number_, peer_, conn_->queued_bytes(), server_.options().max_pending_output);
    close_now("slow consumer");
  }
}

void Session::check_deadlines(std::int64_t now_ms) {
  if (state_ == State::closing || !conn_) return;
  check_waiting(now_ms);
  if (state_ == State::closing) return;
  const auto& opts = server_.options();
  // A producer that waits for room may wait long: it still hears our heart-beats.
  if (paused_ != 0 && heart_beat_.send_every_ms != 0 &&
      now_ms - last_write_ms_ >= static_cast<std::int64_t>(heart_beat_.send_every_ms)) {
    conn_->output().push_back('\n');
    written();
  }
  // Not reading is our choice, not the client's silence (set_paused restarts the clocks).
  if (paused_ != 0) return;
  if (state_ == State::awaiting_login) return;  // the worker answers soon; nothing is read meanwhile
  if (state_ == State::awaiting_connect) {
    if (now_ms - opened_ms_ >= static_cast<std::int64_t>(opts.connect_timeout_ms)) {
      spdlog::info("connection {} from {}: no CONNECT within {} ms, closing", number_, peer_,
                   opts.connect_timeout_ms);
      close_now("connect timeout");
    }
    return;
  }
  if (frame_started_ms_ != 0 &&
      now_ms - frame_started_ms_ > static_cast<std::int64_t>(opts.frame_timeout_ms)) {
    spdlog::info("connection {} from {}: a frame begun {} ms ago is still unfinished, closing", number_, peer_,
                 now_ms - frame_started_ms_);
    fail(make_error(ProtocolErrc::frame_timeout,
                    "a frame was begun " + std::to_string(now_ms - frame_started_ms_) +
                        " ms ago and is still not complete (" + std::to_string(parser_.buffered()) +
                        " bytes of it received); a frame must be sent within " +
                        std::to_string(opts.frame_timeout_ms) + " ms (transport.frameTimeout)")
             .error(),
         nullptr);
    return;
  }
  if (heart_beat_.expect_every_ms != 0) {
    const auto limit = static_cast<std::int64_t>(heart_beat_.expect_every_ms * opts.heart_beat_grace);
    if (now_ms - last_read_ms_ > limit) {
      spdlog::info("connection {} from {}: silent for {} ms (heart-beat every {} ms expected), closing",
                   number_, peer_, now_ms - last_read_ms_, heart_beat_.expect_every_ms);
      fail(make_error(ProtocolErrc::heart_beat_timeout,
                      "no data or heart-beat received for " + std::to_string(now_ms - last_read_ms_) +
                          " ms; the negotiated interval is " +
                          std::to_string(heart_beat_.expect_every_ms) + " ms")
               .error(),
           nullptr);
      return;
    }
  }
  if (heart_beat_.send_every_ms != 0 &&
      now_ms - last_write_ms_ >= static_cast<std::int64_t>(heart_beat_.send_every_ms)) {
    conn_->output().push_back('\n');
    written();
  }
}

void Session::shutdown() {
  if (state_ == State::closing) return;
  close_after_flush("broker shutting down");
}

bool Session::fence(std::string_view why) {
  if (state_ == State::closing || !conn_) return false;
  // Only this ERROR may pass: the guard refuses everything else from now on.
  conn_->output().clear();
  pending_.clear();
  conn_->set_write_guard(nullptr);
  FrameWriter w(conn_->output(), version_, Command::error);
  w.header("message", protocol_error_summary(ProtocolErrc::not_serving));
  w.header("content-type", "text/plain");
  w.finish(why, true);
  written();
  close_after_flush(why);
  return true;
}

void Session::close_now(std::string_view reason) {
  if (state_ == State::closing && !conn_) return;
  state_ = State::closing;
  if (log_debug()) spdlog::debug("connection {}: closing ({})", number_, reason);
  if (conn_) conn_->close();
}

void Session::close_after_flush(std::string_view reason) {
  if (state_ == State::closing) return;
  state_ = State::closing;
  if (log_debug()) spdlog::debug("connection {}: closing after flush ({})", number_, reason);
  if (conn_) conn_->close_after_flush();
}

}  // namespace twinmq::stomp
