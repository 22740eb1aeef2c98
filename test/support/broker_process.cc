#include "support/broker_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>

#ifndef TWINMQ_TEST_BUILD_ROOT
#define TWINMQ_TEST_BUILD_ROOT "build"
#endif

namespace twinmq::test {

namespace {

void set_kv(KeyValues& kvs, std::string name, std::string value) {
  for (auto& [k, v] : kvs) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  kvs.emplace_back(std::move(name), std::move(value));
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string attributes(const KeyValues& kvs) {
  std::string out;
  for (const auto& [k, v] : kvs) out += " " + k + "=\"" + xml_escape(v) + "\"";
  return out;
}

}  // namespace

std::filesystem::path twinmq_binary() {
  const char* build = std::getenv("TWINMQ_BUILD");
  std::filesystem::path dir = build && *build ? build : TWINMQ_TEST_BUILD_ROOT;
  return dir / "twinmq";
}

std::filesystem::path build_binary(std::string_view name) { return twinmq_binary().parent_path() / name; }

BrokerConfig& BrokerConfig::set(std::string name, std::string value) {
  set_kv(stomp_options, std::move(name), std::move(value));
  return *this;
}
BrokerConfig& BrokerConfig::queue(std::string name, std::string value) {
  set_kv(queue_policy, std::move(name), std::move(value));
  return *this;
}
BrokerConfig& BrokerConfig::topic(std::string name, std::string value) {
  set_kv(topic_policy, std::move(name), std::move(value));
  return *this;
}
BrokerConfig& BrokerConfig::user(std::string name, std::string password) {
  users.emplace_back(std::move(name), std::move(password));
  return *this;
}

std::string BrokerConfig::uri() const {
  std::string u = scheme + "://" + host + ":" + port;
  char sep = '?';
  for (const auto& [k, v] : stomp_options) {
    u += sep + k + "=" + v;
    sep = '&';
  }
  return u;
}

std::string BrokerConfig::to_xml(const std::filesystem::path& data_dir) const {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<broker brokerName=\"" + xml_escape(broker_name) + "\" dataDirectory=\"" +
       xml_escape(data_dir.string()) + "\" persistent=\"" + (persistent ? "true" : "false") + "\">\n";
  x += "  <transportConnectors>\n";
  x += "    <transportConnector name=\"stomp\" uri=\"" + xml_escape(uri()) + "\"/>\n";
  x += "  </transportConnectors>\n";
  if (!queue_policy.empty() || !topic_policy.empty()) {
    x += "  <destinationPolicy><policyMap><policyEntries>\n";
    if (!queue_policy.empty()) x += "    <policyEntry queue=\">\"" + attributes(queue_policy) + "/>\n";
    if (!topic_policy.empty()) x += "    <policyEntry topic=\">\"" + attributes(topic_policy) + "/>\n";
    x += "  </policyEntries></policyMap></destinationPolicy>\n";
  }
  if (!users.empty() || !auth_attributes.empty() || !plugins_xml.empty()) {
    x += "  <plugins>\n";
    if (!users.empty() || !auth_attributes.empty()) {
      x += "  <simpleAuthenticationPlugin" + attributes(auth_attributes) + "><users>\n";
      for (const auto& [u, p] : users) {
        std::string groups;
        for (const auto& [name, g] : user_groups)
          if (name == u) groups = " groups=\"" + xml_escape(g) + "\"";
        x += "    <authenticationUser username=\"" + u + "\" password=\"" + p + "\"" + groups + "/>\n";
      }
      x += "  </users></simpleAuthenticationPlugin>\n";
    }
    x += plugins_xml;
    x += "  </plugins>\n";
  }
  x += extra_xml;
  if (admin || !admin_uri.empty())
    x += "  <managementContext uri=\"" + xml_escape(admin_uri.empty() ? "http://127.0.0.1:0" : admin_uri) + "\"/>\n";
  x += "</broker>\n";
  return x;
}

std::string ExitResult::describe() const {
  if (signaled) return "killed by signal " + std::to_string(code - 128);
  return "exit code " + std::to_string(code);
}

BrokerProcess::BrokerProcess(std::unique_ptr<TempDir> dir) : dir_(std::move(dir)) {}

BrokerProcess::BrokerProcess(const BrokerConfig& config, std::vector<std::string> extra_args,
                             Ms ready_timeout, const KeyValues& env)
    : dir_(std::make_unique<TempDir>("broker")) {
  config_file_ = dir_->write_file("broker.xml", config.to_xml(dir_->path() / "data"));
  std::vector<std::string> args = {"--config", config_file_.string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  start(args, env, config.net_namespace);
  if (!wait_listening("stomp", ready_timeout)) {
    std::string why = running() ? "no 'twinmq: listening stomp' line on stdout within " +
                                      std::to_string(ready_timeout.count()) + " ms"
                                : "broker exited (" + exit_->describe() + ") before listening";
    const std::string msg = "BrokerProcess: " + why + "\n--- stdout:\n" + stdout_text() +
                            "\n--- stderr (tail):\n" + log_tail() + "\n--- config:\n" +
                            read_file(config_file_);
    throw std::runtime_error(msg);
  }
}

std::unique_ptr<BrokerProcess> BrokerProcess::spawn(std::vector<std::string> args, const KeyValues& env) {
  std::unique_ptr<BrokerProcess> p(new BrokerProcess(std::make_unique<TempDir>("cli")));
  p->start(args, env);
  return p;
}

std::unique_ptr<BrokerProcess> BrokerProcess::spawn_tool(std::string_view tool, std::vector<std::string> args,
                                                         const KeyValues& env, const std::string& net_namespace) {
  std::unique_ptr<BrokerProcess> p(new BrokerProcess(std::make_unique<TempDir>("tool")));
  p->binary_ = build_binary(tool);
  p->start(args, env, net_namespace);
  return p;
}

void BrokerProcess::start(const std::vector<std::string>& args, const KeyValues& env, const std::string& net_namespace) {
  const std::string binary = binary_.empty() ? twinmq_binary().string() : binary_.string();
  if (::access(binary.c_str(), X_OK) != 0) {
    throw std::runtime_error("BrokerProcess: no executable at " + binary +
                             " (set TWINMQ_BUILD to the build directory)");
  }
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::system_error(errno, std::generic_category(), "pipe2");
  }
  // Everything the child needs is built before fork: after it only async-signal-safe calls.
  std::vector<std::string> argv_store;
  argv_store.push_back(binary);
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    bool replaced = false;
    for (const auto& [k, v] : env) replaced = replaced || entry.starts_with(k + "=");
    if (!replaced) env_store.emplace_back(entry);
  }
  for (const auto& [k, v] : env) env_store.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();
  const int netns_fd = net_namespace.empty() ? -1 : ::open(net_namespace.c_str(), O_RDONLY | O_CLOEXEC);
  if (!net_namespace.empty() && netns_fd < 0)
    throw std::system_error(errno, std::generic_category(), "open " + net_namespace);

  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the test died between fork and prctl
    if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) ::_exit(125);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  pid_ = pid;
  if (netns_fd >= 0) ::close(netns_fd);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));  // -1: fall back to polling
  reader_ = std::thread([this] { read_output(); });
}

