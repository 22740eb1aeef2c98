// 26 — planned switchover (`twinmq switchover`): the serving broker hands the master
// role to its in-sync slave and restarts in place (same pid) as that broker's slave;
// then back again, so the original layout returns without a quiet window. Every
// receipted message is there exactly once at the end. Refusals say why.
#include <signal.h>

#include <map>
#include <string>
#include <vector>

#include "common.h"
#include "replication_support.h"

using namespace twinmq::test;

namespace {

struct Ports {
  std::uint16_t stomp = free_port();
  std::uint16_t replication = free_port();
};

// Fixed ports (not port 0): after a switchover each broker must find the other's
// replication listener again at the address its configuration names.
std::string broker_xml(const TempDir& dir, const std::string& name, const Ports& own,
                       std::optional<std::uint16_t> master_replication, const std::string& extra_attrs = "") {
  std::string x = "<broker brokerName=\"" + name + "\" dataDirectory=\"" + (dir.path() / name).string() +
                  "\" replicationHeartbeatInterval=\"100\" replicationLinkTimeout=\"800\"" + extra_attrs;
  if (master_replication) x += " masterConnectorURI=\"tcp://127.0.0.1:" + std::to_string(*master_replication) + "\"";
  x += ">\n  <transportConnectors>\n";
  x += "    <transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:" + std::to_string(own.stomp) + "\"/>\n";
  x += "    <transportConnector name=\"replication\" uri=\"tcp://127.0.0.1:" + std::to_string(own.replication) +
       "\"/>\n";
  x += "  </transportConnectors>\n</broker>\n";
  return x;
}

std::vector<std::string> send_all(std::uint16_t port, const std::string& prefix, int n) {
  RawStomp c(port);
  c.connect();
  std::vector<std::string> sent;
  for (int i = 0; i < n; ++i) {
    sent.push_back(prefix + "-" + std::to_string(i));
    c.send("/queue/sw", sent.back(), {{"persistent", "true"}});  // waits for its RECEIPT
  }
  return sent;
}

struct CommandResult {
  int code = -1;
  std::string out;
  std::string err;
};

CommandResult switchover(const std::vector<std::string>& args) {
  std::vector<std::string> all{"switchover"};
  all.insert(all.end(), args.begin(), args.end());
  auto p = BrokerProcess::spawn(all);
  auto e = p->wait_exit(Ms(60'000));
  p->wait_output_eof(Ms(2000));
  return CommandResult{e ? e->code : -1, p->stdout_text(), p->log_text()};
}

std::string status_of(const std::string& config_file) {
  auto p = BrokerProcess::spawn({"status", "--config", config_file});
  p->wait_exit(Ms(10'000));
  p->wait_output_eof(Ms(2000));
  return p->stdout_text();
}

}  // namespace

TEST_CASE("26 switchover: master and slave swap roles and back, live; nothing receipted is lost or doubled") {
  TempDir dir("switchover");
  const Ports a, b;
  const auto a_xml = dir.write_file("a.xml", broker_xml(dir, "a", a, std::nullopt));
  const auto b_xml = dir.write_file("b.xml", broker_xml(dir, "b", b, a.replication));
  auto broker_a = BrokerProcess::spawn({"--config", a_xml.string()});
  REQUIRE_MESSAGE(broker_a->wait_listening("stomp", Ms(10'000)), broker_a->log_tail());
  auto broker_b = BrokerProcess::spawn({"--config", b_xml.string()});
  REQUIRE_MESSAGE(broker_b->wait_for_output("IN SYNC", Ms(15'000), true), broker_b->log_tail());
  const pid_t a_pid = broker_a->pid();

  auto confirmed = send_all(a.stomp, "a", 20);

  // The slave refuses: it has nothing to hand over.
  const auto on_slave = switchover({"--config", b_xml.string(), "--timeout", "0"});
  CHECK(on_slave.code == 1);
  CHECK_MESSAGE(on_slave.err.find("this broker is the slave") != std::string::npos, on_slave.err);

  // a hands over to b and comes back as b's slave (its replication listener, as b told it).
  const auto first = switchover({"--config", a_xml.string()});
  REQUIRE_MESSAGE(first.code == 0, first.out << first.err << broker_a->log_tail() << broker_b->log_tail());
  CHECK(first.out.find("handing over to slave 'b'") != std::string::npos);
  CHECK(first.out.find("rejoining tcp://127.0.0.1:" + std::to_string(b.replication)) != std::string::npos);
  CHECK(first.out.find("in sync again as the slave") != std::string::npos);
  CHECK(broker_b->wait_listening("stomp", Ms(10'000)));
  CHECK(broker_b->wait_for_output("master shut down on purpose", Ms(5000), true));
  CHECK(broker_a->wait_for_output("[event=switchover]", Ms(5000), true));
  CHECK(broker_a->wait_for_output("REJOINING", Ms(5000), true));
  CHECK(broker_a->pid() == a_pid);
  CHECK(::kill(a_pid, 0) == 0);  // the same process, restarted in place

  auto more = send_all(b.stomp, "b", 20);
  confirmed.insert(confirmed.end(), more.begin(), more.end());

  // And back: b's configuration names a as its master, so it restarts as a's slave.
  const auto back = switchover({"--config", b_xml.string()});
  REQUIRE_MESSAGE(back.code == 0, back.out << back.err << broker_a->log_tail() << broker_b->log_tail());
  CHECK(back.out.find("its configured master") != std::string::npos);
  CHECK(broker_a->wait_for_count("twinmq: listening stomp", 2, Ms(10'000)));
  more = send_all(a.stomp, "c", 10);
  confirmed.insert(confirmed.end(), more.begin(), more.end());

  // The original layout, whole: everything once, on a.
  const auto got = bodies_of(drain(a.stomp, "/queue/sw", confirmed.size()));
  std::map<std::string, int> seen;
  for (const auto& body : got) ++seen[body];
  for (const auto& body : confirmed) CHECK_MESSAGE(seen[body] == 1, body << " arrived " << seen[body] << " times");
  CHECK(got.size() == confirmed.size());
  // And b mirrors it: a can still fail over to b.
  const std::string status = status_of(b_xml.string());
  CHECK_MESSAGE(status.find("in sync: yes") != std::string::npos, status);

  // Stopped (slave first, so the master does not hand over), the two stores hold one
  // history: compare-stores finds nothing in b that a lacks.
  broker_b->kill(SIGTERM);
  REQUIRE(broker_b->wait_exit(Ms(10'000)).has_value());
  broker_a->kill(SIGTERM);
  REQUIRE(broker_a->wait_exit(Ms(10'000)).has_value());
  auto cmp = BrokerProcess::spawn({"compare-stores", (dir.path() / "a").string(), (dir.path() / "b").string()});
  const auto cmp_exit = cmp->wait_exit(Ms(30'000));
  cmp->wait_output_eof(Ms(2000));
  REQUIRE(cmp_exit.has_value());
  CHECK_MESSAGE(cmp_exit->code == 0, cmp->stdout_text() << cmp->log_text());
}

TEST_CASE("26 switchover: refused while no slave is in sync, and when the slave would exit instead of taking over") {
  TempDir dir("switchover-refused");
  const Ports a, b;
  const auto a_xml = dir.write_file("a.xml", broker_xml(dir, "a", a, std::nullopt));
  auto broker_a = BrokerProcess::spawn({"--config", a_xml.string()});
  REQUIRE_MESSAGE(broker_a->wait_listening("stomp", Ms(10'000)), broker_a->log_tail());

  const auto alone = switchover({"--config", a_xml.string(), "--timeout", "0"});
  CHECK(alone.code == 1);
  CHECK_MESSAGE(alone.err.find("no slave is in sync") != std::string::npos, alone.err);

  const auto b_xml =
      dir.write_file("b.xml", broker_xml(dir, "b", b, a.replication, " shutdownOnMasterFailure=\"true\""));
  auto broker_b = BrokerProcess::spawn({"--config", b_xml.string()});
  REQUIRE_MESSAGE(broker_b->wait_for_output("IN SYNC", Ms(15'000), true), broker_b->log_tail());
  const auto exits = switchover({"--config", a_xml.string(), "--timeout", "0"});
  CHECK(exits.code == 1);
  CHECK_MESSAGE(exits.err.find("shutdownOnMasterFailure") != std::string::npos, exits.err);
  // Nothing happened: a still serves, b still mirrors.
  CHECK(broker_a->wait_for_output("[event=switchover_refused]", Ms(5000), true));
  send_all(a.stomp, "x", 3);
  CHECK(broker_b->running());
}

TEST_CASE("26 switchover: back and forth with no traffic in between (nothing journaled since the copy)") {
  TempDir dir("switchover-quiet");
  const Ports a, b;
  const auto a_xml = dir.write_file("a.xml", broker_xml(dir, "a", a, std::nullopt));
  const auto b_xml = dir.write_file("b.xml", broker_xml(dir, "b", b, a.replication));
  auto broker_a = BrokerProcess::spawn({"--config", a_xml.string()});
  REQUIRE_MESSAGE(broker_a->wait_listening("stomp", Ms(10'000)), broker_a->log_tail());
  const auto confirmed = send_all(a.stomp, "q", 5);
  auto broker_b = BrokerProcess::spawn({"--config", b_xml.string()});
  REQUIRE_MESSAGE(broker_b->wait_for_output("IN SYNC", Ms(15'000), true), broker_b->log_tail());
  for (int round = 0; round < 2; ++round) {
    const auto there = switchover({"--config", a_xml.string()});
    REQUIRE_MESSAGE(there.code == 0, there.out << there.err << broker_a->log_tail() << broker_b->log_tail());
    const auto back = switchover({"--config", b_xml.string()});
    REQUIRE_MESSAGE(back.code == 0, back.out << back.err << broker_a->log_tail() << broker_b->log_tail());
  }
  const auto got = bodies_of(drain(a.stomp, "/queue/sw", confirmed.size()));
  CHECK(got == confirmed);
}
