// Area 34: running under systemd (README "Running under systemd"). The broker is
// started with NOTIFY_SOCKET naming a unix datagram socket this test binds and reads,
// as systemd's notify socket would be: READY=1 when it does its role's job (a master or
// single broker serving, a slave in sync), a STATUS= line on every role, serving or sync
// change, STOPPING=1 when it stops. The unit file conf/systemd/twinmq@.service is
// checked with `systemd-analyze verify` and for the exit codes that must never restart.
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common.h"
#include "replication_support.h"

using namespace twinmq::test;

namespace {

// The test's stand-in for systemd's notify socket: bound in a TempDir, read with a
// bounded poll. Every datagram received is kept, in order.
class NotifySocket {
 public:
  NotifySocket() : dir_("notify"), path_((dir_ / "notify.sock").string()) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    REQUIRE(path_.size() < sizeof a.sun_path);
    std::memcpy(a.sun_path, path_.c_str(), path_.size() + 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~NotifySocket() { ::close(fd_); }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  KeyValues env() const { return {{"NOTIFY_SOCKET", path_}}; }

  // Reads datagrams until one contains `needle` (true) or `timeout` passes (false).
  bool wait_for(std::string_view needle, Ms timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (std::size_t seen = 0;; ) {
      for (; seen < messages_.size(); ++seen)
        if (messages_[seen].find(needle) != std::string::npos) return true;
      const auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) messages_.emplace_back(buf, static_cast<std::size_t>(n));
    }
  }
  // Datagrams read so far (wait_for reads; this does not).
  const std::vector<std::string>& messages() const { return messages_; }
  std::size_t count(std::string_view needle) const {
    std::size_t n = 0;
    for (const auto& m : messages_) n += m.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }
  std::string all() const {
    std::string out;
    for (const auto& m : messages_) out += "\n  [" + m + "]";
    return out.empty() ? " (none)" : out;
  }

 private:
  TempDir dir_;
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> messages_;
};

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::filesystem::path kUnit = std::filesystem::path(TWINMQ_TEST_SOURCE_ROOT) / "conf/systemd/twinmq@.service";

}  // namespace