void BrokerProcess::read_output() {
  char buf[65536];
  for (;;) {
    pollfd fds[2];
    int n = 0;
    {
      std::lock_guard lk(mu_);
      if (stop_reader_) return;
      if (!out_eof_) fds[n++] = pollfd{out_fd_, POLLIN, 0};
      if (!err_eof_) fds[n++] = pollfd{err_fd_, POLLIN, 0};
    }
    if (n == 0) return;
    const int rc = ::poll(fds, static_cast<nfds_t>(n), 100);
    if (rc < 0 && errno != EINTR) return;
    for (int i = 0; i < n && rc > 0; ++i) {
      if (fds[i].revents == 0) continue;
      const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      std::lock_guard lk(mu_);
      const bool is_out = fds[i].fd == out_fd_;
      if (got <= 0) {
        (is_out ? out_eof_ : err_eof_) = true;
      } else if (is_out) {
        out_.append(buf, static_cast<std::size_t>(got));
        // Parse every complete new line for "twinmq: listening <name> <ip>:<port>".
        std::size_t line_start = out_lines_done_;
        for (;;) {
          const std::size_t eol = out_.find('\n', line_start);
          if (eol == std::string::npos) break;
          std::string_view line(out_.data() + line_start, eol - line_start);
          constexpr std::string_view kPrefix = "twinmq: listening ";
          if (line.starts_with(kPrefix)) {
            line.remove_prefix(kPrefix.size());
            const auto space = line.find(' ');
            const auto colon = line.rfind(':');
            if (space != std::string_view::npos && colon != std::string_view::npos && colon > space) {
              const std::string name(line.substr(0, space));
              ports_[name] = static_cast<std::uint16_t>(std::atoi(std::string(line.substr(colon + 1)).c_str()));
            }
          }
          line_start = eol + 1;
        }
        out_lines_done_ = line_start;
      } else {
        err_.append(buf, static_cast<std::size_t>(got));
      }
      cv_.notify_all();
    }
  }
}

