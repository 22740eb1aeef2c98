#include "net/tcp_connection.h"

#include <netdb.h>
#include <spdlog/spdlog.h>

#include <cstring>

#include "base/assert.h"
#include "base/printable.h"

namespace twinmq::net {

namespace {
// Output buffers keep their capacity between writes (a busy connection then
// allocates nothing); one that a burst grew beyond this is given back once empty.
constexpr std::size_t kKeepCapacityFactor = 2;  // times the high watermark

void release_if_large(std::string& s, std::size_t high) {
  if (s.empty() && s.capacity() > kKeepCapacityFactor * high) std::string().swap(s);
}
}  // namespace

TcpConnection::TcpConnection(Loop& loop, ConnectionHandler* handler)
    : HandleBase(loop), handler_(handler) {
  uv_tcp_init(loop.uv(), &tcp_);
  bind_handle(&tcp_, this);
}

TcpConnection::~TcpConnection() {
  loop_.cancel_flush(this);
  if (handler_) handler_->on_close(close_status_);
}

TcpConnection* TcpConnection::accept(Loop& loop, uv_stream_t* server, ConnectionHandler* handler) {
  auto* c = new TcpConnection(loop, handler);
  if (int rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp_)); rc != 0) {
    spdlog::warn("accept failed: {}", uv_strerror(rc));
    c->handler_ = nullptr;
    c->close_with(rc);
    return nullptr;
  }
  uv_tcp_nodelay(&c->tcp_, 1);
  sockaddr_storage addr{};
  int len = sizeof addr;
  if (uv_tcp_getpeername(&c->tcp_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    c->peer_ = format_address(reinterpret_cast<sockaddr*>(&addr));
  }
  c->start_reading();
  return c;
}

TcpConnection* TcpConnection::connect(Loop& loop, const sockaddr* addr, ConnectionHandler* handler) {
  auto* c = new TcpConnection(loop, handler);
  c->peer_ = format_address(addr);
  c->connect_req_.data = static_cast<HandleBase*>(c);
  if (int rc = uv_tcp_connect(&c->connect_req_, &c->tcp_, addr, &TcpConnection::on_connect); rc != 0) {
    // Report asynchronously-shaped: the handler learns through on_connected + on_close.
    if (c->handler_) c->handler_->on_connected(rc);
    c->close_with(rc);
  }
  return c;
}

void TcpConnection::on_connect(uv_connect_t* req, int status) noexcept {
  auto* self = static_cast<TcpConnection*>(static_cast<HandleBase*>(req->data));
  if (self->closing_) return;
  if (status == 0) {
    uv_tcp_nodelay(&self->tcp_, 1);
    self->start_reading();
    if (self->tls_) {
      // The client speaks first: the ClientHello goes out with this turn's flush.
      if (self->tls_->handshake()) {
        self->commit_output();
      } else {
        spdlog::warn("TLS handshake with {} failed: {}", shown(self->peer_), shown(self->tls_->failure(), 400));
        status = UV_EPROTO;
      }
    }
  }
  if (self->handler_) self->handler_->on_connected(status);
  if (status != 0 && !self->closing_) self->close_with(status);
}

void TcpConnection::start_tls(std::unique_ptr<tls::Engine> engine) {
  // A side writer writes plaintext past the engine (net/side_writer.h).
  TWINMQ_ASSERT(side_ == nullptr, "TLS started on a connection with a side writer");
  tls_ = std::move(engine);
  tls_->attach_output(&tls_out_);  // OpenSSL appends its records to our output directly
}

void TcpConnection::start_reading() {
  if (closing_ || reading_) return;
  reading_ = true;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &TcpConnection::on_alloc,
                &TcpConnection::on_read);
}

void TcpConnection::pause_reading() {
  if (closing_ || !reading_) return;
  read_paused_ = true;
  reading_ = false;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
}

void TcpConnection::resume_reading() {
  if (!read_paused_ || close_when_drained_) return;
  read_paused_ = false;
  start_reading();
}

