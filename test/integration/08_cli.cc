// 08 — the command line: --version, --check-config, -D and ${name} substitution,
// exit codes (0 clean, 1 runtime failure, 2 configuration error), signals.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

#include "common.h"

using namespace twinmq::test;

namespace {

struct CliRun {
  ExitResult exit;
  std::string out;
  std::string err;
};

CliRun run_cli(std::vector<std::string> args, Ms timeout = Ms(10'000)) {
  auto p = BrokerProcess::spawn(std::move(args));
  auto e = p->wait_exit(timeout);
  if (!e) throw std::runtime_error("twinmq did not exit within " + std::to_string(timeout.count()) + " ms");
  // The reader thread may still be collecting the last bytes: wait for EOF on both pipes.
  p->wait_output_eof(Ms(2000));
  return {*e, p->stdout_text(), p->log_text()};
}

// A socket listening on 127.0.0.1 on a port the OS picked.
struct HeldPort {
  HeldPort() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0) {
      throw std::system_error(errno, std::generic_category(), "listen");
    }
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~HeldPort() { ::close(fd); }
  int fd = -1;
  std::uint16_t port = 0;
};

// True when nothing accepts connections on 127.0.0.1:port.
bool port_closed(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool refused = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno == ECONNREFUSED;
  ::close(fd);
  return refused;
}

}  // namespace

TEST_CASE("08 cli: --version prints the version and exits 0") {
  auto r = run_cli({"--version"});
  CHECK(r.exit.code == 0);
  CHECK(contains_ci(r.out, "twinmq"));
  CHECK(r.out.find_first_of("0123456789") != std::string::npos);
}

TEST_CASE("08 cli: --check-config of a good file exits 0") {
  TempDir dir("cli");
  const auto file = dir.write_file("good.xml", BrokerConfig{}.to_xml(dir / "data"));
  auto r = run_cli({"--check-config", file.string()});
  INFO("stderr: " << r.err);
  CHECK(r.exit.code == 0);
}

TEST_CASE("08 cli: --check-config prints every problem as FILE:LINE and exits 2") {
  TempDir dir("cli");
  const auto file = dir.write_file("bad.xml",
                                   "<?xml version=\"1.0\"?>\n"                                            // 1
                                   "<broker brokerNam=\"x\" dataDirectory=\"/tmp/x\" persistent=\"false\">\n"  // 2
                                   "  <transportConnectors>\n"                                          // 3
                                   "    <transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:0?wireFormat.maxFrameSiz=10\"/>\n"  // 4
                                   "  </transportConnectors>\n"                                         // 5
                                   "  <destinationPolicy><policyMap><policyEntries>\n"                  // 6
                                   "    <policyEntry queue=\">\" maximumRedeliveries=\"lots\"/>\n"      // 7
                                   "  </policyEntries></policyMap></destinationPolicy>\n"               // 8
                                   "  <bogusElement/>\n"                                                // 9
                                   "</broker>\n");
  auto r = run_cli({"--check-config", file.string()});
  INFO("stderr:\n" << r.err);
  CHECK(r.exit.code == 2);
  const std::string f = file.string();
  CHECK(r.err.find(f + ":2:") != std::string::npos);
  CHECK(r.err.find(f + ":4:") != std::string::npos);
  CHECK(r.err.find(f + ":7:") != std::string::npos);
  CHECK(r.err.find(f + ":9:") != std::string::npos);
  // The offending names, with a suggestion for the misspelt ones.
  CHECK(r.err.find("brokerNam") != std::string::npos);
  CHECK(r.err.find("brokerName") != std::string::npos);
  CHECK(r.err.find("maxFrameSize") != std::string::npos);
  CHECK(r.err.find("lots") != std::string::npos);
  CHECK(r.err.find("bogusElement") != std::string::npos);
}

TEST_CASE("08 cli: a missing config file is a configuration error (2) naming the file") {
  auto r = run_cli({"--check-config", "/nonexistent/twinmq-itest.xml"});
  CHECK(r.exit.code == 2);
  CHECK(r.err.find("/nonexistent/twinmq-itest.xml") != std::string::npos);
  auto run = run_cli({"--config", "/nonexistent/twinmq-itest.xml"});
  CHECK(run.exit.code == 2);
}

