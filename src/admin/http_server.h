// admin/http_server.h — the admin endpoint's HTTP listener on the broker's own event
// loop: accepts connections (at most HttpLimits::max_connections; past it a new one is
// closed at once), hands each request to the router, closes idle connections from one
// periodic check. With a TLS context (https://), each connection gets a tls::Engine as
// the stomp+ssl connectors' do: a peer that fails the handshake (a plain-text client,
// one that does not trust the certificate) is logged with its address and closed by
// net::TcpConnection, before any HTTP is parsed; one that never starts it is closed
// by the idle check.
//
// The router runs on the loop thread, between broker events, so it may read broker
// state directly: no copy, no lock, no second thread touching it.
//
// Lifecycle: owned by admin::AdminEndpoint; loop thread only. close() closes the
// listener, the timer and every connection; connections free themselves.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>

#include "admin/http_connection.h"
#include "admin/http_message.h"
#include "base/result.h"
#include "net/loop.h"
#include "net/tcp_listener.h"
#include "net/timer.h"
#include "tls/context.h"

namespace twinmq::admin {

class HttpServer {
 public:
  using Router = std::function<HttpResponse(const HttpRequest&)>;

  // `tls`: every accepted connection speaks TLS with this server context (https://);
  // null = plain HTTP.
  HttpServer(net::Loop& loop, HttpLimits limits, Router router, std::shared_ptr<tls::Context> tls = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (0 = any free port). The error names the address and the reason.
  Result<void> open(const std::string& host, std::uint16_t port);
  void close();
  const std::string& address() const { return address_; }  // "ip:port" bound

  // --- for HttpConnection ---
  const HttpLimits& limits() const { return limits_; }
  HttpResponse route(const HttpRequest& req) { return router_(req); }
  void forget(HttpConnection* c) { connections_.erase(c); }

 private:
  void accept(net::TcpListener& listener);
  void check_idle();

  net::Loop& loop_;
  const HttpLimits limits_;
  Router router_;
  std::shared_ptr<tls::Context> tls_;
  net::HandlePtr<net::TcpListener> listener_;
  net::HandlePtr<net::Timer> timer_;
  std::unordered_set<HttpConnection*> connections_;
  std::string address_;
  std::uint64_t refused_ = 0;  // over max_connections since start (logged once per burst)
};

}  // namespace twinmq::admin
