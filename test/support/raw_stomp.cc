#include "support/raw_stomp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "stomp/frame_parser.h"
#include "support/wait_until.h"

namespace twinmq::test {

namespace {

std::string printable(std::string_view text, std::size_t max = 200) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < max; ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u >= 0x20 && u < 0x7f) {
      out += text[i];
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

}  // namespace

std::optional<std::string> ReceivedFrame::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::size_t ReceivedFrame::count(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& [k, v] : headers) n += k == name;
  return n;
}

std::string ReceivedFrame::describe() const {
  std::string out = command + "{";
  bool first = true;
  for (const auto& [k, v] : headers) {
    if (!first) out += ", ";
    first = false;
    out += printable(k) + ":" + printable(v);
  }
  out += "} body[" + std::to_string(body.size()) + "]='" + printable(body) + "'";
  return out;
}

std::string frame_bytes(std::string_view command, const KeyValues& headers, std::string_view body,
                        bool content_length) {
  std::string out(command);
  out += '\n';
  for (const auto& [k, v] : headers) {
    out += k;
    out += ':';
    out += v;
    out += '\n';
  }
  if (content_length && !body.empty()) out += "content-length:" + std::to_string(body.size()) + "\n";
  out += '\n';
  out += body;
  out += '\0';
  return out;
}

struct RawStomp::ParserBox final : stomp::FrameSink {
  explicit ParserBox(RawStomp& owner)
      : owner_(owner),
        parser_(stomp::ParserLimits{.max_frame_size = 256u << 20,
                                    .max_header_section = 16u << 20,
                                    .max_headers = 1'000'000}) {}

  bool on_frame(const stomp::Frame& f) override {
    ReceivedFrame r;
    r.command = std::string(f.command_text);
    for (const auto& h : f.headers) r.headers.emplace_back(std::string(h.name), std::string(h.value));
    r.body = std::string(f.body);
    if (f.command == stomp::Command::connected) {
      const std::string v = r["version"];
      owner_.version_ = v.empty() ? "1.0" : v;
      parser_.set_version(v == "1.2" ? stomp::Version::v1_2
                          : v == "1.1" ? stomp::Version::v1_1
                                       : stomp::Version::v1_0);
    }
    owner_.inbox_.push_back(std::move(r));
    return true;
  }
  void on_heartbeat() override { ++owner_.heartbeats_; }

  RawStomp& owner_;
  stomp::FrameParser parser_;
};

struct RawStomp::TlsBox {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  ~TlsBox() {
    if (ssl != nullptr) SSL_free(ssl);
    if (ctx != nullptr) SSL_CTX_free(ctx);
  }
};

std::string RawStomp::tls_failure(int ret) {
  const int e = SSL_get_error(tls_->ssl, ret);
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  if (out.empty()) out = e == SSL_ERROR_SYSCALL ? "connection closed or reset" : "SSL error " + std::to_string(e);
  const long verify = SSL_get_verify_result(tls_->ssl);
  if (verify != X509_V_OK) out += std::string(": ") + X509_verify_cert_error_string(verify);
  return out;
}

void RawStomp::start_tls(const TlsClientFiles& files, Ms timeout) {
  tls_ = std::make_unique<TlsBox>();
  tls_->ctx = SSL_CTX_new(TLS_client_method());
  auto fail = [&](const std::string& what) { throw StompFailure("RawStomp TLS: " + what); };
  if (tls_->ctx == nullptr) fail("SSL_CTX_new failed");
  if (SSL_CTX_load_verify_locations(tls_->ctx, files.trusted_cas.c_str(), nullptr) != 1)
    fail("cannot load trusted CAs " + files.trusted_cas);
  if (!files.certificate.empty() &&
      (SSL_CTX_use_certificate_chain_file(tls_->ctx, files.certificate.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(tls_->ctx, files.private_key.c_str(), SSL_FILETYPE_PEM) != 1))
    fail("cannot load client certificate " + files.certificate);
  SSL_CTX_set_verify(tls_->ctx, SSL_VERIFY_PEER, nullptr);
  tls_->ssl = SSL_new(tls_->ctx);
  SSL_set_fd(tls_->ssl, fd_);
  SSL_set_mode(tls_->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (!files.verify_host.empty()) {
    if (files.verify_host.find_first_not_of("0123456789.") == std::string::npos)
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tls_->ssl), files.verify_host.c_str());
    else
      SSL_set1_host(tls_->ssl, files.verify_host.c_str());
  }
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const int ret = SSL_connect(tls_->ssl);
    if (ret == 1) return;
    const int e = SSL_get_error(tls_->ssl, ret);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) fail("handshake failed: " + tls_failure(ret));
    pollfd p{fd_, static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
    if (ms_left(deadline) <= 0 || ::poll(&p, 1, ms_left(deadline)) <= 0) fail("handshake timed out");
  }
}

