// app/runtime.h — owns everything a running broker is made of, and the order in
// which it starts and stops.
//
// Start-up: loop → journal (lock the data directory, load identity) → broker → replay
// the journal into it → the role:
//   master      replication listener (MasterLink), then the STOMP connectors — at once,
//               or only once a slave is in sync (waitForSlave="true", or a `paired`
//               marker saying this master had a slave that may have taken over);
//   slave       SlaveLink dials the master; STOMP connectors stay closed (not
//               listening) until promotion; no housekeeping tick (the master decides
//               expiry);
//   standalone  no replication: STOMP connectors at once
// With a <witness>, the witness comes up right after the journal; a master opens its
// connectors only once it holds the pair's key (and closes them, telling every client,
// when it loses it); a slave takes over only by winning the key (replication/
// witness_port.h); a store the witness says is stale exits with kExitStale.
// → status socket, admin endpoint (<managementContext>) → signals, timers → run.
// Shut-down mirrors it: stop accepting and stop reading → wait (bounded) until every
// held receipt is released (journal durable and slave applied) → flush and close
// sessions → close the journal → tell the slave (Shutdown: it takes over) → give up the
// witness key (so the slave need not wait for the lease) → close timers, signals,
// status, admin endpoint → run the loop until every handle is closed → close the loop.
//
// As a slave the Runtime is the SlaveLink's SlaveHost: an initial sync replaces the
// journal and the broker (runtime_slave.cc).
//
// Lifecycle: one per process, created by main() on its stack. Loop thread only.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "admin/admin_endpoint.h"
#include "admin/status_model.h"
#include "app/control_server.h"
#include "app/admin_actions.h"
#include "app/service_notify.h"
#include "app/status_server.h"
#include "broker/broker.h"
#include "config/config.h"
#include "tls/context.h"
#include "net/loop.h"
#include "net/posix_signal.h"
#include "net/timer.h"
#include "replication/master_link.h"
#include "replication/slave_link.h"
#include "stomp/server.h"
#include "store/journal.h"
#include "witness/witness.h"

namespace twinmq::app {

// Command-line choices that are not configuration.
struct RuntimeFlags {
  // --claim-witness: win the witness key at this store's epoch even though another
  // broker held it last (this store is a verified copy of its: twinmq-resync).
  bool claim_witness = false;
  // --rejoin tcp://host:port: this (old master's) configuration runs as the slave of
  // the broker that took over, at that replication listener; --rejoin-user names the
  // user of this configuration's <users> it logs in as; --discard-forked-tail lets it
  // drop events after the fork that may have been confirmed (they are salvaged first).
  std::string rejoin_uri;
  std::string rejoin_user;
  bool discard_forked_tail = false;
};

// After a planned switchover (runtime_switchover.cc) the process restarts as the slave
// of the broker it handed over to: main() execs itself with these instead of exiting.
struct RestartAsSlave {
  std::string rejoin_uri;   // --rejoin URI; empty: the configuration names the master
  std::string rejoin_user;  // --rejoin-user; empty: none
};

class Runtime final : private replication::SlaveHost {
 public:
  explicit Runtime(config::Config config, RuntimeFlags flags = RuntimeFlags{});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Starts, runs until a signal asks to stop, stops. Returns the process exit code.
  int run();
  // Set when run() ended in a switchover: restart as this broker's new master's slave.
  const std::optional<RestartAsSlave>& restart_as_slave() const { return restart_; }

 private:
  bool start();
  bool open_store();
  // How this broker's journal is opened (at start, and again after an initial sync or a cut tail).
  store::JournalOptions journal_options() const;
  void make_broker(const std::optional<store::StoreIdentity>& identity);
  // A broker for this configuration (make_broker's, not yet installed). Reads only the
  // configuration: a worker may call it (runtime_slave.cc, reopen_state_async).
  std::unique_ptr<broker::Broker> new_broker(const std::optional<store::StoreIdentity>& identity) const;
  bool start_master(const config::TransportConnector& replication);
  bool open_master_link(const config::TransportConnector& replication);
  bool start_slave();
  Result<std::shared_ptr<tls::Context>> link_tls_context(tls::Role role) const;
  bool open_connectors(const std::string& why);
  bool start_witness();
  void fence_connectors(const std::string& why);
  // The one status model (status_report.cc): `twinmq status` prints its text, the
  // admin endpoint serves it as JSON, metrics and a page.
  admin::BrokerStatus status_model();
  std::string status_text();
  // A request on the control socket (app/control_server.h); runtime_switchover.cc.
  std::string on_control(std::string_view request);
  bool open_admin_endpoint();
  // The admin API's stop verb: close the client listeners, let consumers drain every
  // queue for up to `drain_s` seconds (one periodic check), then begin_shutdown(why).
  void stop_after_drain(std::uint32_t drain_s, std::string why);
  // Why the admin verbs may not change this broker now ("" = they may).
  std::string refuse_admin_changes();
  void start_tick();
  void begin_shutdown(const std::string& reason, int exit_code = 0);
  void finish_shutdown();