void TcpConnection::on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) noexcept {
  auto* self = owner_of<TcpConnection>(h);
  // One buffer per loop: the data is consumed (or its split tail copied) inside
  // on_read, before the next read can reuse it.
  *buf = uv_buf_init(self->loop_.read_buffer(), static_cast<unsigned>(self->loop_.read_buffer_size()));
}

void TcpConnection::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* self = owner_of<TcpConnection>(s);
  if (self->closing_) return;
  if (nread > 0) {
    if (self->close_when_drained_) return;  // no longer listening to this peer
    if (self->tls_) {
      self->on_tls_read(buf->base, static_cast<std::size_t>(nread));
      return;
    }
    if (self->handler_) self->handler_->on_data(std::string_view(buf->base, static_cast<std::size_t>(nread)));
    return;
  }
  if (nread < 0) self->close_with(static_cast<int>(nread));
}

void TcpConnection::on_tls_read(const char* data, std::size_t size) {
  const bool was_done = tls_->handshake_done();
  // OpenSSL reads the ciphertext where it lies, in the loop's read buffer, so the
  // plaintext goes to a second buffer per thread: the handler consumes it (or copies a
  // split tail) before the next SSL_read reuses it, as it does with a plain read. One
  // SSL_read returns at most one record (16 KiB); records are decrypted back to back
  // into a buffer of several before the handler sees them, so the parser is called (and
  // copies a frame split at the end of its input) once per few records, not per record.
  tls_->feed(data, size);
  static constexpr std::size_t kPlainBufferSize = 64u << 10;
  static constexpr std::size_t kRecordSize = 16u << 10;
  thread_local const std::unique_ptr<char[]> plain_buffer(new char[kPlainBufferSize]);
  char* buffer = plain_buffer.get();
  std::size_t used = 0;
  // Hands the plaintext gathered so far to the handler; false when the connection
  // stopped listening meanwhile (the read buffer is reused: forget the rest).
  const auto deliver = [&]() {
    if (used == 0) return true;
    if (handler_) handler_->on_data(std::string_view(buffer, used));
    used = 0;
    if (closing_ || close_when_drained_) {
      tls_->discard_input();
      return false;
    }
    return true;
  };
  while (true) {
    if (kPlainBufferSize - used < kRecordSize && !deliver()) return;
    std::size_t n = 0;
    const auto status = tls_->read(buffer + used, kPlainBufferSize - used, n);
    if (status == tls::Engine::ReadStatus::data) {
      used += n;
      continue;
    }
    // Plaintext that came before a close_notify or a failure is still the peer's.
    if (!deliver()) return;
    tls_->discard_input();  // nothing more is read after a close or a failure (want_more consumed all)
    if (status == tls::Engine::ReadStatus::closed) {
      close_with(UV_EOF);
      return;
    }
    if (status == tls::Engine::ReadStatus::failed) {
      tls_failed(tls_->handshake_done() ? "session" : "handshake");
      return;
    }
    break;  // want_more
  }
  if (!was_done && tls_->handshake_done() && spdlog::should_log(spdlog::level::debug))
    spdlog::debug("TLS handshake with {} done: {}", shown(peer_), tls_->describe());
  // Handshake messages to answer, or output that waited for the handshake to end.
  if (tls_->has_output() || (tls_->handshake_done() && !pending_.empty())) commit_output();
}

std::string_view TcpConnection::tls_failure() const { return tls_ ? std::string_view(tls_->failure()) : std::string_view(); }

void TcpConnection::tls_failed(const char* when) {
  std::string why = tls_->failure();
  // What OpenSSL says about a plain-text client on a TLS port is cryptic; say it plainly.
  if (why.find("wrong version number") != std::string::npos || why.find("http request") != std::string::npos ||
      why.find("packet length too long") != std::string::npos || why.find("https proxy request") != std::string::npos)
    why += " (the peer does not speak TLS: a plain-text client on a TLS port?)";
  else if (why.find("alert unknown ca") != std::string::npos || why.find("alert bad certificate") != std::string::npos ||
           why.find("alert certificate unknown") != std::string::npos ||
           why.find("alert certificate required") != std::string::npos)
    why += " (the peer refused our certificate, or that we showed none: is it signed by a CA in the peer's "
           "trustedCAs?)";
  spdlog::warn("TLS {} with {} failed: {}", when, shown(peer_), shown(why, 400));
  // Send the alert OpenSSL queued (it tells the peer why), then close.
  tls_->take_output(tls_out_);
  pending_.clear();
  if (tls_out_.empty()) {
    close_with(UV_EPROTO);
    return;
  }
  close_status_ = UV_EPROTO;
  close_after_flush(1000);
}

