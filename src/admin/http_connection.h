// admin/http_connection.h — one admin HTTP connection: bytes from a net::TcpConnection
// go through Debian's http_parser (libhttp-parser), each complete request is answered
// by the server's router, in order, on the loop thread.
//
// DESIGN
//  - Bounded: the request line and headers together (HttpLimits::max_header_bytes,
//    else 431, or 414 when the URL alone is too long), the number of header lines
//    (max_headers, else 431), the body (max_body_bytes, else 413; the read endpoints
//    ignore bodies, so it is counted, never kept). A request that breaks a bound or the
//    protocol is answered once, then the connection closes. Not at once: what the client
//    is still sending (the rest of an oversized request) is read and dropped for up to
//    kLingerMs first, because closing a socket with unread input sends a reset, and a
//    reset can destroy the answer before the client reads it (nginx's lingering_close).
//  - Keep-alive as HTTP/1.1 has it (the status page polls over one connection);
//    pipelined requests are answered in order because each is answered at once.
//  - An answer may come later (HttpResponse::deferred: a password check, a change
//    waiting for the journal and the slave). Meanwhile the parser is paused and what
//    arrives is kept (bounded), so a pipelined request behind it is answered after it.
//  - Idle connections are closed by the server's one periodic check (HttpServer), not
//    a timer per connection; one mid-request gets a 408 first.
//
// Lifecycle: created by HttpServer::accept, self-owned: freed in on_close(), the last
// callback of its TcpConnection, after telling the server. Loop thread only.
#pragma once

#include <http_parser.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "admin/http_message.h"
#include "net/tcp_connection.h"

namespace twinmq::admin {

class HttpServer;

struct HttpLimits {
  std::size_t max_header_bytes = 8u << 10;   // request line + header lines
  std::size_t max_url_bytes = 2u << 10;
  std::size_t max_headers = 64;
  std::size_t max_body_bytes = 64u << 10;
  std::uint32_t idle_timeout_ms = 30'000;    // no complete request for this long: closed
  std::size_t max_connections = 64;          // past it a new connection is closed at once
};

class HttpConnection final : private net::ConnectionHandler {
 public:
  HttpConnection(HttpServer& server, net::TcpConnection* conn);
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // The server's periodic check: closes the connection if it has been idle too long.
  void check_idle(std::int64_t now_ms);
  // Closes at once (server shut-down); the server is not told again, and may be gone
  // by the time the connection's close callback runs.
  void close();

 private:
  ~HttpConnection() = default;

  // net::ConnectionHandler
  void on_data(std::string_view bytes) override;
  void on_close(int status) override;

  // Answers and closes: a request that broke a bound or the protocol.
  void fail(int status, std::string text);
  void respond(HttpResponse response);
  // The deferred answer arrived (DeferredReply::send).
  void answer_late(HttpResponse response);

  static int on_message_begin(http_parser* p) noexcept;
  static int on_url(http_parser* p, const char* at, std::size_t len) noexcept;
  static int on_header_field(http_parser* p, const char* at, std::size_t len) noexcept;
  static int on_header_value(http_parser* p, const char* at, std::size_t len) noexcept;
  static int on_headers_complete(http_parser* p) noexcept;
  static int on_body(http_parser* p, const char* at, std::size_t len) noexcept;
  static int on_message_complete(http_parser* p) noexcept;
  static const http_parser_settings kSettings;

  HttpServer* server_;  // null once the server closed us
  net::TcpConnection* conn_;  // null once closed
  http_parser parser_{};
  std::string url_;
  std::size_t header_bytes_ = 0;
  std::size_t header_lines_ = 0;
  std::size_t body_bytes_ = 0;
  bool in_value_ = false;     // the last header callback was a value (the next field is a new line)
  bool in_request_ = false;   // a request has begun and not completed
  int limit_status_ = 0;      // the status for a bound a callback found broken
  std::string limit_text_;
  std::int64_t last_activity_ms_ = 0;
  bool done_ = false;         // answered for the last time; the connection is closing
  std::int64_t linger_until_ms_ = 0;  // an error answer: input dropped until then, then closed
  std::string field_;          // the header name being read (kept to find Authorization)
  std::string authorization_;  // the Authorization header's value
  // A deferred answer: the sink DeferredReply points at (freed with us, so a late
  // answer to a closed connection goes nowhere), whether the router is still running
  // (an answer given before it returns is sent as if returned), the answer given then.
  std::shared_ptr<DeferredReply::Sink> reply_sink_;
  bool routing_ = false;
  bool awaiting_reply_ = false;
  bool keep_alive_ = true;
  std::optional<HttpResponse> early_;
  std::string held_input_;     // bytes that arrived while awaiting_reply_
};

// How long a connection answered with an error keeps reading (and dropping) input
// before it closes; the server's periodic check closes it, so 1 to 2 s in practice.
inline constexpr std::int64_t kLingerMs = 1000;

}  // namespace twinmq::admin
