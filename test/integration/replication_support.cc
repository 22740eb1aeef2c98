#include "replication_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <stdexcept>
#include <system_error>

namespace twinmq::test {

namespace {

int listen_loopback(std::uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 16) != 0)
    throw std::system_error(errno, std::generic_category(), "listen");
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

int connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string attrs(const KeyValues& kvs) {
  std::string out;
  for (const auto& [k, v] : kvs) out += " " + k + "=\"" + v + "\"";
  return out;
}

}  // namespace

std::uint16_t free_port() {
  std::uint16_t port = 0;
  ::close(listen_loopback(&port));
  return port;
}

bool connection_refused(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool refused = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno == ECONNREFUSED;
  ::close(fd);
  return refused;
}

// --- LinkProxy ---------------------------------------------------------------------

LinkProxy::LinkProxy(std::uint16_t target) : target_(target) {
  listen_fd_ = listen_loopback(&port_);
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  thread_ = std::thread([this] { run(); });
}

LinkProxy::~LinkProxy() {
  stop_ = true;
  (void)!::write(wake_[1], "x", 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void LinkProxy::sever() {
  mode_ = 1;
  (void)!::write(wake_[1], "x", 1);
}

void LinkProxy::freeze() {
  mode_ = 2;
  (void)!::write(wake_[1], "x", 1);
  // Returns only once the thread has finished a pass that saw the new mode: bytes a
  // test sends after freeze() are never forwarded.
  const std::uint64_t seen = passes_.load();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (passes_.load() < seen + 2 && std::chrono::steady_clock::now() < deadline) {
    (void)!::write(wake_[1], "x", 1);
    std::this_thread::yield();
  }
}

void LinkProxy::thaw() {
  mode_ = 0;
  (void)!::write(wake_[1], "x", 1);
}

std::string LinkProxy::sent_by_client() const {
  std::lock_guard lock(recorded_mu_);
  return recorded_;
}

void LinkProxy::run() {
  struct Link {
    int a, b;
  };
  std::vector<Link> links;
  auto close_all = [&] {
    for (auto& l : links) {
      // RST rather than FIN does not matter here; both ends see the link end.
      ::close(l.a);
      ::close(l.b);
    }
    links.clear();
  };
  char buf[65536];
  while (!stop_) {
    std::vector<pollfd> fds;
    fds.push_back(pollfd{wake_[0], POLLIN, 0});
    fds.push_back(pollfd{listen_fd_, POLLIN, 0});
    const bool forwarding = mode_ == 0;
    if (forwarding)
      for (auto& l : links) {
        fds.push_back(pollfd{l.a, POLLIN, 0});
        fds.push_back(pollfd{l.b, POLLIN, 0});
      }
    if (::poll(fds.data(), fds.size(), 200) < 0 && errno != EINTR) break;
    if (fds[0].revents) {
      char drain[64];
      while (::read(wake_[0], drain, sizeof drain) > 0) {
      }
    }
    if (mode_ == 1) close_all();
    if (fds[1].revents & POLLIN) {
      const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        const int t = mode_ == 1 ? -1 : connect_loopback(target_);
        if (t < 0) {
          ::close(c);
        } else {
          links.push_back(Link{c, t});
        }
      }
    }
    // Read again after poll: a freeze that came meanwhile must stop this pass too.
    if (!forwarding || mode_ != 0) {
      ++passes_;
      continue;
    }
    std::vector<std::size_t> dead;
    for (std::size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      const std::size_t li = (i - 2) / 2;
      if (li >= links.size()) continue;
      const int from = fds[i].fd;
      const int to = from == links[li].a ? links[li].b : links[li].a;
      const ssize_t n = ::read(from, buf, sizeof buf);
      bool ok = n > 0;
      if (ok && from == links[li].a) {
        std::lock_guard lock(recorded_mu_);
        recorded_.append(buf, static_cast<std::size_t>(n));
      }
      for (ssize_t off = 0; ok && off < n;) {
        const ssize_t w = ::write(to, buf + off, static_cast<std::size_t>(n - off));
        if (w <= 0) ok = false;
        else off += w;
      }
      if (!ok) dead.push_back(li);
    }
    std::sort(dead.begin(), dead.end());
    dead.erase(std::unique(dead.begin(), dead.end()), dead.end());
    for (auto it = dead.rbegin(); it != dead.rend(); ++it) {
      ::close(links[*it].a);
      ::close(links[*it].b);
      links.erase(links.begin() + static_cast<std::ptrdiff_t>(*it));
    }
    ++passes_;
  }
  close_all();
}

// --- ReplicaPair -------------------------------------------------------------------

ReplicaPair::ReplicaPair(PairSpec spec) : spec_(std::move(spec)), dir_("repl") {}

std::string ReplicaPair::master_xml() const {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<broker brokerName=\"master\" dataDirectory=\"" + (dir_.path() / "master").string() + "\" persistent=\"" +
       (spec_.persistent ? "true" : "false") + "\" replicationHeartbeatInterval=\"" +
       std::to_string(spec_.heart_beat_ms) + "\" replicationLinkTimeout=\"" + std::to_string(spec_.link_timeout_ms) +
       "\"" + attrs(spec_.master_attrs) + ">\n";
  x += "  <transportConnectors>\n";
  x += "    <transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:" + std::to_string(spec_.master_stomp_port) +
       "?transport.connectAttemptTimeout=5000\"/>\n";
  x += "    <transportConnector name=\"replication\" uri=\"" + link_scheme() + "://127.0.0.1:0\"/>\n";
  x += "  </transportConnectors>\n";
  if (!spec_.users.empty()) {
    x += "  <plugins><simpleAuthenticationPlugin><users>\n";
    for (const auto& [u, p] : spec_.users) {
      std::string groups;
      for (const auto& [name, g] : spec_.user_groups)
        if (name == u) groups = " groups=\"" + g + "\"";
      x += "    <authenticationUser username=\"" + u + "\" password=\"" + p + "\"" + groups + "/>\n";
    }
    x += "  </users></simpleAuthenticationPlugin></plugins>\n";
  }
  if (spec_.admin) x += "  <managementContext uri=\"http://127.0.0.1:0\"/>\n";
  x += spec_.master_extra_xml;
  if (spec_.witness)
    x += "  <witness uri=\"" + spec_.witness->master_uri + "\" key=\"" + spec_.witness->key + "\" leaseMillis=\"" +
         std::to_string(spec_.witness->lease_ms) + "\"/>\n";
  x += "</broker>\n";
  return x;
}

std::string ReplicaPair::slave_xml(const std::string& name, std::uint16_t master_port, std::uint16_t stomp_port) const {
  const std::string uri = link_scheme() + "://127.0.0.1:" + std::to_string(master_port);
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<broker brokerName=\"" + name + "\" dataDirectory=\"" + (dir_.path() / name).string() + "\" persistent=\"" +
       (spec_.persistent ? "true" : "false") + "\" replicationHeartbeatInterval=\"" +
       std::to_string(spec_.heart_beat_ms) + "\" replicationLinkTimeout=\"" + std::to_string(spec_.link_timeout_ms) +
       "\"" + (spec_.slave_credentials ? std::string() : " masterConnectorURI=\"" + uri + "\"") +
       attrs(spec_.slave_attrs) + ">\n";
  if (spec_.slave_credentials)
    x += "  <services><masterConnector remoteURI=\"" + uri + "\" userName=\"" + spec_.slave_credentials->first +
         "\" password=\"" + spec_.slave_credentials->second + "\"/></services>\n";
  x += "  <transportConnectors>\n";
  x += "    <transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:" + std::to_string(stomp_port) +
       "?transport.connectAttemptTimeout=5000\"/>\n";
  if (spec_.slave_replication_listener)
    x += "    <transportConnector name=\"replication\" uri=\"" + link_scheme() + "://127.0.0.1:0\"/>\n";
  x += "  </transportConnectors>\n";
  if (!spec_.users.empty()) {
    x += "  <plugins><simpleAuthenticationPlugin><users>\n";
    for (const auto& [u, p] : spec_.users) {
      std::string groups;
      for (const auto& [name, g] : spec_.user_groups)
        if (name == u) groups = " groups=\"" + g + "\"";
      x += "    <authenticationUser username=\"" + u + "\" password=\"" + p + "\"" + groups + "/>\n";
    }
    x += "  </users></simpleAuthenticationPlugin></plugins>\n";
  }
  if (spec_.admin) x += "  <managementContext uri=\"http://127.0.0.1:0\"/>\n";
  x += spec_.slave_extra_xml;
  if (spec_.witness)
    x += "  <witness uri=\"" + spec_.witness->slave_uri + "\" key=\"" + spec_.witness->key + "\" leaseMillis=\"" +
         std::to_string(spec_.witness->lease_ms) + "\"/>\n";
  x += "</broker>\n";
  return x;
}

std::unique_ptr<BrokerProcess> ReplicaPair::start_config(const std::string& file, const std::string& xml,
                                                      const KeyValues& env) {
  const auto path = dir_.write_file(file, xml);
  return BrokerProcess::spawn({"--config", path.string()}, env);
}

BrokerProcess& ReplicaPair::start_master(bool expect_stomp) {
  master_ = start_config("master.xml", master_xml(), spec_.master_env);
  if (!master_->wait_listening("replication", Ms(10'000)))
    throw std::runtime_error("master did not open its replication connector:\n" + master_->log_tail());
  if (expect_stomp && !master_->wait_listening("stomp", Ms(10'000)))
    throw std::runtime_error("master did not open its stomp connector:\n" + master_->log_tail());
  return *master_;
}

BrokerProcess& ReplicaPair::start_slave(const std::string& name, std::optional<std::uint16_t> via, bool wait_in_sync) {
  const std::uint16_t port = free_port();
  auto p = start_config(name + ".xml", slave_xml(name, via.value_or(replication_port()), port), spec_.slave_env);
  slaves_.push_back(std::move(p));
  slave_ports_.push_back(port);
  BrokerProcess& s = *slaves_.back();
  if (wait_in_sync && !s.wait_for_output("IN SYNC", Ms(15'000), true))
    throw std::runtime_error("slave '" + name + "' did not get in sync:\n" + s.log_tail() + "\n--- master:\n" +
                             (master_ ? master_->log_tail() : std::string()));
  return s;
}

std::optional<Ms> ReplicaPair::wait_takeover(std::chrono::steady_clock::time_point since, Ms timeout, std::size_t i) {
  if (!slaves_.at(i)->wait_listening("stomp", timeout)) return std::nullopt;
  return std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - since);
}

std::string ReplicaPair::status(const std::string& config_file) {
  auto p = BrokerProcess::spawn({"status", "--config", config_file});
  auto e = p->wait_exit(Ms(10'000));
  p->wait_output_eof(Ms(2000));
  if (!e || e->code != 0) return "";
  return p->stdout_text();
}

std::vector<std::string> Tally::missing() const {
  std::set<std::string> got(received.begin(), received.end());
  std::vector<std::string> out;
  for (const auto& r : receipted)
    if (!got.contains(r)) out.push_back(r);
  return out;
}

std::vector<ReceivedFrame> drain(std::uint16_t port, const std::string& queue, std::size_t expected, Ms idle) {
  RawStomp c(port);
  c.connect();
  c.subscribe(queue, "drain", "auto", {{"activemq.prefetchSize", "10000"}});
  std::vector<ReceivedFrame> out;
  std::set<std::string> seen;
  while (seen.size() < expected) {
    auto f = c.next_frame(idle);
    if (!f) break;
    if (f->command != "MESSAGE") continue;
    seen.insert(f->body);
    out.push_back(std::move(*f));
  }
  return out;
}

std::vector<ReceivedFrame> drain_until(std::uint16_t port, const std::string& queue,
                                       const std::vector<std::string>& required, Ms idle) {
  std::set<std::string> want(required.begin(), required.end());
  RawStomp c(port);
  c.connect();
  c.subscribe(queue, "drain", "auto", {{"activemq.prefetchSize", "10000"}});
  std::vector<ReceivedFrame> out;
  while (!want.empty()) {
    auto f = c.next_frame(idle);
    if (!f) break;
    if (f->command != "MESSAGE") continue;
    want.erase(f->body);
    out.push_back(std::move(*f));
  }
  return out;
}

Drained drain_required(std::uint16_t port, const std::string& queue, const std::vector<std::string>& required) {
  Drained d;
  d.frames = drain_until(port, queue, required);
  for (const auto& f : d.frames) {
    ++d.times[f.body];
    d.redelivered[f.body] = f["redelivered"] == "true";
  }
  for (const auto& b : required)
    if (!d.times.contains(b)) ++d.missing, d.example = b;
  return d;
}

std::vector<std::string> bodies_of(const std::vector<ReceivedFrame>& frames) {
  std::vector<std::string> out;
  for (const auto& f : frames) out.push_back(f.body);
  return out;
}

}  // namespace twinmq::test