void TcpConnection::encrypt_pending() {
  if (!pending_.empty() && tls_->handshake_done()) {
    // OpenSSL appends its records (16 KiB each plus a few bytes of header and tag) to
    // tls_out_ one by one: make room for all of them first, so the string grows once
    // instead of doubling several times into fresh pages (page faults were a fifth of
    // a busy TLS connection's CPU).
    tls_out_.reserve(tls_out_.size() + pending_.size() + (pending_.size() / (16u << 10) + 1) * 64);
    if (!tls_->write(pending_)) {
      // Cannot happen with a memory BIO short of running out of memory; no alert
      // is worth sending then (and flush() is our caller: no nested flush).
      spdlog::warn("TLS write to {} failed: {}", shown(peer_), shown(tls_->failure(), 400));
      pending_.clear();
      close_with(UV_EPROTO);
      return;
    }
    pending_.clear();
  }
  tls_->take_output(tls_out_);
}

void TcpConnection::set_write_guard(const WriteGuard* guard) {
  TWINMQ_ASSERT(guard == nullptr || side_ == nullptr, "a write guard on a connection with a side writer");
  guard_ = guard;
}

std::shared_ptr<SideWriter> TcpConnection::side_writer() {
  if (side_ || tls_ || guard_ != nullptr || closing_) return side_;
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) != 0) return nullptr;
  side_.reset(new SideWriter(fd));
  return side_;
}

bool TcpConnection::side_remainder() const {
  if (!side_) return false;
  std::lock_guard lock(side_->mu_);
  return !side_->remainder_.empty();
}

void TcpConnection::commit_output() {
  if (closing_ || (!has_unsent() && !side_remainder())) {
    if (closing_ || !tls_ || !tls_->has_output()) return;
  }
  (void)above_high_watermark();  // records the crossing, so on_drained() follows
  if (flush_registered_) return;
  flush_registered_ = true;
  loop_.want_flush(this);
}

void TcpConnection::flush() {
  flush_registered_ = false;
  if (closing_ || write_in_flight_) return;
  if (tls_) {
    encrypt_pending();
    if (closing_) return;
  }
  std::string& out = tls_ ? tls_out_ : pending_;
  std::unique_lock<std::mutex> side_lock;
  if (side_) {
    // side_writer.h rules 1 and 2: no side write runs while we write, and the rest of
    // a side frame goes first.
    side_lock = std::unique_lock(side_->mu_);
    if (!side_->remainder_.empty()) {
      out.insert(0, side_->remainder_);
      side_->remainder_.clear();
    }
    side_->busy_ = false;
  }
  if (out.empty()) return;
  if (guard_ != nullptr && !guard_->may_write()) {
    // Past the serving deadline: what was produced is never sent (the owner closes
    // the connection with a reason of its own, unguarded, right after).
    out.clear();
    pending_.clear();
    maybe_drained();
    return;
  }
  inflight_.swap(out);
  out.clear();
  inflight_off_ = 0;
  // Most writes complete at once on a healthy socket: skip the write request then.
  uv_buf_t b = uv_buf_init(inflight_.data(), static_cast<unsigned>(inflight_.size()));
  int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1);
  if (n == static_cast<int>(inflight_.size())) {
    // Unlocked first: after_write() may flush again, or close.
    if (side_lock) side_lock.unlock();
    after_write(0);
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    if (side_lock) side_lock.unlock();
    close_with(n);
    return;
  }
  if (n > 0) inflight_off_ = static_cast<std::size_t>(n);
  b = uv_buf_init(inflight_.data() + inflight_off_, static_cast<unsigned>(inflight_.size() - inflight_off_));
  write_req_.data = static_cast<HandleBase*>(this);
  write_in_flight_ = true;
  if (side_) side_->busy_ = true;  // until on_write: libuv writes the rest without us
  if (int rc = uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1, &TcpConnection::on_write); rc != 0) {
    write_in_flight_ = false;
    if (side_lock) side_lock.unlock();
    close_with(rc);
  }
}

