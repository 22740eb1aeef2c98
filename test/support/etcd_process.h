// test/support/etcd_process.h — real etcd processes for the witness tests: one member
// (EtcdProcess) or a three-member cluster (EtcdCluster), on free loopback ports, data
// in a TempDir. No mock of etcd anywhere: the client is tested against the server it
// will meet (Debian's etcd-server 3.4, /usr/bin/etcd).
//
//   EtcdProcess etcd;                           // started and answering, or it threw
//   EtcdClient client({.endpoints = {{"127.0.0.1", etcd.client_port()}}});
//
//   EtcdCluster cluster;                        // three members with a leader
//   cluster.kill(0);                            // SIGKILL + waitpid
//   cluster.restart(0);                         // same name, ports and data: rejoins
//
// Ports: asked of the OS (bind port 0 on 127.0.0.1, then closed) just before etcd
// starts, all of a cluster's at once so they differ. Another process can take one in
// between; etcd then exits at once with "address already in use", and the start is
// retried on fresh ports (a few times) instead of failing the test.
//
// Readiness: POST /v3/maintenance/status until a member answers and names a leader,
// polled with a deadline (wait_until style); a member that exits meanwhile ends the
// wait at once, and the exception carries the tail of its log. A cluster's members
// start one after the other, each once the previous one serves its peer port
// (etcd_process.cc says why: it saves etcd 3.4 two seconds of bootstrap checks).
//
// Timing: heartbeat 25 ms, election timeout 250 ms (kEtcdHeartbeatMs, kEtcdElectionMs)
// so a cluster elects a leader, and re-elects one after a kill, in well under a second.
// etcd raises every lease TTL to at least 1.5 election timeouts rounded up to whole
// seconds: with these values the minimum TTL it grants is kEtcdMinLeaseTtlS = 1 s (with
// etcd's defaults, 100 ms / 1000 ms, it is 2 s).
//
// Auth: enable_auth() runs etcdctl (bounded by a deadline) to add a root user, a user
// with a password and a role that may read and write one key prefix, and turns
// authentication on.
//
// Lifecycle: owned by one test case, test thread only. Each etcd gets
// PR_SET_PDEATHSIG(SIGKILL), so it dies with a test binary that crashes; the
// destructor SIGKILLs and reaps every member still running. Logs are kept in the
// TempDir (TWINMQ_KEEP_TMP=1 keeps the directory).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace twinmq::test {

inline constexpr int kEtcdHeartbeatMs = 25;
inline constexpr int kEtcdElectionMs = 250;
inline constexpr std::int64_t kEtcdMinLeaseTtlS = 1;

// `n` distinct free TCP ports on 127.0.0.1 (bound together, then released).
std::vector<std::uint16_t> free_loopback_ports(std::size_t n);

struct EtcdAuthSetup {
  std::string root_password = "root-secret";
  std::string user = "twinmq";
  std::string password = "twinmq-secret";
  std::string role = "twinmq-witness";
  std::string prefix = "/twinmq/";  // the role may read and write keys under it
};

// TLS on the client port (etcd's --cert-file, --key-file, --trusted-ca-file and, with
// client_cert_auth, --client-cert-auth). The harness's own readiness polls use the
// same files. Peers stay plain http (one member).
struct EtcdTls {
  std::string certificate;   // PEM: etcd's certificate (naming 127.0.0.1)
  std::string private_key;
  std::string trusted_cas;   // PEM: the CA of etcd's certificate and of client certificates
  bool client_cert_auth = true;
  // The harness's client certificate for its readiness polls (needed with client_cert_auth).
  std::string client_certificate, client_private_key;
};

// One etcd member process. Standalone (the public constructor: a one-member cluster in
// its own TempDir) or one of an EtcdCluster's members.
class EtcdProcess {
 public:
  explicit EtcdProcess(std::chrono::milliseconds ready_timeout = std::chrono::milliseconds(10'000));
  // A standalone member serving https on its client port (EtcdTls).
  explicit EtcdProcess(EtcdTls tls, std::chrono::milliseconds ready_timeout = std::chrono::milliseconds(10'000));
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  std::uint16_t client_port() const { return client_port_; }
  std::uint16_t peer_port() const { return peer_port_; }
  std::string endpoint() const;    // "127.0.0.1:<client port>"
  std::string client_url() const;  // "http://127.0.0.1:<client port>"
  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // SIGKILL and reap; no-op when not running.
  void kill();
  // SIGSTOP / SIGCONT: the member keeps its sockets but answers nothing.
  void pause();
  void resume();
  // Starts the member again with the same name, ports and data directory, and waits
  // until it answers with a leader (which needs a quorum of the cluster running).
  void restart(std::chrono::milliseconds ready_timeout = std::chrono::milliseconds(10'000));

  // Standalone only: see the file comment.
  void enable_auth(const EtcdAuthSetup& setup = {});

  std::string log_tail(std::size_t bytes = 3000) const;

 private:
  friend class EtcdCluster;
  struct Member {};  // tag: constructed by EtcdCluster, not started yet
  EtcdProcess(Member, std::filesystem::path dir, std::string name, std::uint16_t client_port,
              std::uint16_t peer_port, std::string initial_cluster, std::string cluster_token);

  void start_standalone(std::chrono::milliseconds ready_timeout);
  void spawn();
  // Polls status until a leader is named; false (with `why`) on timeout or exit.
  bool wait_ready(std::chrono::milliseconds timeout, std::string& why);
  // Polls the peer port's GET /members until it answers.
  bool wait_peer_serving(std::chrono::milliseconds timeout, std::string& why);
  // Calls `problem_now` (returns "" when done) until done, the deadline, or the exit of etcd.
  bool poll_until(std::chrono::milliseconds timeout, std::string& why,
                  const std::function<std::string()>& problem_now);
  bool exited_early(std::string& why);

  std::unique_ptr<TempDir> own_dir_;  // standalone only
  std::filesystem::path dir_;         // holds <name>.data and <name>.log
  std::string name_;
  std::uint16_t client_port_ = 0;
  std::uint16_t peer_port_ = 0;
  std::string initial_cluster_;
  std::string cluster_token_;
  std::optional<EtcdTls> tls_;
  pid_t pid_ = -1;
};

class EtcdCluster {
 public:
  explicit EtcdCluster(std::size_t members = 3,
                       std::chrono::milliseconds ready_timeout = std::chrono::milliseconds(15'000));
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  std::size_t size() const { return members_.size(); }
  EtcdProcess& member(std::size_t i) { return *members_.at(i); }
  void kill(std::size_t i) { member(i).kill(); }
  void restart(std::size_t i, std::chrono::milliseconds ready_timeout = std::chrono::milliseconds(10'000)) {
    member(i).restart(ready_timeout);
  }
  std::vector<std::uint16_t> client_ports() const;
  std::string uri() const;  // "etcd://127.0.0.1:<p0>,127.0.0.1:<p1>,..."

  // Through every member still running.
  void enable_auth(const EtcdAuthSetup& setup = {});

 private:
  TempDir dir_;
  std::vector<std::unique_ptr<EtcdProcess>> members_;
};

// Runs /usr/bin/etcdctl with `args` against `endpoints` ("127.0.0.1:p,..."), bounded;
// returns its output, throws std::runtime_error (with the output) unless it exits 0.
std::string run_etcdctl(const std::string& endpoints, const std::vector<std::string>& args,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000));

}  // namespace twinmq::test
