#include "support/etcd_process.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace twinmq::test {

namespace {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

constexpr const char* kEtcd = "/usr/bin/etcd";
constexpr const char* kEtcdctl = "/usr/bin/etcdctl";
constexpr int kStartAttempts = 3;  // fresh ports after "address already in use"

int ms_until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

pid_t wait_pid(pid_t pid, int& status, int flags) {
  pid_t r;
  do {
    r = ::waitpid(pid, &status, flags);
  } while (r < 0 && errno == EINTR);
  return r;
}

// fork + exec `argv` with stdout and stderr on `out_fd` and stdin on /dev/null. The
// child dies with the test (PR_SET_PDEATHSIG), so nothing outlives a crashed test.
pid_t spawn_child(std::vector<std::string> args, int out_fd) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the test died between fork and prctl
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::signal(SIGPIPE, SIG_DFL);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

std::string unique_token() {
  static std::atomic<unsigned> counter{0};
  return "twinmq-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(Clock::now().time_since_epoch().count() % 1'000'000'007);
}

std::size_t append_to(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// One short HTTP request (a POST when `post_body` is given); "" on HTTP 200 with the
// answer in `body`, else what happened instead.
std::string http_problem(const std::string& url, const char* post_body, std::string& body,
                         const EtcdTls* tls = nullptr) {
  body.clear();
  CURL* c = curl_easy_init();
  if (c == nullptr) return "curl_easy_init failed";
  if (tls != nullptr) {
    curl_easy_setopt(c, CURLOPT_CAINFO, tls->trusted_cas.c_str());
    if (!tls->client_certificate.empty()) {
      curl_easy_setopt(c, CURLOPT_SSLCERT, tls->client_certificate.c_str());
      curl_easy_setopt(c, CURLOPT_SSLKEY, tls->client_private_key.c_str());
    }
  }
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  if (post_body != nullptr) curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 300L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &append_to);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(c);
  long http = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK) return curl_easy_strerror(rc);
  if (http != 200) return "HTTP " + std::to_string(http) + ": " + body;
  return {};
}

// One POST /v3/maintenance/status: "" when the member answers naming a leader, else
// what it did instead (for the timeout message).
std::string status_problem(const std::string& client_url, const EtcdTls* tls = nullptr) {
  std::string body;
  if (std::string p = http_problem(client_url + "/v3/maintenance/status", "{}", body, tls); !p.empty()) return p;
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "status is not JSON: " + body;
  const auto leader = j.find("leader");
  if (leader == j.end() || !leader->is_string() || leader->get<std::string>().empty() ||
      leader->get<std::string>() == "0")
    return "no leader yet";
  return {};
}

void enable_auth_at(const std::string& endpoints, const EtcdAuthSetup& s) {
  run_etcdctl(endpoints, {"user", "add", "root:" + s.root_password, "--interactive=false"});
  run_etcdctl(endpoints, {"user", "grant-role", "root", "root"});
  run_etcdctl(endpoints, {"user", "add", s.user + ":" + s.password, "--interactive=false"});
  run_etcdctl(endpoints, {"role", "add", s.role});
  run_etcdctl(endpoints, {"role", "grant-permission", s.role, "--prefix=true", "readwrite", s.prefix});
  run_etcdctl(endpoints, {"user", "grant-role", s.user, s.role});
  run_etcdctl(endpoints, {"auth", "enable"});
}

bool port_was_taken(const EtcdProcess& p) { return p.log_tail(20'000).find("address already in use") != std::string::npos; }

}  // namespace

std::vector<std::uint16_t> free_loopback_ports(std::size_t n) {
  std::vector<int> fds;
  std::vector<std::uint16_t> ports;
  auto close_all = [&] {
    for (int fd : fds) ::close(fd);
  };
  for (std::size_t i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      close_all();
      throw std::system_error(errno, std::generic_category(), "socket");
    }
    fds.push_back(fd);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      const int e = errno;
      close_all();
      throw std::system_error(e, std::generic_category(), "bind 127.0.0.1:0");
    }
    ports.push_back(ntohs(a.sin_port));
  }
  close_all();
  return ports;
}

