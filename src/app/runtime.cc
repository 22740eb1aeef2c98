#include "app/runtime.h"

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "app/exit_codes.h"
#include "app/status_memory.h"
#include "base/assert.h"
#include "base/printable.h"
#include "config/uri.h"
#include "base/clock.h"
#include "replication/pair_marker.h"
#include "tls/context.h"

namespace twinmq::app {

namespace {
// How often the broker's housekeeping (expiry sweep) runs.
constexpr std::uint64_t kTickMs = 250;
// On shutdown, how long we wait for held receipts to be released (journal durable,
// slave applied) before closing the connections anyway.
constexpr std::int64_t kDrainLimitMs = 5000;
// How often the admin stop verb looks whether the queues have drained.
constexpr std::uint64_t kStopDrainCheckMs = 100;

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

const config::TransportConnector* replication_connector(const config::Config& c) {
  for (const auto& t : c.connectors)
    if (t.endpoint.scheme == "tcp") return &t;
  return nullptr;
}

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
  o.min_heart_beat_ms = c.stomp.min_heart_beat_ms;
  o.max_pending_output = c.stomp.max_pending_output;
  o.frame_timeout_ms = c.stomp.frame_timeout_ms;
  o.max_connections = c.stomp.max_connections;
  o.max_subscriptions = c.stomp.max_subscriptions;
  o.max_transactions = c.stomp.max_transactions;
  o.max_unacked = c.stomp.max_unacked;
  o.send_fail_if_no_space = config.system_usage.send_fail_if_no_space;
  o.send_fail_if_no_space_after_timeout_ms = config.system_usage.send_fail_if_no_space_after_timeout_ms;
  return o;
}

std::unique_ptr<auth::Security> make_security(const config::Config& config) {
  auth::SecurityOptions o;
  for (const auto& u : config.users) {
    auto stored = auth::StoredPassword::parse(u.password);
    TWINMQ_ASSERT(stored.has_value(), "the configuration checked every password");
    if (!stored->hashed())
      spdlog::warn("[event=plaintext_password] user '{}' has a plain-text password in {}: anyone who can read the "
                   "file can log in as it. Replace it with the output of `twinmq hash-password`",
                   shown(u.username), config.source_file);
    o.users.push_back(auth::UserAccount{u.username, std::move(*stored), auth::split_groups(u.groups)});
  }
  o.anonymous_allowed = config.security.anonymous_access_allowed;
  o.authorization = config.security.authorization;
  o.replication_group = config.security.replication_group;
  o.max_failed_logins = config.security.max_failed_logins;
  o.failed_login_window_ms = config.security.failed_login_window_ms;
  if (config.users.empty() || config.security.anonymous_access_allowed) {
    for (const auto& c : config.connectors) {
      const bool loopback = c.endpoint.host == "localhost" || c.endpoint.host.starts_with("127.") || c.endpoint.host == "::1";
      if (c.endpoint.scheme == "stomp" && !loopback)
        spdlog::warn("[event=anonymous_access] connector '{}' on {} accepts clients without credentials "
                     "(anonymousAccessAllowed=\"true\"), as user '{}'",
                     c.name, c.endpoint.host, auth::kAnonymousUser);
    }
  }
  return std::make_unique<auth::Security>(std::move(o));
}

Runtime::Runtime(config::Config config, RuntimeFlags flags) : config_(std::move(config)), flags_(flags) {}

Runtime::~Runtime() {
  stopping_ = true;  // a copy still replayed on a worker is not adopted (runtime_slave.cc)
  servers_.clear();
  master_.reset();
  slave_.reset();
  if (witness_) witness_->close();
  status_.reset();
  control_.reset();
  admin_.reset();
  service_.close();
  if (journal_) journal_->close();
  loop_.shutdown();
}

bool Runtime::open_store() {
  if (!config_.persistent) {
    spdlog::warn("persistent=\"false\": nothing is written to disk; every message is lost when this broker stops");
    return true;
  }
  auto journal = store::Journal::open(loop_, config_.journal, journal_options());
  if (!journal) {
    spdlog::error("cannot open the journal in {}: {}", config_.journal.directory, journal.error().message);
    return false;
  }
  journal_ = std::move(*journal);
  return true;
}

store::JournalOptions Runtime::journal_options() const {
  store::JournalOptions options;
  // Only a member of a pair has a slave to keep journal for (a slave may be promoted).
  if (config_.replication.master || replication_connector(config_) != nullptr || !flags_.rejoin_uri.empty()) {
    options.retain_bytes = config_.replication.retain_bytes;
    options.retain_ms = config_.replication.retain_ms;
  }
  return options;
}

void Runtime::make_broker(const std::optional<store::StoreIdentity>& identity) { broker_ = new_broker(identity); }

std::unique_ptr<broker::Broker> Runtime::new_broker(const std::optional<store::StoreIdentity>& identity) const {
  broker::BrokerOptions options;
  options.policy_for = [this](std::string_view destination) { return config_.policy_for(destination); };
  options.max_transaction_bytes = config_.max_transaction_size;
  options.memory_limit = config_.system_usage.memory_limit;
  // Without persistence nothing is journaled, so there is no store to limit.
  options.store_limit = config_.persistent ? config_.system_usage.store_limit : 0;
  // The store's identity makes message ids the same on every broker that holds this
  // store (recovery, the slave, and the slave after it took over).
  options.id_prefix = identity ? identity->id.to_string().substr(0, 12) : config_.broker_name + "-" + random_prefix();
  return std::make_unique<broker::Broker>(std::move(options));
}

bool Runtime::start() {
  started_ms_ = mono_ms();
  security_ = make_security(config_);
  if (!open_store()) return false;
  make_broker(journal_ ? std::optional(journal_->identity()) : std::nullopt);
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

  if (config_.witness && !start_witness()) return false;
  if (!config_.witness && (config_.replication.master || replication_connector(config_) != nullptr))
    spdlog::warn("replication: no <witness> is configured: if the link between master and slave is cut while both "
                 "run, the slave takes over and BOTH serve until an operator steps in, and the recovery copy can "
                 "destroy what the old master confirmed meanwhile (README \"The witness\")");

  sigint_ = net::Signal::create(loop_, SIGINT, [this](int) { begin_shutdown("SIGINT"); });
  sigterm_ = net::Signal::create(loop_, SIGTERM, [this](int) { begin_shutdown("SIGTERM"); });
  // Operators send SIGHUP to make daemons reopen their logs; left to its default it
  // would stop the broker, and on a master that is an unplanned failover. The log goes
  // to standard error (the supervisor owns the file), so there is nothing to reopen.
  sighup_ = net::Signal::create(loop_, SIGHUP, [](int) {
    spdlog::info("SIGHUP received: ignored (the log goes to standard error; nothing to reopen). SIGTERM stops "
                 "the broker");
  });

  const auto& rep = config_.replication;
  if (rep.master || !flags_.rejoin_uri.empty()) {
    if (!start_slave()) return false;
  } else if (const auto* c = replication_connector(config_)) {
    if (!start_master(*c)) return false;
  } else {
    start_tick();
    if (!open_connectors("standalone broker")) return false;
  }

  std::error_code ec;
  std::filesystem::create_directories(config_.data_directory, ec);
  const std::string socket = config_.data_directory + "/" + kStatusSocketName;
  if (auto s = StatusServer::listen(loop_, socket, [this] { return status_text(); }); s) {
    status_ = std::move(*s);
  } else {
    spdlog::warn("`twinmq status` is not available: {}", s.error().message);
  }
  const std::string control = config_.data_directory + "/" + kControlSocketName;
  if (auto c = ControlServer::listen(loop_, control, [this](std::string_view r) { return on_control(r); }); c) {
    control_ = std::move(*c);
  } else {
    spdlog::warn("`twinmq switchover` is not available: {}", c.error().message);
  }
  if (!open_admin_endpoint()) return false;
  spdlog::info("broker '{}' started (twinmq {})", config_.broker_name, TWINMQ_VERSION);
  service_.changed();
  return true;
}

// The replication link's TLS context: the broker's own certificate either way (mutual
// TLS), trustedCAs to check the other broker's.
Result<std::shared_ptr<tls::Context>> Runtime::link_tls_context(tls::Role role) const {
  if (!config_.ssl_context || config_.ssl_context->files.trusted_cas.empty())
    return make_error(tls::ContextErrc::trusted_cas,
                      "the replication link over ssl:// needs <sslContext certificate privateKey trustedCAs>");
  return tls::Context::create(role, config_.ssl_context->files, tls::ClientAuth::need);
}

bool Runtime::start_slave() {
  const auto& rep = config_.replication;
  bool link_tls = rep.master_tls;
  replication::SlaveOptions o;
  o.broker_name = config_.broker_name;
  o.master_uri = rep.master_uri;
  if (rep.master) {
    o.master_host = rep.master->host;
    o.master_port = rep.master->port;
  }
  o.user_name = rep.user_name;
  o.password = rep.password;
  if (!flags_.rejoin_uri.empty()) {
    // An old master rejoining the broker that took over, as its slave.
    auto uri = config::parse_uri(flags_.rejoin_uri);
    const bool rejoin_tls = uri && uri->endpoint.scheme == "ssl";
    if (!uri || (uri->endpoint.scheme != "tcp" && !rejoin_tls) || uri->endpoint.port == 0) {
      spdlog::error("--rejoin {}: give the replication listener of the broker that took over as tcp://host:port "
                    "(or ssl://host:port)",
                    flags_.rejoin_uri);
      return false;
    }
    link_tls = rejoin_tls;
    o.master_uri = flags_.rejoin_uri;
    o.master_host = uri->endpoint.host;
    o.master_port = uri->endpoint.port;
    o.rejoin = true;
    o.discard_forked_tail = flags_.discard_forked_tail;
    o.user_name = flags_.rejoin_user;
    o.password.clear();
    if (!flags_.rejoin_user.empty()) {
      const auto u = std::find_if(config_.users.begin(), config_.users.end(),
                                  [&](const config::User& x) { return x.username == flags_.rejoin_user; });
      if (u == config_.users.end()) {
        spdlog::error("--rejoin-user {}: no such user in this configuration's <users> (it logs in with that user's "
                      "password; both brokers of a pair have the same users)",
                      flags_.rejoin_user);
        return false;
      }
      if (u->hashed) {
        spdlog::error("--rejoin-user {}: that user's password is a hash in this configuration, and the rejoining "
                      "broker must present the password itself: use a user whose <authenticationUser password> is "
                      "plain text here (and hashed on the broker that took over, if you like)",
                      flags_.rejoin_user);
        return false;
      }
      o.password = u->password;
    }
    spdlog::warn("replication: REJOINING {} as its slave (this broker's own client connectors and replication "
                 "listener stay closed until it would take over)",
                 flags_.rejoin_uri);
  }
  o.persistent = config_.persistent;
  o.shutdown_on_master_failure = rep.shutdown_on_master_failure;
  o.heart_beat_ms = rep.heart_beat_ms;
  o.link_timeout_ms = rep.link_timeout_ms;
  o.witness = witness_.get();
  o.sync_on_write = config_.journal.sync_on_write;
  if (const auto* own = replication_connector(config_); own != nullptr && own->endpoint.port != 0) {
    const std::string& h = own->endpoint.host;
    o.replication_listener = (own->tls ? "ssl://" : "tcp://") + (h.find(':') != std::string::npos ? "[" + h + "]" : h) +
                             ":" + std::to_string(own->endpoint.port);
  }
  if (link_tls) {
    auto context = link_tls_context(tls::Role::client);
    if (!context) {
      spdlog::error("cannot attach to master {}: {}", o.master_uri, context.error().message);
      return false;
    }
    o.tls = std::move(*context);
  }
  replication::SlaveHost& host = *this;
  slave_ = std::make_unique<replication::SlaveLink>(loop_, host, std::move(o));
  slave_->start();
  return true;
}

bool Runtime::open_master_link(const config::TransportConnector& c) {
  const auto& rep = config_.replication;
  replication::MasterOptions o;
  o.broker_name = config_.broker_name;
  o.host = c.endpoint.host;
  o.port = c.endpoint.port;
  o.security = security_.get();
  o.shutdown_on_slave_failure = rep.shutdown_on_slave_failure;
  o.minimum_replicas = rep.minimum_replicas;
  o.heart_beat_ms = rep.heart_beat_ms;
  o.link_timeout_ms = rep.link_timeout_ms;
  o.retain_bytes = rep.retain_bytes;
  o.retain_ms = rep.retain_ms;
  o.witness = witness_.get();
  o.sync_on_write = config_.journal.sync_on_write;
  if (const char* bytes = std::getenv("TWINMQ_COPY_MEMORY_BYTES")) o.copy_memory = std::strtoull(bytes, nullptr, 10);
  if (c.tls) {
    // ssl://: mutual TLS, the slave must show a certificate signed by trustedCAs.
    auto context = link_tls_context(tls::Role::server);
    if (!context) {
      spdlog::error("cannot open connector 'replication' ({}): {}", c.uri, context.error().message);
      return false;
    }
    o.tls = std::move(*context);
  }
  replication::MasterLink::Callbacks cb;
  cb.on_in_sync = [this] {
    if (!waiting_reason_.empty()) open_connectors("a slave is in sync");
  };
  cb.on_fatal = [this](const std::string& reason) { begin_shutdown(reason, kExitSlaveLost); };
  cb.on_state_change = [this] { service_.changed(); };
  cb.on_backlog = [this](bool hold) {
    clients_held_ = hold;
    for (auto& s : servers_) s->hold_reading(hold);
  };
  master_ = std::make_unique<replication::MasterLink>(loop_, *broker_, journal_.get(), std::move(o), std::move(cb));
  if (auto r = master_->open(); !r) {
    spdlog::error("cannot open connector 'replication' ({}): {}", c.uri, r.error().message);
    return false;
  }
  start_tick();
  return true;
}

bool Runtime::start_master(const config::TransportConnector& c) {
  const auto& rep = config_.replication;
  if (!open_master_link(c)) return false;
  if (rep.wait_for_slave) {
    waiting_reason_ = "waitForSlave=\"true\"";
    // ActiveMQ's rule: a master told to wait for its slave gives up after a while
    // rather than sit closed forever unnoticed.
    give_up_ = net::Timer::create(loop_);
    give_up_->start(rep.wait_for_slave_timeout_ms, 0, [this] {
      if (!servers_.empty() || stopping_) return;
      spdlog::error("replication: no slave was in sync within waitForSlaveTimeout ({} ms) and waitForSlave=\"true\": "
                    "giving up. Start the slave (its log says why it cannot attach), or start this master without "
                    "waitForSlave to serve alone",
                    config_.replication.wait_for_slave_timeout_ms);
      begin_shutdown("no slave within waitForSlaveTimeout", kExitRuntimeFailure);
    });
  }
  if (witness_) {
    // The witness answers what the pairing note guesses: whether the slave took over.
    witness_->acquire();
    if (waiting_reason_.empty()) waiting_reason_ = "waiting to win the pair's witness key";
    spdlog::info("client connectors stay closed (not listening) until {}", waiting_reason_);
    return true;
  }
  if (journal_) {
    const std::string dir = journal_->directory();
    if (auto m = replication::read_pair_marker(dir, journal_->identity())) {
      if (m->identity.id == journal_->identity().id && m->identity.epoch == journal_->identity().epoch) {
        waiting_reason_ = "this master had slave " + m->slave + " in sync when it stopped, so the slave may have "
                          "taken over";
        spdlog::warn("replication: {} ({}). Client connectors stay CLOSED until a slave is in sync again. If the "
                     "slave was promoted, this master's data is stale: follow the recovery procedure (README "
                     "\"Recovering the pair\"). If the slave is gone for good and this master must serve alone, "
                     "delete {} and restart",
                     waiting_reason_, replication::pair_marker_path(dir), replication::pair_marker_path(dir));
      } else {
        // The store was replaced (resync from the promoted slave): the note is about
        // another history.
        spdlog::info("replication: removing pairing note {} of another store or epoch",
                     replication::pair_marker_path(dir));
        if (auto r = replication::remove_pair_marker(dir); !r) spdlog::warn("replication: {}", r.error().message);
      }
    }
  }
  if (waiting_reason_.empty()) return open_connectors("master");
  spdlog::info("client connectors stay closed (not listening) until a slave is in sync: {}", waiting_reason_);
  return true;
}

bool Runtime::open_connectors(const std::string& why) {
  if (stopping_) return true;
  if (witness_ && !witness_->serving()) {
    waiting_reason_ = "not holding the pair's witness key";
    return true;
  }
  if (!servers_.empty() && servers_.front()->listening()) return true;
  waiting_reason_.clear();
  if (!servers_.empty()) {
    // Reopening after a fence: the servers (and their fenced sessions) are still here.
    for (auto& s : servers_) {
      if (auto r = s->open(); !r) {
        spdlog::error("cannot open connector '{}' again: {}", s->options().name, r.error().message);
        begin_shutdown("a client connector cannot open", kExitRuntimeFailure);
        return false;
      }
    }
    spdlog::info("client connectors open again ({})", why);
    service_.changed();
    return true;
  }
  for (const auto& c : config_.connectors) {
    if (c.endpoint.scheme != "stomp") continue;
    stomp::ServerOptions options = server_options(config_, c);
    options.write_guard = witness_.get();
    options.security = security_.get();
    if (c.tls) {
      // The loader checked the files; they may have changed since (or vanished).
      TWINMQ_ASSERT(config_.ssl_context.has_value(), "the configuration checked that TLS connectors have an sslContext");
      auto context = tls::Context::create(tls::Role::server, config_.ssl_context->files, c.client_auth);
      if (!context) {
        spdlog::error("cannot open connector '{}' ({}): {}", c.name, c.uri, context.error().message);
        servers_.clear();
        begin_shutdown("a client connector cannot open", kExitRuntimeFailure);
        return false;
      }
      options.tls = std::move(*context);
    }
    auto server = std::make_unique<stomp::StompServer>(loop_, *broker_, std::move(options));
    if (auto r = server->open(); !r) {
      spdlog::error("cannot open connector '{}' ({}): {}", c.name, c.uri, r.error().message);
      servers_.clear();
      begin_shutdown("a client connector cannot open", kExitRuntimeFailure);
      return false;
    }
    server->hold_reading(clients_held_);
    servers_.push_back(std::move(server));
  }
  spdlog::info("client connectors open ({})", why);
  service_.changed();
  return true;
}

bool Runtime::start_witness() {
  const config::WitnessConfig& wc = *config_.witness;
  auto etcd = witness::parse_etcd_uri(wc.uri);
  if (!etcd) {  // the configuration check parsed it already
    spdlog::error("<witness> uri: {}", etcd.error().message);
    return false;
  }
  witness::WitnessOptions o;
  o.etcd = std::move(*etcd);
  o.etcd.user = wc.user_name;
  o.etcd.password = wc.password;
  if (o.etcd.tls && config_.ssl_context) {
    // etcds://: the broker's own certificate and CAs (the configuration check required trustedCAs).
    o.etcd.trusted_cas = config_.ssl_context->files.trusted_cas;
    o.etcd.certificate = config_.ssl_context->files.certificate;
    o.etcd.private_key = config_.ssl_context->files.private_key;
  }
  o.uri = wc.uri;
  o.key = wc.key;
  o.lease_ms = wc.lease_ms;
  o.broker_name = config_.broker_name;
  o.claim = flags_.claim_witness;
  witness::Witness::Callbacks cb;
  cb.store = [this] {
    witness::StoreState s;
    if (journal_) {
      s.store_id = journal_->identity().id.to_string();
      s.epoch = journal_->epoch();
    }
    return s;
  };
  cb.on_serving = [this](const std::string& why) {
    if (master_) master_->witness_regained();
    if (waiting_reason_.empty() || waiting_reason_ == "not holding the pair's witness key" ||
        waiting_reason_ == "waiting to win the pair's witness key")
      open_connectors("holds the pair's witness key: " + why);
  };
  cb.on_fenced = [this](const std::string& why) { fence_connectors(why); };
  cb.on_stale = [this](const std::string& why) {
    spdlog::error("[event=stale_store] witness: this broker may NOT serve: {}. Its data is kept as it is. Follow README \"Recovering "
                  "the pair after a failover\" (twinmq-resync from the broker that serves); if this store is a "
                  "verified copy of the last holder's, start it with --claim-witness. Exiting with code {}",
                  why, static_cast<int>(kExitStale));
    begin_shutdown("stale store: " + why, kExitStale);
  };
  witness_ = std::make_unique<witness::Witness>(loop_, std::move(o), std::move(cb));
  spdlog::info("witness: {} key {} (lease {} ms): {}", wc.uri, wc.key, wc.lease_ms,
               config_.replication.master ? "this slave takes over only by winning the key"
                                          : "this master serves only while it holds the key");
  return true;
}

void Runtime::fence_connectors(const std::string& why) {
  waiting_reason_ = "not holding the pair's witness key";
  std::size_t closed = 0;
  const std::string text = "broker '" + config_.broker_name + "' stopped serving: " + why +
                           ". Nothing it did not confirm is kept by the pair; reconnect to the other broker.";
  for (auto& s : servers_) {
    s->close_listener();
    closed += s->fence_all(text);
  }
  spdlog::error("witness: client connectors CLOSED and {} client connection(s) closed with an ERROR ({})", closed, why);
  service_.changed();
}

void Runtime::start_tick() {
  if (tick_) return;
  tick_ = net::Timer::create(loop_);
  tick_->start(kTickMs, kTickMs, [this] { broker_->tick(wall_ms()); });
}

void Runtime::begin_shutdown(const std::string& reason, int exit_code) {
  if (stopping_) return;
  stopping_ = true;
  exit_code_ = exit_code;
  shutdown_reason_ = reason;
  spdlog::info("shutting down ({})", reason);
  service_.stopping(reason, /*restarting=*/restart_.has_value());
  // A slave stops mirroring at once; it never takes over on its way out.
  if (slave_) slave_->close();
  // 1. stop accepting; 2. wait until every receipt we hold has been released (journal
  // durable, slave applied), bounded; then finish_shutdown(). A master stopping because
  // its slave is lost keeps them held: nothing unmirrored is ever confirmed.
  for (auto& s : servers_) s->close_listener();
  if (exit_code == kExitSlaveLost || exit_code == kExitStale || !broker_) {
    finish_shutdown();
    return;
  }
  drain_deadline_ms_ = mono_ms() + kDrainLimitMs;
  drain_ = net::Timer::create(loop_);
  auto check = [this] {
    const bool drained = !broker_ || broker_->reply_gate().released() >= broker_->event_log().last();
    if (drained || mono_ms() >= drain_deadline_ms_) {
      if (!drained)
        spdlog::warn("shutdown: receipts still held after {} ms (journal not durable or slave not "
                     "acknowledging); closing anyway",
                     kDrainLimitMs);
      drain_.reset();
      finish_shutdown();
    }
  };
  drain_->start(0, 5, check);
}

void Runtime::finish_shutdown() {
  // 3. let every session flush and close; 4. write the journal's last batch and stop
  // its writer; 5. tell the slave (it takes over); 6. drop our own handles: the loop
  // then ends by itself once the last connection has closed.
  for (auto& s : servers_) s->close_all();
  if (journal_) journal_->close();
  if (master_) master_->shutdown(shutdown_reason_);
  // Give the key up only now: every client is told, the slave has its Shutdown. A
  // broker that never held it (a slave, a stale master) has nothing to release.
  if (witness_) witness_->release([this] { witness_->close(); });
  tick_.reset();
  give_up_.reset();
  stop_drain_.reset();
  status_.reset();
  control_.reset();
  if (admin_) admin_->close();
  sigint_.reset();
  sigterm_.reset();
  sighup_.reset();
  service_.close();
}

bool Runtime::open_admin_endpoint() {
  if (!config_.management) return true;
  const config::ManagementConfig& m = *config_.management;
  AdminHost host;
  host.broker = [this] { return broker_.get(); };
  host.refuse_changes = [this] { return refuse_admin_changes(); };
  host.stop = [this](std::uint32_t drain_s, std::string why) { stop_after_drain(drain_s, std::move(why)); };
  admin_actions_ = std::make_unique<AdminActionsImpl>(loop_, security_.get(), std::move(host));
  admin::EndpointOptions options;
  // Beyond loopback the configuration made sure of an admin user and of https://.
  options.login_required = !m.loopback;
  if (m.tls) {
    // The loader checked the files; they may have changed since (or vanished).
    TWINMQ_ASSERT(config_.ssl_context.has_value(), "the configuration checked that https:// has an sslContext");
    auto context = tls::Context::create(tls::Role::server, config_.ssl_context->files);
    if (!context) {
      spdlog::error("{}:{}: <managementContext uri=\"{}\">: the admin endpoint cannot use the <sslContext>: {}",
                    config_.source_file, m.line, m.uri, context.error().message);
      return false;
    }
    options.tls = std::move(*context);
  }
  admin_ = std::make_unique<admin::AdminEndpoint>(loop_, [this] { return status_model(); }, admin_actions_.get(),
                                                  std::move(options));
  if (auto r = admin_->open(m.endpoint.host, m.endpoint.port); !r) {
    // Like a client connector that cannot listen: refused at start-up, visibly, rather
    // than a broker whose health checks never answer.
    spdlog::error("{}:{}: <managementContext uri=\"{}\">: the admin endpoint cannot listen: {}", config_.source_file,
                  m.line, m.uri, r.error().message);
    admin_.reset();
    return false;
  }
  return true;
}

std::string Runtime::refuse_admin_changes() {
  if (stopping_) return "this broker is stopping (" + shutdown_reason_ + ")";
  if (!broker_) return "this broker holds no state now";
  const admin::BrokerStatus s = status_model();
  if (s.role == "slave")
    return "this broker is the slave; send it to the master at " +
           (config_.replication.master_uri.empty() ? s.peer.description : config_.replication.master_uri) +
           " (its admin endpoint is the <managementContext> of its configuration)";
  // A master that does not serve (waiting for its slave, or fenced by the witness) must
  // not decide changes either: they could be lost to, or fork from, the broker that does.
  if (!s.serving)
    return "this broker does not serve clients now" + (s.closed_reason.empty() ? std::string() : ": " + s.closed_reason);
  return {};
}

void Runtime::stop_after_drain(std::uint32_t drain_s, std::string why) {
  if (stopping_ || stop_drain_) return;
  spdlog::info("[event=admin_stop] {}: client connectors closed to new connections; waiting for consumers to drain "
               "the queues", why);
  for (auto& s : servers_) s->close_listener();
  stop_drain_deadline_ms_ = mono_ms() + static_cast<std::int64_t>(drain_s) * 1000;
  stop_drain_ = net::Timer::create(loop_);
  // The first check comes one period later, so the verb's answer is written before the
  // shut-down closes the admin endpoint.
  stop_drain_->start(kStopDrainCheckMs, kStopDrainCheckMs, [this, why] {
    std::uint64_t left = 0;
    if (broker_)
      for (const auto& d : broker_->stats())
        if (!d.topic) left += d.depth + d.inflight;
    const bool slave = slave_ && !stopping_ && status_model().role == "slave";
    if (left != 0 && !slave && mono_ms() < stop_drain_deadline_ms_) return;
    const std::string reason = why;  // the timer (and this lambda) goes with reset()
    stop_drain_.reset();
    if (left == 0 || slave)
      spdlog::info("[event=admin_stop] {}: {}; stopping", reason,
                   slave ? "a slave has nothing to drain" : "queues drained");
    else
      spdlog::warn("[event=admin_stop] {}: drain time is up with {} message(s) still queued; stopping (they stay in "
                   "the store{})",
                   reason, left, master_ ? " and on the slave" : "");
    begin_shutdown(reason);
  });
}

int Runtime::run() {
  if (!start()) {
    begin_shutdown("start-up failed", kExitRuntimeFailure);
    loop_.run();
    return kExitRuntimeFailure;
  }
  loop_.run();
  spdlog::info("broker '{}' stopped (exit code {})", config_.broker_name, exit_code_);
  return exit_code_;
}

}  // namespace twinmq::app
