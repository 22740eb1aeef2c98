// client/sync_client.cc — SyncSession (the loop-running engine) and SyncClient (the
// blocking API of twinmq/client.h) on top of it.
#include "client/sync_client.h"

#include "client/tls_options.h"

#include <utility>

namespace twinmq::client {
namespace {

std::string millis(std::chrono::milliseconds t) { return std::to_string(t.count()) + " ms"; }

Headers copy_headers(const stomp::Frame& f) {
  Headers out;
  out.reserve(f.headers.size());
  for (const stomp::Header& h : f.headers) out.emplace_back(h.name, h.value);
  return out;
}

}  // namespace

ReceivedMessage to_message(ReceivedFrame&& f) {
  ReceivedMessage m;
  m.destination = f.header("destination").value_or("");
  m.message_id = f.header("message-id").value_or("");
  m.subscription = f.header("subscription").value_or("");
  m.ack_id = f.header("ack").value_or(m.message_id);
  m.redelivered = f.header("redelivered") == "true";
  m.headers = std::move(f.headers);
  m.body = std::move(f.body);
  return m;
}

// --- SyncSession ---------------------------------------------------------------

SyncSession::SyncSession(ConnectOptions options)
    : options_(std::move(options)), timeout_(options_.timeout) {
  deadline_ = net::Timer::create(loop_);
  if (options_.duplicate_ids.value_or(false)) duplicate_ids_.emplace();
}

SyncSession::~SyncSession() {
  conn_.reset();
  deadline_.reset();
  // loop_'s destructor closes what is left and checks uv_loop_close() == 0.
}

void SyncSession::arm_deadline(std::chrono::milliseconds timeout) {
  deadline_passed_ = false;
  deadline_->start(static_cast<std::uint64_t>(std::max<std::int64_t>(0, timeout.count())), 0,
                   [this] { deadline_passed_ = true; });
}

void SyncSession::run_turn(bool block) {
  uv_run(loop_.uv(), block ? UV_RUN_ONCE : UV_RUN_NOWAIT);
}

void SyncSession::poll() { run_turn(false); }

Result<void> SyncSession::open(const std::string& host, std::uint16_t port) {
  where_ = host + ":" + std::to_string(port);
  if (!tls_ && options_.tls) {
    auto context = make_tls_context(*options_.tls);
    if (!context) return std::unexpected(context.error());
    tls_ = std::move(*context);
  }
  auto addr = net::resolve(host, port);
  if (!addr) return make_error(Errc::resolve_failed, addr.error().message);
  conn_ = std::make_unique<StompConnection>(loop_, static_cast<StompListener&>(*this));
  // With TLS the broker's certificate must name `host` as the application wrote it.
  conn_->open(reinterpret_cast<const sockaddr*>(&*addr), options_, host, tls_.get());
  const bool answered = run_until([&] { return connected_ || closed_ || error_; }, timeout_);
  if (connected_) return {};
  if (error_) return std::unexpected(*error_);
  if (!answered) {
    conn_->close();
    return make_error(Errc::timeout, "no CONNECTED from " + where_ + " within " + millis(timeout_));
  }
  return make_error(Errc::connection_closed, "connection to " + where_ + " closed before CONNECTED");
}

Result<void> SyncSession::usable() const {
  if (error_) return std::unexpected(*error_);
  if (closed_ || !conn_ || !conn_->is_connected()) {
    return make_error(Errc::connection_closed, "connection to " + where_ + " is closed");
  }
  return {};
}

Result<void> SyncSession::await_receipt(std::uint64_t n, std::string_view what) {
  if (n == 0) {
    if (auto u = usable(); !u) return u;
    return make_error(Errc::connection_closed, std::string(what) + ": not connected");
  }
  awaited_receipts_.insert(n);
  const std::uint64_t errors_before = errors_seen_;
  run_until([&] { return arrived_receipts_.contains(n) || closed_ || errors_seen_ != errors_before; },
            timeout_);
  if (arrived_receipts_.erase(n)) return {};
  awaited_receipts_.erase(n);  // a late RECEIPT then goes to the inbox
  if (error_) return std::unexpected(*error_);
  if (closed_) return make_error(Errc::connection_closed, std::string(what) + ": connection closed");
  return make_error(Errc::timeout,
                    "no RECEIPT for " + std::string(what) + " from " + where_ + " within " + millis(timeout_));
}

Result<void> SyncSession::await_flushed(std::string_view what) {
  if (run_until([&] { return conn_->queued_bytes() == 0 || closed_; }, timeout_)) {
    if (closed_ && error_) return std::unexpected(*error_);
    return {};
  }
  return make_error(Errc::timeout, std::string(what) + ": " + where_ +
                                       " did not take the bytes within " + millis(timeout_));
}

void SyncSession::push_frame(const stomp::Frame& frame) {
  inbox_.push_back(ReceivedFrame{frame.command, copy_headers(frame), std::string(frame.body)});
  if (frame.command == stomp::Command::message) ++messages_in_inbox_;
}

void SyncSession::on_connected(StompConnection&, const stomp::Frame&) { connected_ = true; }

void SyncSession::on_message(StompConnection&, const stomp::Frame& message) { push_frame(message); }

void SyncSession::on_receipt(StompConnection&, std::string_view receipt_id) {
  const std::uint64_t n = StompConnection::receipt_number(receipt_id);
  if (n != 0 && awaited_receipts_.erase(n)) {
    arrived_receipts_.insert(n);
    return;
  }
  stomp::Header h{"receipt-id", receipt_id};
  stomp::Frame f;
  f.command = stomp::Command::receipt;
  f.headers = std::span<const stomp::Header>(&h, 1);
  push_frame(f);
}

void SyncSession::on_error(StompConnection&, const stomp::Frame& error) {
  push_frame(error);
  std::string text(error.header("message").value_or("ERROR without a message header"));
  std::string_view body = error.body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  if (!body.empty() && body != text) text.append("\n").append(body);
  error_ = Error{static_cast<int>(Errc::server_error), std::move(text)};
  ++errors_seen_;
}

void SyncSession::on_closed(StompConnection&, const CloseInfo& why) {
  closed_ = true;
  if (error_ || why.reason == CloseReason::requested) return;
  Errc code = Errc::connection_closed;
  std::string text;
  switch (why.reason) {
    case CloseReason::connect_failed:
      code = Errc::connect_failed;
      text = "cannot connect to " + where_ + ": " + why.detail;
      break;
    case CloseReason::connect_timeout:
      code = Errc::timeout;
      text = "no CONNECTED from " + where_ + " within " + millis(options_.timeout);
      break;
    case CloseReason::protocol_error:
      code = Errc::protocol_error;
      text = where_ + " sent invalid STOMP: " + why.detail;
      break;
    default:
      text = "connection to " + where_ + " closed: " + std::string(close_reason_name(why.reason));
      if (!why.detail.empty()) text += ": " + why.detail;
      break;
  }
  error_ = Error{static_cast<int>(code), std::move(text)};
}

// --- SyncClient ----------------------------------------------------------------

SyncClient::SyncClient(std::unique_ptr<SyncSession> session) : session_(std::move(session)) {}
SyncClient::SyncClient(SyncClient&&) noexcept = default;
SyncClient& SyncClient::operator=(SyncClient&&) noexcept = default;
SyncClient::~SyncClient() = default;

Result<SyncClient> SyncClient::connect(const std::string& host, std::uint16_t port,
                                       ConnectOptions options) {
  auto session = std::make_unique<SyncSession>(std::move(options));
  if (auto opened = session->open(host, port); !opened) return std::unexpected(opened.error());
  return SyncClient(std::move(session));
}

Result<void> SyncClient::send(std::string_view destination, std::string_view body,
                              const SendOptions& options) {
  if (auto u = session_->usable(); !u) return u;
  std::vector<stomp::Header> extra;
  extra.reserve(options.headers.size() + 1);
  for (const auto& [n, v] : options.headers) extra.push_back({n, v});
  if (DuplicateIdSource* ids = session_->duplicate_ids(); ids && !find_header(options.headers, kDuplicateIdHeader))
    extra.push_back({kDuplicateIdHeader, ids->next()});
  const std::uint64_t n = session_->connection().send(SendFrame{
      .destination = destination,
      .body = body,
      .persistent = options.persistent,
      .receipt = options.receipt,
      .transaction = options.transaction,
      .headers = extra,
  });
  const std::string what = "SEND to " + std::string(destination);
  return options.receipt ? session_->await_receipt(n, what) : session_->await_flushed(what);
}

Result<void> SyncClient::subscribe(std::string_view destination, std::string_view id, AckMode ack,
                                   const Headers& headers) {
  if (auto u = session_->usable(); !u) return u;
  std::vector<stomp::Header> extra;
  extra.reserve(headers.size());
  for (const auto& [n, v] : headers) extra.push_back({n, v});
  const std::uint64_t n = session_->connection().subscribe(destination, id, ack, extra, true);
  return session_->await_receipt(n, "SUBSCRIBE to " + std::string(destination));
}

Result<void> SyncClient::unsubscribe(std::string_view id) {
  if (auto u = session_->usable(); !u) return u;
  return session_->await_receipt(session_->connection().unsubscribe(id, true),
                                 "UNSUBSCRIBE " + std::string(id));
}

std::optional<ReceivedMessage> SyncClient::receive(std::chrono::milliseconds timeout) {
  session_->run_until([&] { return session_->messages_in_inbox() > 0 || session_->closed(); },
                      timeout);
  auto& inbox = session_->inbox();
  for (auto it = inbox.begin(); it != inbox.end(); ++it) {
    if (it->command != stomp::Command::message) continue;
    ReceivedFrame f = std::move(*it);
    inbox.erase(it);
    session_->taken_from_inbox(f);
    return to_message(std::move(f));
  }
  return std::nullopt;
}

std::optional<ReceivedFrame> SyncClient::read_frame(std::chrono::milliseconds timeout) {
  session_->run_until([&] { return !session_->inbox().empty() || session_->closed(); }, timeout);
  auto& inbox = session_->inbox();
  if (inbox.empty()) return std::nullopt;
  ReceivedFrame f = std::move(inbox.front());
  inbox.pop_front();
  session_->taken_from_inbox(f);
  return f;
}

Result<void> SyncClient::ack(const ReceivedMessage& message, const AckOptions& options) {
  if (auto u = session_->usable(); !u) return u;
  const AckIds ids{message.ack_id, message.message_id, message.subscription};
  const std::uint64_t n = session_->connection().ack(ids, options.transaction, options.receipt);
  const std::string what = "ACK of " + message.message_id;
  return options.receipt ? session_->await_receipt(n, what) : session_->await_flushed(what);
}

Result<void> SyncClient::nack(const ReceivedMessage& message, const AckOptions& options) {
  if (auto u = session_->usable(); !u) return u;
  if (version() == stomp::Version::v1_0) {
    return make_error(Errc::bad_argument, "NACK does not exist in STOMP 1.0 (negotiated here)");
  }
  const AckIds ids{message.ack_id, message.message_id, message.subscription};
  const std::uint64_t n = session_->connection().nack(ids, options.transaction, options.receipt);
  const std::string what = "NACK of " + message.message_id;
  return options.receipt ? session_->await_receipt(n, what) : session_->await_flushed(what);
}

Result<void> SyncClient::begin(std::string_view transaction) {
  if (auto u = session_->usable(); !u) return u;
  return session_->await_receipt(session_->connection().begin(transaction, true),
                                 "BEGIN " + std::string(transaction));
}

Result<void> SyncClient::commit(std::string_view transaction) {
  if (auto u = session_->usable(); !u) return u;
  return session_->await_receipt(session_->connection().commit(transaction, true),
                                 "COMMIT " + std::string(transaction));
}

Result<void> SyncClient::abort(std::string_view transaction) {
  if (auto u = session_->usable(); !u) return u;
  return session_->await_receipt(session_->connection().abort(transaction, true),
                                 "ABORT " + std::string(transaction));
}

Result<void> SyncClient::send_raw(std::string_view bytes) {
  if (!session_->connection().send_raw(bytes)) {
    if (auto u = session_->usable(); !u) return u;
    return make_error(Errc::connection_closed, "send_raw: connection closed");
  }
  return session_->await_flushed("raw bytes");
}

Result<void> SyncClient::disconnect() {
  if (session_->closed()) {
    if (session_->error()) return std::unexpected(*session_->error());
    return {};
  }
  if (auto u = session_->usable(); !u) return u;
  if (auto r = session_->await_receipt(session_->connection().disconnect(true), "DISCONNECT"); !r) {
    return r;
  }
  // The connection closes itself on the receipt; let that finish.
  session_->run_until([&] { return session_->closed(); }, session_->timeout());
  return {};
}

bool SyncClient::is_closed() {
  session_->poll();
  return session_->closed();
}

bool SyncClient::wait_closed(std::chrono::milliseconds timeout) {
  return session_->run_until([&] { return session_->closed(); }, timeout);
}

std::optional<Error> SyncClient::last_error() const { return session_->error(); }

stomp::Version SyncClient::version() const { return session_->connection().version(); }
std::string_view SyncClient::session() const { return session_->connection().session(); }
std::string_view SyncClient::server() const { return session_->connection().server(); }
std::uint32_t SyncClient::heart_beat_send_ms() const {
  return session_->connection().heart_beat().send_every_ms;
}
std::uint32_t SyncClient::heart_beat_expect_ms() const {
  return session_->connection().heart_beat().expect_every_ms;
}

void SyncClient::set_timeout(std::chrono::milliseconds timeout) { session_->set_timeout(timeout); }

}  // namespace twinmq::client