RawStomp::RawStomp(std::uint16_t port, RawStompOptions options)
    : parser_(std::make_unique<ParserBox>(*this)) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
  if (options.receive_buffer > 0) {
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer, sizeof options.receive_buffer);
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      const int e = errno;
      ::close(fd_);
      throw std::system_error(e, std::generic_category(), "connect to 127.0.0.1:" + std::to_string(port));
    }
    pollfd p{fd_, POLLOUT, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(options.connect_timeout.count()));
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (rc <= 0 || err != 0) {
      ::close(fd_);
      throw std::system_error(rc <= 0 ? ETIMEDOUT : err, std::generic_category(),
                              "connect to 127.0.0.1:" + std::to_string(port));
    }
  }
  if (options.tls) {
    try {
      start_tls(*options.tls, options.connect_timeout);
    } catch (...) {
      tls_.reset();
      ::close(fd_);
      fd_ = -1;
      throw;
    }
  }
}

RawStomp::~RawStomp() {
  tls_.reset();
  if (fd_ >= 0) ::close(fd_);
}

void RawStomp::feed(std::string_view bytes) {
  if (raw_.size() < (4u << 20)) raw_.append(bytes.substr(0, (4u << 20) - raw_.size()));
  auto r = parser_->parser_.feed(bytes, *parser_);
  if (!r) {
    closed_ = true;
    close_reason_ = "client could not parse the broker's bytes: " + r.error().message;
    throw StompFailure("RawStomp: broker sent bytes our parser rejects: " + r.error().message);
  }
}

bool RawStomp::read_some(int timeout_ms) {
  if (closed_) return false;
  pollfd p{fd_, POLLIN, 0};
  int rc = 1;
  // OpenSSL may hold decrypted bytes the socket no longer shows.
  if (!tls_ || SSL_pending(tls_->ssl) == 0) {
    do {
      rc = ::poll(&p, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
  }
  if (rc <= 0) return false;
  char buf[65536];
  if (tls_) {
    std::size_t got = 0;
    const int ret = SSL_read_ex(tls_->ssl, buf, sizeof buf, &got);
    if (ret == 1) {
      feed(std::string_view(buf, got));
      return true;
    }
    const int e = SSL_get_error(tls_->ssl, ret);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
    closed_ = true;
    close_reason_ = e == SSL_ERROR_ZERO_RETURN ? "closed by the broker (TLS close_notify)" : "TLS: " + tls_failure(ret);
    return false;
  }
  const ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
  if (got > 0) {
    feed(std::string_view(buf, static_cast<std::size_t>(got)));
    return true;
  }
  if (got < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  closed_ = true;
  close_reason_ = got == 0 ? "closed by the broker (EOF)" : std::string("reset: ") + std::strerror(errno);
  return false;
}

bool RawStomp::send_raw(std::string_view bytes, Ms timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    if (tls_) {
      if (closed_) return false;
      std::size_t written = 0;
      const int ret = SSL_write_ex(tls_->ssl, bytes.data(), bytes.size(), &written);
      if (ret == 1) {
        bytes.remove_prefix(written);
        continue;
      }
      const int e = SSL_get_error(tls_->ssl, ret);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        closed_ = true;
        close_reason_ = "TLS: " + tls_failure(ret);
        return false;
      }
    } else {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR) return false;  // EPIPE, ECONNRESET
    }
    if (Clock::now() >= deadline) return false;
    pollfd p{fd_, static_cast<short>(POLLOUT | (closed_ ? 0 : POLLIN)), 0};
    if (::poll(&p, 1, ms_left(deadline)) > 0 && (p.revents & POLLIN) && !closed_) {
      read_some(0);
    }
  }
  return true;
}

std::optional<ReceivedFrame> RawStomp::next_frame(Ms timeout) {
  const auto deadline = Clock::now() + timeout;
  while (inbox_.empty()) {
    if (closed_) return std::nullopt;
    const int left = ms_left(deadline);
    if (!read_some(left) && (closed_ || Clock::now() >= deadline)) {
      if (inbox_.empty()) return std::nullopt;
    }
  }
  ReceivedFrame f = std::move(inbox_.front());
  inbox_.pop_front();
  return f;
}

ReceivedFrame RawStomp::expect(std::string_view command, Ms timeout) {
  auto f = next_frame(timeout);
  if (!f) {
    throw StompFailure("expected " + std::string(command) + " but " +
                       (closed_ ? "the connection closed (" + close_reason_ + ")"
                                : "nothing came within " + std::to_string(timeout.count()) + " ms"));
  }
  if (f->command != command) {
    throw StompFailure("expected " + std::string(command) + " but got " + f->describe());
  }
  return *f;
}

bool RawStomp::wait_closed(Ms timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!closed_) {
    if (Clock::now() >= deadline) return false;
    read_some(ms_left(deadline));
  }
  return true;
}

bool RawStomp::wait_heartbeats(std::size_t n, Ms timeout) {
  const auto deadline = Clock::now() + timeout;
  while (heartbeats_ < n && !closed_ && Clock::now() < deadline) read_some(ms_left(deadline));
  return heartbeats_ >= n;
}