std::string run_etcdctl(const std::string& endpoints, const std::vector<std::string>& args, Ms timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  std::vector<std::string> argv = {kEtcdctl, "--endpoints=" + endpoints, "--dial-timeout=2s", "--command-timeout=5s"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string command;
  for (const auto& a : args) command += (command.empty() ? "" : " ") + a;
  pid_t pid;
  try {
    pid = spawn_child(argv, fds[1]);
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  ::close(fds[1]);
  std::string out;
  const auto deadline = Clock::now() + timeout;
  bool timed_out = false;
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    const int rc = ::poll(&p, 1, ms_until(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      timed_out = true;
      break;
    }
    char buf[4096];
    const ssize_t got = ::read(fds[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    out.append(buf, static_cast<std::size_t>(got));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  wait_pid(pid, status, 0);
  if (timed_out)
    throw std::runtime_error("etcdctl " + command + ": no exit within " + std::to_string(timeout.count()) +
                             " ms; output:\n" + out);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("etcdctl " + command + ": " + describe_status(status) + "; output:\n" + out);
  return out;
}

// ---- EtcdProcess ----

EtcdProcess::EtcdProcess(Ms ready_timeout) : own_dir_(std::make_unique<TempDir>("etcd")), dir_(own_dir_->path()) {
  start_standalone(ready_timeout);
}

EtcdProcess::EtcdProcess(EtcdTls tls, Ms ready_timeout)
    : own_dir_(std::make_unique<TempDir>("etcd")), dir_(own_dir_->path()), tls_(std::move(tls)) {
  start_standalone(ready_timeout);
}

void EtcdProcess::start_standalone(Ms ready_timeout) {
  name_ = "etcd0";
  for (int attempt = 1;; ++attempt) {
    const auto ports = free_loopback_ports(2);
    client_port_ = ports[0];
    peer_port_ = ports[1];
    initial_cluster_ = name_ + "=http://127.0.0.1:" + std::to_string(peer_port_);
    cluster_token_ = unique_token();
    std::filesystem::remove_all(dir_ / (name_ + ".data"));
    spawn();
    std::string why;
    if (wait_ready(ready_timeout, why)) return;
    const bool retry = port_was_taken(*this) && attempt < kStartAttempts;
    kill();
    if (!retry) throw std::runtime_error("EtcdProcess " + name_ + ": " + why + "\n--- log tail:\n" + log_tail());
  }
}

EtcdProcess::EtcdProcess(Member, std::filesystem::path dir, std::string name, std::uint16_t client_port,
                         std::uint16_t peer_port, std::string initial_cluster, std::string cluster_token)
    : dir_(std::move(dir)),
      name_(std::move(name)),
      client_port_(client_port),
      peer_port_(peer_port),
      initial_cluster_(std::move(initial_cluster)),
      cluster_token_(std::move(cluster_token)) {}

EtcdProcess::~EtcdProcess() { kill(); }

std::string EtcdProcess::endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }
std::string EtcdProcess::client_url() const { return (tls_ ? "https://" : "http://") + endpoint(); }

void EtcdProcess::spawn() {
  if (running()) throw std::logic_error("EtcdProcess " + name_ + ": already running");
  const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port_);
  const std::vector<std::string> args = {
      kEtcd,
      "--name", name_,
      "--data-dir", (dir_ / (name_ + ".data")).string(),
      "--listen-client-urls", client_url(),
      "--advertise-client-urls", client_url(),
      "--listen-peer-urls", peer_url,
      "--initial-advertise-peer-urls", peer_url,
      "--initial-cluster", initial_cluster_,
      "--initial-cluster-state", "new",  // ignored on a restart: the data directory has the cluster
      "--initial-cluster-token", cluster_token_,
      "--heartbeat-interval", std::to_string(kEtcdHeartbeatMs),
      "--election-timeout", std::to_string(kEtcdElectionMs),
      "--logger", "zap",
  };
  std::vector<std::string> all = args;
  if (tls_) {
    for (std::string a : {"--cert-file=" + tls_->certificate, "--key-file=" + tls_->private_key,
                          "--trusted-ca-file=" + tls_->trusted_cas})
      all.push_back(a);
    if (tls_->client_cert_auth) all.push_back("--client-cert-auth");
  }
  const std::string log = (dir_ / (name_ + ".log")).string();
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::system_error(errno, std::generic_category(), "open " + log);
  try {
    pid_ = spawn_child(all, log_fd);
  } catch (...) {
    ::close(log_fd);
    throw;
  }
  ::close(log_fd);
}

bool EtcdProcess::exited_early(std::string& why) {
  if (!running()) {
    why = "not running";
    return true;
  }
  int status = 0;
  if (wait_pid(pid_, status, WNOHANG) != pid_) return false;
  pid_ = -1;
  why = "etcd exited (" + describe_status(status) + ") before it was ready";
  return true;
}

bool EtcdProcess::wait_ready(Ms timeout, std::string& why) {
  return poll_until(timeout, why, [this] { return status_problem(client_url(), tls_ ? &*tls_ : nullptr); });
}

bool EtcdProcess::wait_peer_serving(Ms timeout, std::string& why) {
  std::string body;
  return poll_until(timeout, why, [&] {
    return http_problem("http://127.0.0.1:" + std::to_string(peer_port_) + "/members", nullptr, body);
  });
}

bool EtcdProcess::poll_until(Ms timeout, std::string& why, const std::function<std::string()>& problem_now) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (exited_early(why)) return false;
    const std::string problem = problem_now();
    if (problem.empty()) return true;
    if (Clock::now() >= deadline) {
      why = "not ready within " + std::to_string(timeout.count()) + " ms (last answer: " + problem + ")";
      return false;
    }
    std::this_thread::sleep_for(Ms(5));  // a poll interval, bounded by the deadline above
  }
}

void EtcdProcess::kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  wait_pid(pid_, status, 0);
  pid_ = -1;
}