TEST_CASE("08 cli: running with a bad config exits 2 without listening") {
  TempDir dir("cli");
  const auto file = dir.write_file(
      "bad.xml", "<broker brokerName=\"x\" dataDirectory=\"/tmp/x\" persistent=\"false\" unknownAttr=\"1\">\n"
                 "<transportConnectors><transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:0\"/>"
                 "</transportConnectors></broker>\n");
  auto r = run_cli({"--config", file.string()});
  CHECK(r.exit.code == 2);
  CHECK(r.err.find(file.string() + ":1:") != std::string::npos);
  CHECK(r.out.find("listening") == std::string::npos);
}

TEST_CASE("08 cli: an unknown command-line argument is an error") {
  auto r = run_cli({"--frobnicate"});
  CHECK(r.exit.code != 0);
  CHECK(r.err.find("--frobnicate") != std::string::npos);
}

TEST_CASE("08 cli: -Dname=value and environment variables fill ${name}, -D wins") {
  TempDir dir("cli");
  ::setenv("TWINMQ_ITEST_HOST", "256.0.0.1", 1);  // an invalid address: -D must override it
  ::setenv("TWINMQ_ITEST_NAME", "from-env", 1);
  const auto file = dir.write_file(
      "subst.xml", "<broker brokerName=\"${TWINMQ_ITEST_NAME}\" dataDirectory=\"" + (dir / "data").string() +
                       "\" persistent=\"false\">\n"
                       "<transportConnectors><transportConnector name=\"stomp\" "
                       "uri=\"stomp://${TWINMQ_ITEST_HOST}:${itest.port}\"/></transportConnectors></broker>\n");
  auto p = BrokerProcess::spawn({"--config", file.string(), "-DTWINMQ_ITEST_HOST=127.0.0.1", "-Ditest.port=0"});
  const bool listening = p->wait_listening("stomp", Ms(10'000));
  ::unsetenv("TWINMQ_ITEST_HOST");
  ::unsetenv("TWINMQ_ITEST_NAME");
  INFO("stderr: " << p->log_tail());
  REQUIRE(listening);
  CHECK(p->stdout_text().find("twinmq: listening stomp 127.0.0.1:") != std::string::npos);
  RawStomp c(p->port());
  CHECK(c.connect("1.2")["version"] == "1.2");
  p->kill(SIGTERM);
  auto e = p->wait_exit(Ms(10'000));
  REQUIRE(e.has_value());
  CHECK(e->code == 0);
}

TEST_CASE("08 cli: an undefined ${name} is a configuration error naming it") {
  TempDir dir("cli");
  const auto file = dir.write_file(
      "undef.xml", "<broker brokerName=\"x\" dataDirectory=\"/tmp/x\" persistent=\"false\">\n"
                   "<transportConnectors><transportConnector name=\"stomp\" "
                   "uri=\"stomp://127.0.0.1:${no.such.variable.itest}\"/></transportConnectors></broker>\n");
  auto r = run_cli({"--check-config", file.string()});
  CHECK(r.exit.code == 2);
  CHECK(r.err.find("no.such.variable.itest") != std::string::npos);
}

TEST_CASE("08 cli: a port already in use exits 1 and the log names the address") {
  HeldPort held;
  BrokerConfig cfg;
  cfg.port = std::to_string(held.port);
  TempDir dir("cli");
  const auto file = dir.write_file("busy.xml", cfg.to_xml(dir / "data"));
  auto r = run_cli({"--config", file.string()});
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit.code == 1);
  CHECK((r.err + r.out).find("127.0.0.1:" + std::to_string(held.port)) != std::string::npos);
}

TEST_CASE("08 cli: SIGHUP does not stop the broker (it is logged and ignored)") {
  BrokerProcess broker;
  auto c = client(broker, "1.2");
  broker.kill(SIGHUP);
  REQUIRE(broker.wait_for_output("SIGHUP received: ignored", Ms(5000), true));
  CHECK(broker.running());
  c->send("/queue/hup", "still here");
  auto d = client(broker, "1.2");
  d->subscribe("/queue/hup", "s");
  CHECK(d->message().body == "still here");
}

TEST_CASE("08 cli: SIGTERM and SIGINT stop the broker cleanly (exit 0) and close the port") {
  for (int sig : {SIGTERM, SIGINT}) {
    INFO("signal " << sig);
    BrokerProcess broker;
    const auto port = broker.port();
    auto c = client(broker, "1.2");
    c->subscribe("/queue/stop", "s");
    broker.kill(sig);
    auto e = broker.wait_exit(Ms(10'000));
    REQUIRE_MESSAGE(e.has_value(), "the broker did not stop within 10 s of signal " << sig);
    CHECK_MESSAGE(e->code == 0, e->describe() << "\n" << broker.log_tail());
    CHECK(port_closed(port));
    // The connected client sees the connection end (it may get an ERROR first).
    CHECK(c->wait_closed());
  }
}

TEST_CASE("08 cli: --log-level debug is accepted and the log names connections with their peer") {
  BrokerProcess broker(BrokerConfig{}, {"--log-level", "debug"});
  {
    RawStomp c(broker.port());
    c.connect("1.2");
  }
  CHECK(broker.wait_for_output("127.0.0.1:", Ms(5000), true));
  auto bad = std::make_unique<RawStomp>(broker.port());
  bad->send_raw(frame_bytes("FROBNICATE"));
  CHECK(bad->wait_closed());
  // The reason for a close appears in the log.
  CHECK(broker.wait_for_output("FROBNICATE", Ms(5000), true));
}

TEST_CASE("08 cli: verify-store takes the broker's dataDirectory, its journal/, or --config FILE; --check-config --json "
          "names the store") {
  BrokerConfig cfg;
  cfg.persistent = true;
  auto broker = std::make_unique<BrokerProcess>(cfg);
  {
    RawStomp c(broker->port());
    c.connect();
    c.request("SEND", {{"destination", "/queue/verify.cli"}, {"persistent", "true"}}, "kept");
  }
  broker->kill(SIGTERM);
  REQUIRE(broker->wait_exit(Ms(10'000)).has_value());
  const std::string data = (broker->dir() / "data").string();
  const std::string file = broker->config_file().string();

  // What a user types first (dataDirectory), the journal inside it, and the configuration.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"verify-store", data}, {"verify-store", data + "/journal"},
        {"verify-store", "--config", file}}) {
    const CliRun r = run_cli(args);
    INFO(args.back() << "\nstdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit.code == 0);
    CHECK(r.out.find("/queue/verify.cli") != std::string::npos);
    CHECK(r.out.find(data + "/journal") != std::string::npos);
  }
  const CliRun j = run_cli({"verify-store", "--json", "--config", file});
  CHECK_MESSAGE(j.exit.code == 0, j.err);
  CHECK(j.out.find("\"ok\": true") != std::string::npos);

  const CliRun c = run_cli({"--check-config", file, "--json"});
  CHECK_MESSAGE(c.exit.code == 0, c.err);
  CHECK(c.out.find("\"valid\": true") != std::string::npos);
  CHECK(c.out.find("\"store_directory\": \"" + data + "/journal\"") != std::string::npos);

  // Refusals say what was wrong.
  const CliRun both = run_cli({"verify-store", data, "--config", file});
  CHECK(both.exit.code == 2);
  CHECK(both.err.find("not both") != std::string::npos);
  const CliRun none = run_cli({"verify-store"});
  CHECK(none.exit.code == 2);
  CHECK(none.err.find("needs a data directory") != std::string::npos);
  const auto bad = broker->dir().write_file("bad.xml", "<broker brokerName=\"x\" dataDirectory=\"/tmp\" persistnt=\"true\"/>\n");
  const CliRun b = run_cli({"verify-store", "--config", bad.string()});
  CHECK(b.exit.code == 2);
  CHECK_MESSAGE(b.err.find(bad.string() + ":1:") != std::string::npos, b.err);
  const CliRun bj = run_cli({"--check-config", bad.string(), "--json"});
  CHECK(bj.exit.code == 2);
  CHECK(bj.out.find("\"valid\": false") != std::string::npos);
  cfg.persistent = false;
  const auto np = broker->dir().write_file("np.xml", cfg.to_xml(broker->dir() / "np"));
  const CliRun n = run_cli({"verify-store", "--config", np.string()});
  CHECK(n.exit.code == 2);
  CHECK(n.err.find("keeps no store") != std::string::npos);
}
