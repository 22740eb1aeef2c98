#include "stomp/server.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <vector>

#include "base/clock.h"
#include "net/tcp_connection.h"
#include "stomp/session.h"

namespace twinmq::stomp {

namespace {
// How often every session's deadlines are checked. Heart-beat intervals are at
// least a few hundred ms in practice; 100 ms keeps beats punctual without cost.
constexpr std::uint64_t kHousekeepingMs = 100;
}  // namespace

StompServer::StompServer(net::Loop& loop, broker::Broker& broker, ServerOptions options)
    : loop_(loop), broker_(broker), options_(std::move(options)) {}

StompServer::~StompServer() {
  close_listener();
  timer_.reset();
}

Result<void> StompServer::open() {
  if (listener_) return {};
  auto l = net::TcpListener::listen(loop_, options_.host, options_.port,
                                    [this](net::TcpListener& self) { accept(self); });
  if (!l) return std::unexpected(l.error());
  listener_ = std::move(*l);
  if (!timer_) {
    timer_ = net::Timer::create(loop_);
    timer_->start(kHousekeepingMs, kHousekeepingMs, [this] { housekeeping(); });
    timer_->unref();
  }
  spdlog::info("connector '{}' listening on {}", options_.name, listener_->address());
  // The machine-readable readiness line (README "Operations"): tools and tests wait
  // for it instead of polling the port.
  std::printf("twinmq: listening %s %s\n", options_.name.c_str(), listener_->address().c_str());
  std::fflush(stdout);
  return {};
}

void StompServer::close_listener() {
  if (!listener_) return;
  spdlog::info("connector '{}' closed (no longer listening on {})", options_.name, listener_->address());
  listener_.reset();
}

std::uint16_t StompServer::port() const { return listener_ ? listener_->port() : 0; }

void StompServer::accept(net::TcpListener& listener) {
  net::TcpConnection* conn = net::TcpConnection::accept(loop_, listener.stream(), nullptr);
  if (!conn) return;
  conn->set_write_guard(options_.write_guard);
  auto* session = new Session(*this, next_session_++, conn);
  sessions_.insert(session);
}

void StompServer::close_all() {
  // Copy: closing may free sessions (forget() edits the set).
  std::vector<Session*> all(sessions_.begin(), sessions_.end());
  for (Session* s : all) {
    if (sessions_.contains(s)) s->shutdown();
  }
}

std::size_t StompServer::fence_all(std::string_view why) {
  std::vector<Session*> all(sessions_.begin(), sessions_.end());
  std::size_t n = 0;
  for (Session* s : all) {
    if (sessions_.contains(s) && s->fence(why)) ++n;
  }
  return n;
}

void StompServer::housekeeping() {
  const std::int64_t now = mono_ms();
  std::vector<Session*> all(sessions_.begin(), sessions_.end());
  for (Session* s : all) {
    if (sessions_.contains(s)) s->check_deadlines(now);
  }
}

}  // namespace twinmq::stomp
