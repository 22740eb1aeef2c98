// client/connection.cc — StompConnection: CONNECT/CONNECTED, encoding client frames
// into the socket's output buffer, dispatching server frames, heart-beats.
#include "client/connection.h"

#include <algorithm>
#include <charconv>

#include "base/log.h"

namespace twinmq::client {
namespace {

// A receipt id: "r" + decimal, written into a caller's stack buffer.
struct ReceiptText {
  char buf[24];
  std::size_t len = 0;
  explicit ReceiptText(std::uint64_t n) {
    buf[0] = 'r';
    auto [end, ec] = std::to_chars(buf + 1, buf + sizeof buf, n);
    (void)ec;  // 20 digits always fit
    len = static_cast<std::size_t>(end - buf);
  }
  std::string_view view() const { return {buf, len}; }
};

stomp::Version parse_version(std::optional<std::string_view> text) {
  if (text == "1.2") return stomp::Version::v1_2;
  if (text == "1.1") return stomp::Version::v1_1;
  return stomp::Version::v1_0;  // absent: a 1.0 server (spec)
}

// The text of an ERROR frame: its `message` header, then the body on the next line.
std::string error_text(const stomp::Frame& error) {
  std::string text(error.header("message").value_or("ERROR without a message header"));
  std::string_view body = error.body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  if (!body.empty() && body != text) {
    text += '\n';
    text.append(body);
  }
  return text;
}

}  // namespace

std::string_view close_reason_name(CloseReason reason) {
  switch (reason) {
    case CloseReason::requested: return "requested";
    case CloseReason::peer_closed: return "closed by the broker";
    case CloseReason::connect_failed: return "connect failed";
    case CloseReason::connect_timeout: return "no CONNECTED in time";
    case CloseReason::heart_beat_timeout: return "broker heart-beats stopped";
    case CloseReason::server_error: return "ERROR from the broker";
    case CloseReason::protocol_error: return "broker sent invalid STOMP";
    case CloseReason::io_error: return "socket error";
  }
  return "unknown";
}

std::string_view state_name(StompConnection::State state) {
  using S = StompConnection::State;
  switch (state) {
    case S::awaiting_tcp: return "awaiting_tcp";
    case S::awaiting_connected: return "awaiting_connected";
    case S::connected: return "connected";
    case S::awaiting_disconnect_receipt: return "awaiting_disconnect_receipt";
    case S::closed: return "closed";
  }
  return "unknown";
}

AckIds AckIds::of(const stomp::Frame& message) {
  AckIds ids;
  // One pass: a MESSAGE has a dozen headers and this runs per message in the bench.
  bool have_ack = false, have_id = false, have_sub = false;
  for (const stomp::Header& h : message.headers) {
    if (!have_ack && h.name == "ack") ids.ack = h.value, have_ack = true;
    else if (!have_id && h.name == "message-id") ids.message_id = h.value, have_id = true;
    else if (!have_sub && h.name == "subscription") ids.subscription = h.value, have_sub = true;
  }
  if (!have_ack) ids.ack = ids.message_id;
  return ids;
}

StompConnection::StompConnection(net::Loop& loop, StompListener& listener)
    : loop_(loop), listener_(listener) {}

StompConnection::~StompConnection() {
  if (tcp_) {
    // No callback into a half-destroyed object: the socket closes silently.
    tcp_->set_handler(nullptr);
    tcp_->close();
    tcp_ = nullptr;
  }
}

void StompConnection::open(const sockaddr* addr, const ConnectOptions& options,
                           std::string_view virtual_host, const tls::Context* tls) {
  offer_ = {options.heart_beat_send_ms, options.heart_beat_recv_ms};
  tcp_ = net::TcpConnection::connect(loop_, addr, this);
  if (close_info_set_) return;  // connect failed synchronously; on_close follows
  if (tls != nullptr) tcp_->start_tls(tls::Engine::create(*tls, virtual_host));
  tcp_->set_watermarks(marks_);
  // CONNECT is encoded now, while the options are at hand, and committed when TCP
  // is up; so the connection keeps no copy of login, passcode or extra headers.
  stomp::FrameWriter w(tcp_->output(), stomp::Version::v1_0, stomp::Command::connect);
  w.header("accept-version", options.accept_version);
  w.header("host", options.virtual_host.empty() ? virtual_host : options.virtual_host);
  if (!options.login.empty()) w.header("login", options.login);
  if (!options.passcode.empty()) w.header("passcode", options.passcode);
  if (offer_.can_send_ms || offer_.want_recv_ms) {
    w.header("heart-beat",
             std::to_string(offer_.can_send_ms) + "," + std::to_string(offer_.want_recv_ms));
  }
  if (!options.client_id.empty()) w.header("client-id", options.client_id);
  for (const auto& [name, value] : options.headers) w.header(name, value);
  w.finish({}, false);
  housekeeping_ = net::Timer::create(loop_);
  housekeeping_->start(static_cast<std::uint64_t>(options.timeout.count()), 0,
                       [this] { housekeeping(); });
}

void StompConnection::set_watermarks(net::Watermarks marks) {
  marks_ = marks;
  if (tcp_) tcp_->set_watermarks(marks);
}

void StompConnection::enter(State next, std::string_view reason) {
  if (state_ == State::closed || state_ == next) return;  // terminal
  if (log_debug()) {
    spdlog::debug("stomp client {}: {} -> {} ({})", tcp_ ? tcp_->peer() : std::string("-"),
                  state_name(state_), state_name(next), reason);
  }
  state_ = next;
}

void StompConnection::fail(CloseReason reason, std::string detail) {
  if (!close_info_set_) {
    close_info_ = {reason, std::move(detail)};
    close_info_set_ = true;
  }
  if (tcp_) tcp_->close();
}

void StompConnection::close() { fail(CloseReason::requested, {}); }

void StompConnection::on_connected(int status) {
  if (status != 0) {
    close_info_ = {CloseReason::connect_failed, uv_strerror(status)};
    close_info_set_ = true;
    return;  // the TcpConnection closes itself; on_close reports
  }
  enter(State::awaiting_connected, "TCP connected");
  last_read_ms_ = uv_now(loop_.uv());
  committed();
}

void StompConnection::on_data(std::string_view bytes) {
  last_read_ms_ = uv_now(loop_.uv());
  if (auto fed = parser_.feed(bytes, *this); !fed) {
    fail(CloseReason::protocol_error, fed.error().message);
  }
}

void StompConnection::on_drained() { listener_.on_writable(*this); }

void StompConnection::on_close(int status) {
  // The TLS failure says more than "protocol error" (e.g. "certificate verify failed").
  const std::string tls_failure = tcp_ != nullptr ? std::string(tcp_->tls_failure()) : std::string();
  tcp_ = nullptr;
  housekeeping_.reset();
  if (!close_info_set_) {
    if (status == 0) close_info_ = {CloseReason::requested, {}};
    else if (status == UV_EOF) close_info_ = {CloseReason::peer_closed, {}};
    else if (state_ == State::awaiting_tcp) close_info_ = {CloseReason::connect_failed, uv_strerror(status)};
    else close_info_ = {CloseReason::io_error, uv_strerror(status)};
    if (!tls_failure.empty()) close_info_.detail = "TLS: " + tls_failure;
    close_info_set_ = true;
  } else if (close_info_.reason == CloseReason::server_error && status != UV_EOF && status != 0) {
    close_info_.detail += std::string(" (then ") + uv_strerror(status) + ")";
  }
  enter(State::closed, close_reason_name(close_info_.reason));
  listener_.on_closed(*this, close_info_);  // last: the listener may destroy us
}

bool StompConnection::on_frame(const stomp::Frame& frame) {
  switch (frame.command) {
    case stomp::Command::connected:
      if (state_ == State::awaiting_connected) on_connected_frame(frame);
      break;
    case stomp::Command::message:
      listener_.on_message(*this, frame);
      break;
    case stomp::Command::receipt: {
      std::string_view id = frame.header("receipt-id").value_or("");
      const bool ends_session = state_ == State::awaiting_disconnect_receipt &&
                                receipt_number(id) == disconnect_receipt_;
      listener_.on_receipt(*this, id);
      if (ends_session && tcp_) fail(CloseReason::requested, {});
      break;
    }
    case stomp::Command::error:
      // Brokers close after an ERROR; we wait for that close (tests check that the
      // broker does it) and report it as server_error with the broker's words.
      if (!close_info_set_) {
        close_info_ = {CloseReason::server_error, error_text(frame)};
        close_info_set_ = true;
      }
      listener_.on_error(*this, frame);
      break;
    default:
      break;  // a client frame from a server: nothing sensible to do with it
  }
  return tcp_ != nullptr && !tcp_->closing();
}

void StompConnection::on_connected_frame(const stomp::Frame& frame) {
  version_ = parse_version(frame.header("version"));
  parser_.set_version(version_);
  session_ = frame.header("session").value_or("");
  server_ = frame.header("server").value_or("");
  stomp::HeartBeat theirs;
  if (auto hb = frame.header("heart-beat")) {
    if (auto parsed = stomp::parse_heart_beat(*hb)) theirs = *parsed;
  }
  plan_ = stomp::plan_heart_beat(offer_, theirs);
  enter(State::connected, "CONNECTED");
  ever_connected_ = true;
  // One periodic check covers both directions; without heart-beats, no timer.
  std::uint64_t tick = 0;
  if (plan_.send_every_ms) tick = plan_.send_every_ms / 2;
  if (plan_.expect_every_ms) {
    tick = tick ? std::min<std::uint64_t>(tick, plan_.expect_every_ms / 2) : plan_.expect_every_ms / 2;
  }
  if (tick == 0 && (plan_.send_every_ms || plan_.expect_every_ms)) tick = 1;
  if (tick) {
    housekeeping_->start(tick, tick, [this] { housekeeping(); });
  } else {
    housekeeping_.reset();
  }
  listener_.on_connected(*this, frame);
}

void StompConnection::housekeeping() {
  if (state_ == State::awaiting_tcp || state_ == State::awaiting_connected) {
    fail(CloseReason::connect_timeout, "no CONNECTED frame from " +
                                           (tcp_ ? tcp_->peer() : std::string("the broker")) +
                                           " in time");
    return;
  }
  if (!tcp_) return;
  const std::uint64_t now = uv_now(loop_.uv());
  // Twice the interval: a beat may be late by a full interval plus scheduling
  // delays on either side before the broker is really gone (stomp.py#179).
  if (plan_.expect_every_ms && now - last_read_ms_ > 2ull * plan_.expect_every_ms) {
    fail(CloseReason::heart_beat_timeout,
         "nothing received for " + std::to_string(now - last_read_ms_) + " ms (heart-beat " +
             std::to_string(plan_.expect_every_ms) + " ms)");
    return;
  }
  if (plan_.send_every_ms && now - last_write_ms_ >= plan_.send_every_ms / 2) {
    tcp_->output() += '\n';
    committed();
  }
}

void StompConnection::committed() {
  tcp_->commit_output();
  last_write_ms_ = uv_now(loop_.uv());
}

std::uint64_t StompConnection::add_receipt(stomp::FrameWriter& w) {
  const std::uint64_t n = next_receipt_++;
  w.header("receipt", ReceiptText(n).view());
  return n;
}

std::uint64_t StompConnection::receipt_number(std::string_view receipt_id) {
  if (receipt_id.size() < 2 || receipt_id[0] != 'r') return 0;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(receipt_id.data() + 1, receipt_id.data() + receipt_id.size(), n);
  if (ec != std::errc() || end != receipt_id.data() + receipt_id.size()) return 0;
  return n;
}

std::uint64_t StompConnection::send(const SendFrame& frame) {
  if (state_ != State::connected) return 0;
  stomp::FrameWriter w(tcp_->output(), version_, stomp::Command::send);
  w.header("destination", frame.destination);
  if (frame.persistent) w.header("persistent", "true");
  if (!frame.transaction.empty()) w.header("transaction", frame.transaction);
  for (const stomp::Header& h : frame.headers) w.header(h.name, h.value);
  const std::uint64_t receipt = frame.receipt ? add_receipt(w) : 0;
  w.finish(frame.body, true);  // always: bodies may contain NUL
  committed();
  return receipt;
}

std::uint64_t StompConnection::subscribe(std::string_view destination, std::string_view id,
                                         AckMode mode, std::span<const stomp::Header> headers,
                                         bool receipt) {
  if (state_ != State::connected) return 0;
  stomp::FrameWriter w(tcp_->output(), version_, stomp::Command::subscribe);
  w.header("destination", destination);
  w.header("id", id);
  w.header("ack", ack_mode_name(mode));
  for (const stomp::Header& h : headers) w.header(h.name, h.value);
  const std::uint64_t n = receipt ? add_receipt(w) : 0;
  w.finish({}, false);
  committed();
  return n;
}

std::uint64_t StompConnection::unsubscribe(std::string_view id, bool receipt) {
  return simple_frame(stomp::Command::unsubscribe, "id", id, receipt);
}

std::uint64_t StompConnection::begin(std::string_view transaction, bool receipt) {
  return simple_frame(stomp::Command::begin, "transaction", transaction, receipt);
}

std::uint64_t StompConnection::commit(std::string_view transaction, bool receipt) {
  return simple_frame(stomp::Command::commit, "transaction", transaction, receipt);
}

std::uint64_t StompConnection::abort(std::string_view transaction, bool receipt) {
  return simple_frame(stomp::Command::abort, "transaction", transaction, receipt);
}

std::uint64_t StompConnection::simple_frame(stomp::Command command, std::string_view name,
                                            std::string_view value, bool receipt) {
  if (state_ != State::connected) return 0;
  stomp::FrameWriter w(tcp_->output(), version_, command);
  w.header(name, value);
  const std::uint64_t n = receipt ? add_receipt(w) : 0;
  w.finish({}, false);
  committed();
  return n;
}

std::uint64_t StompConnection::ack(const AckIds& ids, std::string_view transaction, bool receipt) {
  return ack_or_nack(stomp::Command::ack, ids, transaction, receipt);
}

std::uint64_t StompConnection::nack(const AckIds& ids, std::string_view transaction, bool receipt) {
  return ack_or_nack(stomp::Command::nack, ids, transaction, receipt);
}

std::uint64_t StompConnection::ack_or_nack(stomp::Command command, const AckIds& ids,
                                           std::string_view transaction, bool receipt) {
  if (state_ != State::connected) return 0;
  stomp::FrameWriter w(tcp_->output(), version_, command);
  switch (version_) {
    case stomp::Version::v1_2:
      w.header("id", ids.ack.empty() ? ids.message_id : ids.ack);
      break;
    case stomp::Version::v1_1:
      w.header("message-id", ids.message_id);
      w.header("subscription", ids.subscription);
      break;
    case stomp::Version::v1_0:
      w.header("message-id", ids.message_id);
      break;
  }
  if (!transaction.empty()) w.header("transaction", transaction);
  const std::uint64_t n = receipt ? add_receipt(w) : 0;
  w.finish({}, false);
  committed();
  return n;
}

std::uint64_t StompConnection::disconnect(bool receipt) {
  if (state_ != State::connected) return 0;
  stomp::FrameWriter w(tcp_->output(), version_, stomp::Command::disconnect);
  const std::uint64_t n = receipt ? add_receipt(w) : 0;
  w.finish({}, false);
  committed();
  if (receipt) {
    disconnect_receipt_ = n;
    enter(State::awaiting_disconnect_receipt, "DISCONNECT sent");
  } else {
    if (!close_info_set_) close_info_ = {CloseReason::requested, {}}, close_info_set_ = true;
    tcp_->close_after_flush();
  }
  return n;
}

bool StompConnection::send_raw(std::string_view bytes) {
  if (!tcp_ || tcp_->closing() || state_ == State::closed) return false;
  tcp_->output().append(bytes);
  if (state_ == State::awaiting_tcp) return true;  // goes out after CONNECT, on connect
  committed();
  return true;
}

}  // namespace twinmq::client