std::string RawStomp::next_receipt_id() { return "rcpt-" + std::to_string(++receipts_); }

ReceivedFrame RawStomp::connect(std::string_view accept_version, const KeyValues& extra,
                                std::string_view command) {
  KeyValues h;
  if (!accept_version.empty()) h.emplace_back("accept-version", std::string(accept_version));
  h.emplace_back("host", "localhost");
  h.insert(h.end(), extra.begin(), extra.end());
  if (!send_raw(frame_bytes(command, h))) throw StompFailure("CONNECT: could not write to the broker");
  return expect("CONNECTED");
}

std::optional<ReceivedFrame> RawStomp::try_connect(std::string_view accept_version, const KeyValues& extra) {
  KeyValues h;
  if (!accept_version.empty()) h.emplace_back("accept-version", std::string(accept_version));
  h.emplace_back("host", "localhost");
  h.insert(h.end(), extra.begin(), extra.end());
  send_raw(frame_bytes("CONNECT", h));
  return next_frame();
}

void RawStomp::send_frame(std::string_view command, const KeyValues& headers, std::string_view body,
                          bool content_length) {
  if (!send_raw(frame_bytes(command, headers, body, content_length))) {
    throw StompFailure("could not write " + std::string(command) + " (" +
                       (closed_ ? close_reason_ : std::string("broker not reading")) + ")");
  }
}

ReceivedFrame RawStomp::request(std::string_view command, KeyValues headers, std::string_view body,
                                Ms timeout) {
  const std::string id = next_receipt_id();
  headers.emplace_back("receipt", id);
  send_frame(command, headers, body);
  const auto deadline = Clock::now() + timeout;
  std::deque<ReceivedFrame> before;
  for (;;) {
    auto f = next_frame(Ms(ms_left(deadline)));
    if (!f) {
      for (auto it = before.rbegin(); it != before.rend(); ++it) inbox_.push_front(std::move(*it));
      throw StompFailure("no RECEIPT " + id + " for " + std::string(command) + ": " +
                         (closed_ ? "the connection closed (" + close_reason_ + ")"
                                  : "nothing within " + std::to_string(timeout.count()) + " ms"));
    }
    if (f->command == "ERROR") {
      throw StompFailure("ERROR instead of RECEIPT " + id + " for " + std::string(command) + ": " +
                         f->describe());
    }
    if (f->command == "RECEIPT" && (*f)["receipt-id"] == id) {
      for (auto it = before.rbegin(); it != before.rend(); ++it) inbox_.push_front(std::move(*it));
      return *f;
    }
    before.push_back(std::move(*f));
  }
}

void RawStomp::send(std::string_view destination, std::string_view body, KeyValues headers) {
  headers.insert(headers.begin(), {"destination", std::string(destination)});
  request("SEND", std::move(headers), body);
}

void RawStomp::subscribe(std::string_view destination, std::string_view id, std::string_view ack,
                         KeyValues extra) {
  KeyValues h{{"destination", std::string(destination)}};
  if (!id.empty()) h.emplace_back("id", std::string(id));
  if (!ack.empty()) h.emplace_back("ack", std::string(ack));
  h.insert(h.end(), extra.begin(), extra.end());
  request("SUBSCRIBE", std::move(h));
}

ReceivedFrame RawStomp::message(Ms timeout) { return expect("MESSAGE", timeout); }

std::vector<ReceivedFrame> RawStomp::messages(std::size_t n, Ms timeout) {
  std::vector<ReceivedFrame> out;
  for (std::size_t i = 0; i < n; ++i) {
    try {
      out.push_back(message(timeout));
    } catch (const StompFailure& e) {
      throw StompFailure("message " + std::to_string(i + 1) + " of " + std::to_string(n) + ": " + e.what());
    }
  }
  return out;
}

std::vector<ReceivedFrame> RawStomp::sync() {
  const std::string id = next_receipt_id();
  send_frame("SEND", {{"destination", "/topic/twinmq.itest.barrier"}, {"receipt", id}});
  std::vector<ReceivedFrame> before;
  // Frames already waiting in the inbox arrived before the barrier too.
  while (!inbox_.empty()) {
    before.push_back(std::move(inbox_.front()));
    inbox_.pop_front();
  }
  const auto deadline = Clock::now() + kWait;
  for (;;) {
    auto f = next_frame(Ms(ms_left(deadline)));
    if (!f) {
      throw StompFailure("no RECEIPT for the barrier " + id + ": " +
                         (closed_ ? "the connection closed (" + close_reason_ + ")" : "timed out"));
    }
    if (f->command == "RECEIPT" && (*f)["receipt-id"] == id) return before;
    if (f->command == "ERROR") throw StompFailure("ERROR instead of the barrier RECEIPT: " + f->describe());
    before.push_back(std::move(*f));
  }
}

}  // namespace twinmq::test