BrokerProcess::~BrokerProcess() {
  if (pid_ > 0 && !exit_) {
    ::kill(pid_, SIGKILL);
    reap_if_exited(true);
  }
  {
    std::lock_guard lk(mu_);
    stop_reader_ = true;
  }
  if (reader_.joinable()) reader_.join();
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
  if (pidfd_ >= 0) ::close(pidfd_);
  if (std::getenv("TWINMQ_KEEP_TMP") != nullptr && dir_) {
    dir_->write_file("stdout.log", out_);
    dir_->write_file("stderr.log", err_);
  }
}

std::uint16_t BrokerProcess::port(std::string_view connector) const {
  std::lock_guard lk(mu_);
  auto it = ports_.find(connector);
  if (it == ports_.end()) {
    throw std::runtime_error("BrokerProcess: no listening line for connector '" + std::string(connector) + "'");
  }
  return it->second;
}

std::string BrokerProcess::stdout_text() const {
  std::lock_guard lk(mu_);
  return out_;
}

std::string BrokerProcess::log_text() const {
  std::lock_guard lk(mu_);
  return err_;
}

std::string BrokerProcess::log_tail(std::size_t bytes) const {
  std::lock_guard lk(mu_);
  return err_.size() <= bytes ? err_ : "..." + err_.substr(err_.size() - bytes);
}

bool BrokerProcess::wait_for_output(std::string_view needle, Ms timeout, bool in_log) {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, timeout, [&] {
    const std::string& text = in_log ? err_ : out_;
    return text.find(needle) != std::string::npos || (in_log ? err_eof_ : out_eof_);
  }) && (in_log ? err_ : out_).find(needle) != std::string::npos;
}

bool BrokerProcess::wait_for_count(std::string_view needle, std::size_t count, Ms timeout, bool in_log) {
  auto occurrences = [&] {
    const std::string& text = in_log ? err_ : out_;
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
    return n;
  };
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, timeout, [&] { return occurrences() >= count || (in_log ? err_eof_ : out_eof_); }) &&
         occurrences() >= count;
}

bool BrokerProcess::wait_output_eof(Ms timeout) {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, timeout, [&] { return out_eof_ && err_eof_; });
}

bool BrokerProcess::wait_listening(std::string_view connector, Ms timeout) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, timeout, [&] { return ports_.contains(connector) || out_eof_; });
  return ports_.contains(connector);
}

void BrokerProcess::kill(int sig) {
  if (pid_ > 0 && !exit_) ::kill(pid_, sig);
}

void BrokerProcess::reap_if_exited(bool block) {
  if (exit_ || pid_ <= 0) return;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return;
  ExitResult e;
  if (WIFEXITED(status)) {
    e.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    e.code = 128 + WTERMSIG(status);
    e.signaled = true;
  }
  exit_ = e;
}

std::optional<ExitResult> BrokerProcess::wait_exit(Ms timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    reap_if_exited(false);
    if (exit_) return exit_;
    const auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return std::nullopt;
    if (pidfd_ >= 0) {
      pollfd p{pidfd_, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left));
    } else {
      ::usleep(2000);
    }
  }
}

bool BrokerProcess::running() {
  reap_if_exited(false);
  return !exit_;
}

std::size_t rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) return static_cast<std::size_t>(std::strtoull(line.c_str() + 6, nullptr, 10));
  }
  return 0;
}

}  // namespace twinmq::test