  // replication::SlaveHost (runtime_slave.cc)
  broker::Broker& broker() override { return *broker_; }
  store::Journal* journal() override { return journal_.get(); }
  std::string journal_dir() const override { return config_.persistent ? config_.journal.directory : std::string(); }
  Result<void> discard_state(const std::optional<store::StoreIdentity>& identity) override;
  Result<void> reopen_state() override;
  void reopen_state_async(std::function<void(Result<void>)> done) override;
  void promote(const std::string& reason) override;
  void exit_process(int code, const std::string& reason) override;
  void link_changed() override { service_.changed(); }
  Result<SalvagedTail> salvage_forked_tail(Seq fork) override;
  Result<CutTail> cut_forked_tail(Seq fork) override;

  config::Config config_;
  const RuntimeFlags flags_;
  net::Loop loop_;
  // Users, rights, failed-login counts: shared by the STOMP servers and the master link,
  // which hold pointers to it, so it is declared before (and outlives) them.
  std::unique_ptr<auth::Security> security_;
  std::unique_ptr<store::Journal> journal_;
  std::unique_ptr<broker::Broker> broker_;
  std::unique_ptr<replication::MasterLink> master_;
  std::unique_ptr<replication::SlaveLink> slave_;
  // The pair's witness (config <witness>); null without one. Outlives links and servers.
  std::unique_ptr<witness::Witness> witness_;
  std::vector<std::unique_ptr<stomp::StompServer>> servers_;
  bool clients_held_ = false;  // the master link asks: the slave is behind (MasterLink "Back-pressure")
  net::HandlePtr<StatusServer> status_;
  net::HandlePtr<ControlServer> control_;
  std::optional<RestartAsSlave> restart_;
  // The admin API's verbs; declared before the endpoint that points at them.
  std::unique_ptr<AdminActionsImpl> admin_actions_;
  std::unique_ptr<admin::AdminEndpoint> admin_;  // <managementContext>; null without one
  net::HandlePtr<net::Timer> stop_drain_;        // stop_after_drain's periodic check
  std::int64_t stop_drain_deadline_ms_ = 0;
  // systemd's view (Type=notify): READY=1, STATUS= on every role, serving or sync change.
  ServiceNotifier service_{loop_, [this] { return status_model(); }};
  net::HandlePtr<net::Signal> sigint_;
  net::HandlePtr<net::Signal> sigterm_;
  net::HandlePtr<net::Signal> sighup_;  // logged and ignored (its default action would stop us)
  net::HandlePtr<net::Timer> tick_;
  net::HandlePtr<net::Timer> drain_;
  net::HandlePtr<net::Timer> give_up_;  // waitForSlaveTimeout
  std::int64_t drain_deadline_ms_ = 0;
  std::string shutdown_reason_;
  std::string waiting_reason_;  // why the client connectors are still closed (master)
  std::int64_t started_ms_ = 0;
  int exit_code_ = 0;
  bool stopping_ = false;
};

// The replication listener of a configuration (nullptr if none).
const config::TransportConnector* replication_connector(const config::Config& config);

// ServerOptions for one STOMP connector of the configuration.
stomp::ServerOptions server_options(const config::Config& config, const config::TransportConnector& c);

// The auth module's view of the configuration's users, <authorizationPlugin> and
// replicationGroup; logs a warning for each plain-text password and for anonymous
// access on a connector other hosts can reach.
std::unique_ptr<auth::Security> make_security(const config::Config& config);

}  // namespace twinmq::app
