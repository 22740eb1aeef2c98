#include "app/runtime.h"

#include <spdlog/spdlog.h>

#include <csignal>
#include <random>

#include "app/exit_codes.h"
#include "base/clock.h"

namespace twinmq::app {

namespace {
// How often the broker's housekeeping (expiry sweep) runs.
constexpr std::uint64_t kTickMs = 250;
// On shutdown, how long we wait for held receipts to be released (journal durable)
// before closing the connections anyway.
constexpr std::int64_t kDrainLimitMs = 5000;

// Message ids must be unique per broker; until a store gives a stable identity, a
// random per-process prefix keeps ids from two runs apart.
std::string random_prefix() {
  std::random_device rd;
  std::uniform_int_distribution<std::uint32_t> dist;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", dist(rd));
  return buf;
}
}  // namespace

stomp::ServerOptions server_options(const config::Config& config, const config::TransportConnector& c) {
  stomp::ServerOptions o;
  o.name = c.name;
  o.host = c.endpoint.host;
  o.port = c.endpoint.port;
  o.limits.max_frame_size = c.stomp.max_frame_size;
  o.limits.max_header_section = c.stomp.max_header_section;
  o.limits.max_headers = c.stomp.max_headers;
  o.connect_timeout_ms = c.stomp.connect_timeout_ms;
  o.heart_beat_grace = c.stomp.heart_beat_grace;
  o.heart_beat_ms = c.stomp.server_heart_beat_ms;
  o.max_pending_output = c.stomp.max_pending_output;
  for (const auto& u : config.users) o.users.emplace_back(u.username, u.password);
  return o;
}

Runtime::Runtime(config::Config config) : config_(std::move(config)) {}

Runtime::~Runtime() {
  servers_.clear();
  if (journal_) journal_->close();
  loop_.shutdown();
}

bool Runtime::open_store(broker::BrokerOptions& options) {
  if (!config_.persistent) {
    spdlog::warn("persistent=\"false\": nothing is written to disk; every message is lost when this broker stops");
    options.id_prefix = config_.broker_name + "-" + random_prefix();
    return true;
  }
  auto journal = store::Journal::open(loop_, config_.journal);
  if (!journal) {
    spdlog::error("cannot open the journal in {}: {}", config_.journal.directory, journal.error().message);
    return false;
  }
  journal_ = std::move(*journal);
  // The store's identity makes message ids the same on every broker that holds this
  // store (recovery, and later the slave).
  options.id_prefix = journal_->identity().id.to_string().substr(0, 12);
  return true;
}

bool Runtime::start() {
  broker::BrokerOptions options;
  options.policy_for = [this](std::string_view destination) { return config_.policy_for(destination); };
  if (!open_store(options)) return false;
  broker_ = std::make_unique<broker::Broker>(std::move(options));
  if (journal_) {
    auto report = journal_->start(*broker_);
    if (!report) {
      spdlog::error("recovery of {} failed: {}", config_.journal.directory, report.error().message);
      return false;
    }
    if (report->truncated_bytes != 0) {
      spdlog::warn("journal: cut {} bytes of torn tail: {}", report->truncated_bytes, report->truncation);
    }
    // The journal logs what it replayed; notes are clean-ups it did on the way.
    for (const auto& note : report->notes) spdlog::info("journal: {}", note);
  }

  for (const auto& c : config_.connectors) {
    if (c.endpoint.scheme != "stomp") continue;
    auto server = std::make_unique<stomp::StompServer>(loop_, *broker_, server_options(config_, c));
    if (auto r = server->open(); !r) {
      spdlog::error("cannot open connector '{}' ({}): {}", c.name, c.uri, r.error().message);
      return false;
    }
    servers_.push_back(std::move(server));
  }

  sigint_ = net::Signal::create(loop_, SIGINT, [this](int) { begin_shutdown("SIGINT"); });
  sigterm_ = net::Signal::create(loop_, SIGTERM, [this](int) { begin_shutdown("SIGTERM"); });
  tick_ = net::Timer::create(loop_);
  tick_->start(kTickMs, kTickMs, [this] { broker_->tick(wall_ms()); });
  spdlog::info("broker '{}' started (twinmq {})", config_.broker_name, TWINMQ_VERSION);
  return true;
}

void Runtime::begin_shutdown(const char* reason) {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("shutting down ({})", reason);
  // 1. stop accepting; 2. wait until every receipt we hold has been released (the
  // journal made it durable), bounded; then finish_shutdown().
  for (auto& s : servers_) s->close_listener();
  drain_deadline_ms_ = mono_ms() + kDrainLimitMs;
  drain_ = net::Timer::create(loop_);
  auto check = [this] {
    const bool drained = !broker_ || broker_->reply_gate().released() >= broker_->event_log().last();
    if (drained || mono_ms() >= drain_deadline_ms_) {
      if (!drained) spdlog::warn("shutdown: receipts still held after {} ms (journal not durable); closing anyway", kDrainLimitMs);
      drain_.reset();
      finish_shutdown();
    }
  };
  drain_->start(0, 5, check);
}

void Runtime::finish_shutdown() {
  // 3. let every session flush and close; 4. write the journal's last batch and stop
  // its writer; 5. drop our own handles: the loop then ends by itself once the last
  // connection has closed.
  for (auto& s : servers_) s->close_all();
  if (journal_) journal_->close();
  tick_.reset();
  sigint_.reset();
  sigterm_.reset();
}

int Runtime::run() {
  if (!start()) {
    begin_shutdown("start-up failed");
    loop_.run();
    return kExitRuntimeFailure;
  }
  loop_.run();
  spdlog::info("broker '{}' stopped", config_.broker_name);
  return exit_code_;
}

}  // namespace twinmq::app