void TcpConnection::on_write(uv_write_t* req, int status) noexcept {
  auto* self = static_cast<TcpConnection*>(static_cast<HandleBase*>(req->data));
  self->write_in_flight_ = false;
  if (self->side_) {
    // libuv is done with our bytes: side writes may go again (side_writer.h rule 1).
    std::lock_guard lock(self->side_->mu_);
    self->side_->busy_ = !self->side_->remainder_.empty();
  }
  if (self->closing_) return;  // the object stays alive until the close callback
  self->after_write(status);
}

void TcpConnection::after_write(int status) {
  if (status < 0) {
    close_with(status);
    return;
  }
  inflight_.clear();
  inflight_off_ = 0;
  release_if_large(inflight_, marks_.high);
  if (has_unsent()) {
    flush();
    if (closing_) return;
  } else {
    release_if_large(pending_, marks_.high);
    release_if_large(tls_out_, marks_.high);
  }
  maybe_drained();
  if (close_when_drained_ && queued_bytes() == 0 && !closing_) close_with(close_status_);
}

void TcpConnection::maybe_drained() {
  if (above_high_ && queued_bytes() < marks_.low) {
    above_high_ = false;
    if (handler_) handler_->on_drained();
  }
}

void TcpConnection::close_with(int status) {
  if (closing_) return;
  close_status_ = status;
  close_timer_.reset();
  loop_.cancel_flush(this);
  if (side_) {
    std::lock_guard lock(side_->mu_);  // side_writer.h rule 3
    side_->fd_ = -1;
  }
  close_handle(reinterpret_cast<uv_handle_t*>(&tcp_));
}

void TcpConnection::close_after_flush(std::uint64_t bound_ms) {
  if (closing_ || close_when_drained_) return;
  close_when_drained_ = true;
  if (reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    reading_ = false;
  }
  if (tls_ && tls_->handshake_done()) {
    // What is queued, then close_notify: the peer learns the stream ended whole.
    encrypt_pending();
    if (closing_) return;
    tls_->shutdown();
    tls_->take_output(tls_out_);
  }
  if (queued_bytes() == 0) {
    close_with(0);
    return;
  }
  flush();
  if (closing_) return;
  if (queued_bytes() == 0) {
    close_with(0);
    return;
  }
  // A peer that never reads must not keep the connection (and its buffers) forever.
  close_timer_ = Timer::create(loop_);
  close_timer_->start(bound_ms, 0, [this] { close_with(UV_ETIMEDOUT); });
}

Result<sockaddr_storage> resolve(const std::string& host, std::uint16_t port) {
  sockaddr_storage out{};
  std::string h = host == "localhost" ? "127.0.0.1" : host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (uv_ip4_addr(h.c_str(), port, reinterpret_cast<sockaddr_in*>(&out)) == 0) return out;
  if (uv_ip6_addr(h.c_str(), port, reinterpret_cast<sockaddr_in6*>(&out)) == 0) return out;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(h.c_str(), nullptr, &hints, &res); rc != 0 || !res) {
    return make_error(Errc::resolve_failed, "cannot resolve host '" + host + "': " + gai_strerror(rc));
  }
  std::memcpy(&out, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (out.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&out)->sin_port = htons(port);
  else reinterpret_cast<sockaddr_in6*>(&out)->sin6_port = htons(port);
  return out;
}

std::string format_address(const sockaddr* addr) {
  char ip[INET6_ADDRSTRLEN] = {};
  int port = 0;
  if (addr->sa_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(addr);
    uv_ip4_name(a, ip, sizeof ip);
    port = ntohs(a->sin_port);
    return std::string(ip) + ":" + std::to_string(port);
  }
  auto* a = reinterpret_cast<const sockaddr_in6*>(addr);
  uv_ip6_name(a, ip, sizeof ip);
  port = ntohs(a->sin6_port);
  return "[" + std::string(ip) + "]:" + std::to_string(port);
}

}  // namespace twinmq::net
