// admin/http_server.cc — the admin listener (admin/http_server.h).
#include "admin/http_server.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "base/clock.h"

namespace twinmq::admin {

namespace {
constexpr std::uint64_t kIdleCheckMs = 1000;
}

HttpServer::HttpServer(net::Loop& loop, HttpLimits limits, Router router, std::shared_ptr<tls::Context> tls)
    : loop_(loop), limits_(limits), router_(std::move(router)), tls_(std::move(tls)) {}

HttpServer::~HttpServer() { close(); }

Result<void> HttpServer::open(const std::string& host, std::uint16_t port) {
  auto l = net::TcpListener::listen(loop_, host, port, [this](net::TcpListener& self) { accept(self); });
  if (!l) return std::unexpected(l.error());
  listener_ = std::move(*l);
  address_ = listener_->address();
  timer_ = net::Timer::create(loop_);
  timer_->start(kIdleCheckMs, kIdleCheckMs, [this] { check_idle(); });
  // The admin endpoint never keeps the broker alive on its own.
  timer_->unref();
  uv_unref(reinterpret_cast<uv_handle_t*>(listener_->stream()));
  return {};
}

void HttpServer::close() {
  listener_.reset();
  timer_.reset();
  // Each connection forgets us first: its close callback may run after we are gone.
  std::unordered_set<HttpConnection*> all;
  all.swap(connections_);
  for (HttpConnection* c : all) c->close();
}

void HttpServer::accept(net::TcpListener& listener) {
  net::TcpConnection* conn = net::TcpConnection::accept(loop_, listener.stream(), nullptr);
  if (conn == nullptr) return;
  if (connections_.size() >= limits_.max_connections) {
    if (refused_++ == 0)
      spdlog::warn("admin endpoint: connection from {} closed: {} admin connections are open (the limit)",
                   conn->peer(), limits_.max_connections);
    conn->close();  // no handler: nothing more happens on it
    return;
  }
  refused_ = 0;
  if (tls_) conn->start_tls(tls::Engine::create(*tls_));
  connections_.insert(new HttpConnection(*this, conn));
}

void HttpServer::check_idle() {
  const std::int64_t now = mono_ms();
  std::vector<HttpConnection*> all(connections_.begin(), connections_.end());
  for (HttpConnection* c : all)
    if (connections_.contains(c)) c->check_idle(now);
}

}  // namespace twinmq::admin
