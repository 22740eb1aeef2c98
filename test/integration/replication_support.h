// test/integration/replication_support.h — a master and a slave as real processes,
// and a TCP proxy between them that a test can sever or freeze.
//
// ReplicaPair writes both configurations into one TempDir (data directories inside it),
// starts the master with its STOMP connector and replication connector on port 0 (the
// ports come from the `twinmq: listening` lines), and the slave with masterConnectorURI
// naming the master's replication port (or a LinkProxy in front of it). The slave's
// STOMP port is a free port chosen up front, because a slave does not listen (the tests
// check that it refuses connections there) until it takes over. Heart-beat and link
// timeout are short (100 ms / 800 ms) so that failure detection tests run quickly.
//
// LinkProxy forwards one or more TCP connections to a target port on its own thread;
// sever() closes them all (both ends see the link break), freeze() stops forwarding
// without closing (a network that silently drops packets: only heart-beats notice).
//
// Lifecycle: test-local. Processes are SIGKILLed by pid in their destructors
// (BrokerProcess); the proxy thread is joined in its destructor.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/broker_process.h"
#include "support/raw_stomp.h"
#include "support/temp_dir.h"

namespace twinmq::test {

// A port nothing listens on right now (bound to port 0, then closed).
std::uint16_t free_port();
// True when a TCP connect to 127.0.0.1:port is refused.
bool connection_refused(std::uint16_t port);

class LinkProxy {
 public:
  explicit LinkProxy(std::uint16_t target);
  ~LinkProxy();
  LinkProxy(const LinkProxy&) = delete;
  LinkProxy& operator=(const LinkProxy&) = delete;

  std::uint16_t port() const { return port_; }
  // Closes every forwarded connection and every new one (the cable is cut).
  void sever();
  // Stops forwarding bytes, keeps the sockets open (packets silently dropped).
  void freeze();
  // Forwards again (after freeze): bytes held meanwhile flow, new connections work.
  void thaw();
  // Every byte the connecting side (the slave) sent through the proxy so far.
  std::string sent_by_client() const;

 private:
  void run();

  std::uint16_t target_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<int> mode_{0};  // 0 forward, 1 severed, 2 frozen
  std::atomic<std::uint64_t> passes_{0};  // loop passes completed (freeze() waits on it)
  std::atomic<bool> stop_{false};
  mutable std::mutex recorded_mu_;
  std::string recorded_;  // guarded by recorded_mu_
  std::thread thread_;
};

// <witness> for both brokers: each names etcd through its own URI, so a test can put a
// LinkProxy between one broker and etcd and freeze it.
struct WitnessSpec {
  std::string master_uri;  // etcd://127.0.0.1:port,... as the master sees etcd
  std::string slave_uri;   // ... as the slave sees it
  std::string key = "/twinmq/pairs/test";
  std::uint32_t lease_ms = 2000;
};

struct PairSpec {
  bool persistent = true;
  KeyValues master_attrs;  // extra <broker> attributes of the master
  KeyValues slave_attrs;   // extra <broker> attributes of the slave
  KeyValues users;         // the master's users (clients and slave log in)
  KeyValues user_groups;   // groups="..." of the users named here (user, groups)
  // When set, the slave names its master with <masterConnector userName password>.
  std::optional<std::pair<std::string, std::string>> slave_credentials;
  std::uint32_t heart_beat_ms = 100;
  std::uint32_t link_timeout_ms = 800;
  std::uint16_t master_stomp_port = 0;  // 0 = any (read from the listening line)
  std::optional<WitnessSpec> witness;
  // The slave gets a replication listener too (port 0): it opens when the slave is
  // promoted, so the old master can rejoin it (twinmq --rejoin).
  bool slave_replication_listener = false;
  // Added to the slave's environment (e.g. TWINMQ_FAULT for a slow disk).
  KeyValues slave_env;
  // Added to the master's environment (e.g. NOTIFY_SOCKET).
  KeyValues master_env;
  // Both brokers get <managementContext uri="http://127.0.0.1:0"/>: the admin endpoint
  // on a port the OS picks, read from the "twinmq: listening admin" line.
  bool admin = false;
  // Raw XML inside each broker's <broker> (e.g. an <sslContext>).
  std::string master_extra_xml;
  std::string slave_extra_xml;
  // The link over TLS: the replication listener and masterConnectorURI are ssl://.
  bool tls_link = false;
};

class ReplicaPair {
 public:
  explicit ReplicaPair(PairSpec spec = {});

