#include "stomp/server.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <vector>

#include "base/clock.h"
#include "net/fd_limit.h"
#include "net/tcp_connection.h"
#include "stomp/session.h"

namespace twinmq::stomp {

namespace {
// How often every session's deadlines are checked. Heart-beat intervals are at
// least a few hundred ms in practice; 100 ms keeps beats punctual without cost.
constexpr std::uint64_t kHousekeepingMs = 100;
// At most one log line per this many ms about connections refused past the limit.
constexpr std::int64_t kRefusalReportMs = 10'000;
// Descriptors the broker needs besides client connections: journal segments, the
// replication link, the status port, stdio, libuv's own.
constexpr std::uint64_t kSpareDescriptors = 128;
}  // namespace

StompServer::StompServer(net::Loop& loop, broker::Broker& broker, ServerOptions options)
    : loop_(loop), broker_(broker), options_(std::move(options)) {}

StompServer::~StompServer() {
  close_listener();
  timer_.reset();
  retry_timer_.reset();
}

Result<void> StompServer::open() {
  if (listener_) return {};
  auto l = net::TcpListener::listen(loop_, options_.host, options_.port,
                                    [this](net::TcpListener& self) { accept(self); });
  if (!l) return std::unexpected(l.error());
  listener_ = std::move(*l);
  const std::uint64_t wanted = std::uint64_t{options_.max_connections} + kSpareDescriptors;
  if (const std::uint64_t have = net::raise_open_files_limit(wanted); have < wanted) {
    spdlog::warn("connector '{}': maximumConnections is {} but this process may open only {} files "
                 "(ulimit -n, hard limit): connections will fail before the limit is reached",
                 options_.name, options_.max_connections, have);
  }
  if (!timer_) {
    timer_ = net::Timer::create(loop_);
    timer_->start(kHousekeepingMs, kHousekeepingMs, [this] { housekeeping(); });
    timer_->unref();
  }
  spdlog::info("connector '{}' listening on {}{}", options_.name, listener_->address(), options_.tls ? " (TLS)" : "");
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
  if (sessions_.size() >= options_.max_connections) {
    refuse(conn);
    return;
  }
  ++accepted_total_;
  if (options_.tls) conn->start_tls(tls::Engine::create(*options_.tls));
  conn->set_write_guard(options_.write_guard);
  auto* session = new Session(*this, next_session_++, conn);
  sessions_.insert(session);
}

void StompServer::refuse(net::TcpConnection* conn) {
  ++refused_unreported_;
  ++refused_total_;
  // The first refusal of a burst is logged at once; housekeeping sums up the rest.
  const std::int64_t now = mono_ms();
  if (refused_unreported_ == 1 && now - refusal_reported_ms_ >= kRefusalReportMs) {
    spdlog::warn("connector '{}': connection from {} refused: maximumConnections ({}) reached",
                 options_.name, conn->peer(), options_.max_connections);
    refused_unreported_ = 0;
    refusal_reported_ms_ = now;
  }
  conn->close();  // no handler: nothing more happens on it
}

void StompServer::report_refusals(std::int64_t now_ms) {
  if (refused_unreported_ == 0 || now_ms - refusal_reported_ms_ < kRefusalReportMs) return;
  spdlog::warn("connector '{}': {} connection(s) refused since the last report: maximumConnections ({}) "
               "reached ({} refused in all)",
               options_.name, refused_unreported_, options_.max_connections, refused_total_);
  refused_unreported_ = 0;
  refusal_reported_ms_ = now_ms;
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

void StompServer::hold_reading(bool on) {
  if (reading_held_ == on) return;
  reading_held_ = on;
  std::vector<Session*> all(sessions_.begin(), sessions_.end());
  for (Session* s : all) {
    if (sessions_.contains(s)) s->set_paused(Session::kServerHold, on);
  }
}

void StompServer::schedule_retry(Session* s) {
  retries_.push_back(s);
  if (retry_armed_) return;
  if (!retry_timer_) {
    retry_timer_ = net::Timer::create(loop_);
    retry_timer_->unref();
  }
  retry_armed_ = true;
  retry_timer_->start(0, 0, [this] { run_retries(); });
}

void StompServer::run_retries() {
  retry_armed_ = false;
  retries_scratch_.swap(retries_);
  // A session may have closed since it asked (forget() took it out of sessions_).
  for (Session* s : retries_scratch_)
    if (sessions_.contains(s)) s->retry_held();
  retries_scratch_.clear();
}

void StompServer::housekeeping() {
  const std::int64_t now = mono_ms();
  report_refusals(now);
  std::vector<Session*> all(sessions_.begin(), sessions_.end());
  for (Session* s : all) {
    if (sessions_.contains(s)) s->check_deadlines(now);
  }
}

}  // namespace twinmq::stomp