void EtcdProcess::pause() {
  if (running()) ::kill(pid_, SIGSTOP);
}

void EtcdProcess::resume() {
  if (running()) ::kill(pid_, SIGCONT);
}

void EtcdProcess::restart(Ms ready_timeout) {
  spawn();
  std::string why;
  if (wait_ready(ready_timeout, why)) return;
  kill();
  throw std::runtime_error("EtcdProcess " + name_ + " restart: " + why + "\n--- log tail:\n" + log_tail());
}

void EtcdProcess::enable_auth(const EtcdAuthSetup& setup) { enable_auth_at(endpoint(), setup); }

std::string EtcdProcess::log_tail(std::size_t bytes) const {
  const std::string text = read_file(dir_ / (name_ + ".log"));
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

// ---- EtcdCluster ----

EtcdCluster::EtcdCluster(std::size_t members, Ms ready_timeout) : dir_("etcd-cluster") {
  for (int attempt = 1;; ++attempt) {
    const auto ports = free_loopback_ports(2 * members);
    const std::string token = unique_token();
    std::string initial;
    for (std::size_t i = 0; i < members; ++i) {
      initial += (i == 0 ? "" : ",") + ("etcd" + std::to_string(i)) + "=http://127.0.0.1:" +
                 std::to_string(ports[2 * i + 1]);
    }
    members_.clear();
    for (std::size_t i = 0; i < members; ++i) {
      const std::string name = "etcd" + std::to_string(i);
      std::filesystem::remove_all(dir_.path() / (name + ".data"));
      members_.push_back(std::unique_ptr<EtcdProcess>(new EtcdProcess(
          EtcdProcess::Member{}, dir_.path(), name, ports[2 * i], ports[2 * i + 1], initial, token)));
    }
    // One after the other, each once its peer port serves. A new member first asks
    // its peers whether it was bootstrapped already, waiting up to 1 s for each peer
    // that accepts connections without serving yet (its own start-up); started all at
    // once, three members spend ~2 s there. A peer that refuses, or serves, answers at once.
    const auto deadline = Clock::now() + ready_timeout;
    std::string failure;
    bool port_taken = false;
    for (auto& m : members_) {
      m->spawn();
      std::string why;
      if (m->wait_peer_serving(Ms(ms_until(deadline)), why)) continue;
      port_taken = port_taken || port_was_taken(*m);
      failure += "\n" + m->name() + ": " + why + "\n--- " + m->name() + " log tail:\n" + m->log_tail();
      break;
    }
    // A leader needs a quorum, so this waits for all of them to be up.
    for (auto& m : members_) {
      if (!failure.empty()) break;
      std::string why;
      if (m->wait_ready(Ms(ms_until(deadline)), why)) continue;
      port_taken = port_taken || port_was_taken(*m);
      failure += "\n" + m->name() + ": " + why + "\n--- " + m->name() + " log tail:\n" + m->log_tail();
    }
    if (failure.empty()) return;
    for (auto& m : members_) m->kill();
    if (!port_taken || attempt >= kStartAttempts) throw std::runtime_error("EtcdCluster: start failed:" + failure);
  }
}

EtcdCluster::~EtcdCluster() {
  for (auto& m : members_) m->kill();
}

std::vector<std::uint16_t> EtcdCluster::client_ports() const {
  std::vector<std::uint16_t> ports;
  for (const auto& m : members_) ports.push_back(m->client_port());
  return ports;
}

std::string EtcdCluster::uri() const {
  std::string u = "etcd://";
  for (std::size_t i = 0; i < members_.size(); ++i) u += (i == 0 ? "" : ",") + members_[i]->endpoint();
  return u;
}

void EtcdCluster::enable_auth(const EtcdAuthSetup& setup) {
  std::string endpoints;
  for (const auto& m : members_) {
    if (m->running()) endpoints += (endpoints.empty() ? "" : ",") + m->endpoint();
  }
  enable_auth_at(endpoints, setup);
}

}  // namespace twinmq::test