  // Starts the master; waits for its replication listener (and its STOMP connector
  // unless `expect_stomp` is false, e.g. with waitForSlave).
  BrokerProcess& start_master(bool expect_stomp = true);
  // Starts a slave (data directory `name`) of the master, through `via` when given;
  // with `wait_in_sync` waits until it logs that it is in sync.
  BrokerProcess& start_slave(const std::string& name = "slave", std::optional<std::uint16_t> via = std::nullopt,
                             bool wait_in_sync = true);
  // Starts a broker from a configuration written by the test (restarts, odd roles).
  std::unique_ptr<BrokerProcess> start_config(const std::string& file, const std::string& xml,
                                              const KeyValues& env = {});

  BrokerProcess& master() { return *master_; }
  BrokerProcess& slave(std::size_t i = 0) { return *slaves_.at(i); }
  std::unique_ptr<BrokerProcess>& master_ptr() { return master_; }
  std::unique_ptr<BrokerProcess>& slave_ptr(std::size_t i = 0) { return slaves_.at(i); }
  std::uint16_t master_stomp() { return master_->port("stomp"); }
  std::uint16_t replication_port() { return master_->port("replication"); }
  std::uint16_t slave_stomp(std::size_t i = 0) const { return slave_ports_.at(i); }
  std::filesystem::path data(const std::string& name) const { return dir_.path() / name; }
  std::filesystem::path journal(const std::string& name) const { return dir_.path() / name / "journal"; }
  const TempDir& dir() const { return dir_; }

  std::string master_xml() const;
  std::string link_scheme() const { return spec_.tls_link ? "ssl" : "tcp"; }
  std::string slave_xml(const std::string& name, std::uint16_t master_port, std::uint16_t stomp_port) const;

  // Waits until slave `i` has opened its STOMP connector; the time from `since`.
  std::optional<Ms> wait_takeover(std::chrono::steady_clock::time_point since, Ms timeout, std::size_t i = 0);
  // Runs `twinmq status --config <file>` and returns its stdout (empty on failure).
  std::string status(const std::string& config_file);
  std::string master_config() const { return (dir_.path() / "master.xml").string(); }
  std::string slave_config(const std::string& name = "slave") const { return (dir_.path() / (name + ".xml")).string(); }

 private:
  PairSpec spec_;
  TempDir dir_;
  std::unique_ptr<BrokerProcess> master_;
  std::vector<std::unique_ptr<BrokerProcess>> slaves_;
  std::vector<std::uint16_t> slave_ports_;
};

// What a test expects of a failover: the ids it holds receipts for all arrive.
struct Tally {
  std::vector<std::string> receipted;
  std::vector<std::string> received;
  // Receipted bodies missing from `received` (empty = nothing lost).
  std::vector<std::string> missing() const;
};

// Receives every message of `queue` on `port` until `expected` distinct bodies came or
// nothing arrives for `idle`; returns the MESSAGE frames (auto ack).
std::vector<ReceivedFrame> drain(std::uint16_t port, const std::string& queue, std::size_t expected,
                                 Ms idle = Ms(1500));
// Receives until every body of `required` came (or nothing arrives for `idle`);
// messages beyond them (sent, never receipted, yet applied) are returned too.
std::vector<ReceivedFrame> drain_until(std::uint16_t port, const std::string& queue,
                                       const std::vector<std::string>& required, Ms idle = Ms(1500));
std::vector<std::string> bodies_of(const std::vector<ReceivedFrame>& frames);

// drain_until, counted: how often each body came, whether its last delivery carried
// redelivered:true, and which bodies of `required` never came (the promise's checks
// after a kill).
struct Drained {
  std::vector<ReceivedFrame> frames;
  std::map<std::string, int> times;
  std::map<std::string, bool> redelivered;
  std::size_t missing = 0;
  std::string example;  // one missing body
};
Drained drain_required(std::uint16_t port, const std::string& queue, const std::vector<std::string>& required);

}  // namespace twinmq::test