TEST_CASE("34 systemd: a single broker says READY=1 with its STATUS, and STOPPING=1 on SIGTERM") {
  NotifySocket notify;
  BrokerProcess broker(BrokerConfig{}, {}, Ms(10'000), notify.env());
  REQUIRE_MESSAGE(notify.wait_for("READY=1", Ms(10'000)), "no READY=1; received:" << notify.all());
  CHECK_MESSAGE(notify.count("STATUS=single broker: serving") == 1, notify.all());
  CHECK(notify.count("READY=1") == 1);

  broker.kill(SIGTERM);
  REQUIRE_MESSAGE(notify.wait_for("STOPPING=1", Ms(10'000)), "no STOPPING=1; received:" << notify.all());
  CHECK_MESSAGE(notify.count("STATUS=stopping: SIGTERM") == 1, notify.all());
  const auto exit = broker.wait_exit(Ms(10'000));
  REQUIRE(exit.has_value());
  CHECK(exit->code == 0);
  CHECK(notify.count("READY=1") == 1);  // once, never again
}

TEST_CASE("34 systemd: a pair: the master is ready when it serves, the slave when it is in sync; "
          "STATUS follows the sync and the takeover") {
  NotifySocket master_notify;
  NotifySocket slave_notify;
  PairSpec spec;
  spec.master_env = master_notify.env();
  spec.slave_env = slave_notify.env();
  ReplicaPair pair(spec);
  pair.start_master();
  REQUIRE_MESSAGE(master_notify.wait_for("READY=1", Ms(10'000)), master_notify.all());
  CHECK_MESSAGE(master_notify.count("STATUS=master: serving; no slave in sync") == 1, master_notify.all());

  pair.start_slave();
  REQUIRE_MESSAGE(slave_notify.wait_for("READY=1", Ms(10'000)), slave_notify.all());
  CHECK_MESSAGE(slave_notify.wait_for("STATUS=slave: IN SYNC with master", Ms(5'000)), slave_notify.all());
  CHECK_MESSAGE(master_notify.wait_for("STATUS=master: serving; slave 'slave' at ", Ms(5'000)), master_notify.all());
  CHECK_MESSAGE(master_notify.wait_for(" IN SYNC (seq ", Ms(5'000)), master_notify.all());
  // Before it was in sync, the slave told its state without READY=1.
  CHECK_MESSAGE(slave_notify.messages().front().find("READY=1") == std::string::npos, slave_notify.all());
  CHECK_MESSAGE(slave_notify.count("STATUS=slave: not in sync with master") >= 1, slave_notify.all());

  pair.master().kill(SIGKILL);
  REQUIRE_MESSAGE(slave_notify.wait_for("STATUS=promoted: serving", Ms(10'000)), slave_notify.all());
  CHECK(slave_notify.count("READY=1") == 1);

  pair.slave().kill(SIGTERM);
  REQUIRE_MESSAGE(slave_notify.wait_for("STOPPING=1", Ms(10'000)), slave_notify.all());
  const auto exit = pair.slave().wait_exit(Ms(10'000));
  REQUIRE(exit.has_value());
  CHECK(exit->code == 0);
}

TEST_CASE("34 systemd: a master with waitForSlave is not ready until its slave is in sync") {
  NotifySocket master_notify;
  PairSpec spec;
  spec.master_env = master_notify.env();
  spec.master_attrs = {{"waitForSlave", "true"}};
  ReplicaPair pair(spec);
  pair.start_master(/*expect_stomp=*/false);
  REQUIRE_MESSAGE(master_notify.wait_for("STATUS=master: NOT serving (waitForSlave=\"true\")", Ms(10'000)),
                  master_notify.all());
  CHECK_MESSAGE(master_notify.count("READY=1") == 0, master_notify.all());

  pair.start_slave();
  REQUIRE_MESSAGE(master_notify.wait_for("READY=1", Ms(10'000)), master_notify.all());
  CHECK_MESSAGE(master_notify.wait_for("STATUS=master: serving; slave 'slave' at ", Ms(5'000)), master_notify.all());
}

TEST_CASE("34 systemd: the unit never restarts a broker that stopped for the pair's sake, and verifies") {
  const std::string unit = read_text(kUnit);
  REQUIRE_MESSAGE(!unit.empty(), "cannot read " << kUnit);
  // The replication exit codes (README "Exit codes (replication)") and the configuration error.
  CHECK(unit.find("\nRestartPreventExitStatus=2 3 4 5 6 7\n") != std::string::npos);
  CHECK(unit.find("\nRestart=on-failure\n") != std::string::npos);
  CHECK(unit.find("\nType=notify\n") != std::string::npos);
  CHECK(unit.find("\nUser=twinmq\n") != std::string::npos);

  if (std::system("command -v systemd-analyze >/dev/null 2>&1") != 0) {
    MESSAGE("systemd-analyze is not installed: the unit was not verified");
    return;
  }
  // The unit as shipped, with the binary under test in place of /usr/bin/twinmq (the
  // package test checks that path), verified under an instance name.
  TempDir dir("unit");
  std::string copy = unit;
  for (std::size_t at; (at = copy.find("/usr/bin/twinmq")) != std::string::npos;)
    copy.replace(at, 15, twinmq_binary().string());
  const auto path = dir.write_file("twinmq@master.service", copy);
  const std::string out = (dir / "verify.out").string();
  const std::string cmd = "cd '" + dir.path().string() + "' && systemd-analyze verify --man=no '" + path.string() +
                          "' >'" + out + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string said = read_text(out);
  CHECK_MESSAGE(rc == 0, "systemd-analyze verify failed:\n" << said);
  CHECK_MESSAGE(said.empty(), "systemd-analyze verify complained:\n" << said);
}

TEST_CASE("31 systemd: a switchover restarts the broker in place without STOPPING=1, and it is ready again as the "
          "slave") {
  // Fixed ports (as in area 26): after the switchover each broker finds the other's
  // replication listener at the address its configuration names.
  TempDir dir("notify-switchover");
  struct Ports {
    std::uint16_t stomp = free_port();
    std::uint16_t replication = free_port();
  } a, b;
  auto xml = [&](const std::string& name, const Ports& own, std::optional<std::uint16_t> master) {
    std::string x = "<broker brokerName=\"" + name + "\" dataDirectory=\"" + (dir.path() / name).string() +
                    "\" replicationHeartbeatInterval=\"100\" replicationLinkTimeout=\"800\"";
    if (master) x += " masterConnectorURI=\"tcp://127.0.0.1:" + std::to_string(*master) + "\"";
    return x + ">\n  <transportConnectors>\n    <transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:" +
           std::to_string(own.stomp) + "\"/>\n    <transportConnector name=\"replication\" uri=\"tcp://127.0.0.1:" +
           std::to_string(own.replication) + "\"/>\n  </transportConnectors>\n</broker>\n";
  };
  const auto a_xml = dir.write_file("a.xml", xml("a", a, std::nullopt));
  const auto b_xml = dir.write_file("b.xml", xml("b", b, a.replication));
  NotifySocket notify;
  auto broker_a = BrokerProcess::spawn({"--config", a_xml.string()}, notify.env());
  REQUIRE_MESSAGE(notify.wait_for("READY=1", Ms(10'000)), notify.all() << broker_a->log_tail());
  auto broker_b = BrokerProcess::spawn({"--config", b_xml.string()});
  REQUIRE_MESSAGE(notify.wait_for(" IN SYNC (seq ", Ms(15'000)), notify.all());  // b is in sync: a may hand over

  auto sw = BrokerProcess::spawn({"switchover", "--config", a_xml.string()});
  const auto e = sw->wait_exit(Ms(60'000));
  sw->wait_output_eof(Ms(2000));
  REQUIRE(e.has_value());
  REQUIRE_MESSAGE(e->code == 0, sw->stdout_text() << sw->log_text() << broker_a->log_tail());
  CHECK_MESSAGE(notify.wait_for("STATUS=switchover to slave 'b'", Ms(5'000)), notify.all());
  CHECK_MESSAGE(notify.wait_for(": restarting in place as its slave", Ms(5'000)), notify.all());
  // The same process, now b's slave: ready again once in sync.
  REQUIRE_MESSAGE(notify.wait_for("STATUS=slave: IN SYNC with master 'b'", Ms(15'000)), notify.all());
  CHECK(notify.count("READY=1") == 2);
  CHECK_MESSAGE(notify.count("STOPPING=1") == 0, notify.all());

  broker_a->kill(SIGTERM);  // the slave stops: now STOPPING=1
  CHECK_MESSAGE(notify.wait_for("STOPPING=1", Ms(10'000)), notify.all());
  REQUIRE(broker_a->wait_exit(Ms(10'000)).has_value());
}
