// 21 — what a master refuses, and what an old master does after a failover: bad
// credentials, a second slave, a store of another broker, and the promoted slave
// pointed back at the old master (the old master's data is the stale one). Each
// refusal names its reason on both sides; nobody takes over on a refusal.
#include <signal.h>

#include <algorithm>
#include <filesystem>

#include "common.h"
#include "replication_support.h"

using namespace twinmq::test;

TEST_CASE("21 refusals: wrong credentials — the slave exits 5 with the reason, the master logs it") {
  PairSpec spec;
  spec.users = {{"system", "manager"}, {"replica", "right"}};
  spec.slave_credentials = std::pair<std::string, std::string>{"replica", "wrong"};
  ReplicaPair pair(spec);
  pair.start_master();
  BrokerProcess& s = pair.start_slave("slave", std::nullopt, false);
  auto e = s.wait_exit(Ms(5000));
  REQUIRE_MESSAGE(e.has_value(), s.log_tail());
  CHECK(e->code == 5);
  s.wait_output_eof(Ms(2000));
  CHECK(s.wait_for_output("REFUSED", Ms(5000), true));
  CHECK(s.wait_for_output("does not accept user 'replica'", Ms(5000), true));
  CHECK(pair.master().wait_for_output("refused slave", Ms(5000), true));
  CHECK(s.stdout_text().find("listening stomp") == std::string::npos);
}

TEST_CASE("21 refusals: the right credentials in <masterConnector> are accepted") {
  PairSpec spec;
  spec.users = {{"replica", "right"}};
  spec.slave_credentials = std::pair<std::string, std::string>{"replica", "right"};
  ReplicaPair pair(spec);
  pair.start_master();
  pair.start_slave();  // waits for IN SYNC
}

TEST_CASE("21 refusals: a second slave is refused while one is attached, keeps trying, never takes over") {
  ReplicaPair pair;
  pair.start_master();
  pair.start_slave("first");
  BrokerProcess& second = pair.start_slave("second", std::nullopt, false);
  REQUIRE(second.wait_for_output("another slave", Ms(5000), true));
  CHECK(pair.master().wait_for_output("another_slave", Ms(5000), true));
  CHECK(second.running());
  CHECK(connection_refused(pair.slave_stomp(1)));
  // The master dies: the in-sync first slave takes over; the second one was never in sync.
  pair.master().kill(SIGKILL);
  REQUIRE(pair.slave(0).wait_listening("stomp", Ms(5000)));
  CHECK_FALSE(second.wait_listening("stomp", Ms(1000)));
  CHECK(second.running());
}

TEST_CASE("21 refusals: a slave whose data directory holds another broker's store is refused, data untouched") {
  ReplicaPair pair;
  // The slave's directory first belongs to a standalone broker with a message in it.
  {
    const std::string xml = "<broker brokerName=\"other\" dataDirectory=\"" + pair.data("slave").string() +
                            "\" persistent=\"true\"><transportConnectors><transportConnector name=\"stomp\" "
                            "uri=\"stomp://127.0.0.1:0\"/></transportConnectors></broker>\n";
    auto other = pair.start_config("other.xml", xml);
    REQUIRE(other->wait_listening("stomp", Ms(10'000)));
    RawStomp c(other->port("stomp"));
    c.connect();
    c.send("/queue/mine", "keep me", {{"persistent", "true"}});
    other->kill(SIGTERM);
    REQUIRE(other->wait_exit(Ms(10'000)).has_value());
  }
  pair.start_master();
  BrokerProcess& s = pair.start_slave("slave", std::nullopt, false);
  auto e = s.wait_exit(Ms(5000));
  REQUIRE_MESSAGE(e.has_value(), s.log_tail());
  CHECK(e->code == 5);
  s.wait_output_eof(Ms(2000));
  CHECK(s.wait_for_output("another broker or pair", Ms(5000), true));
  CHECK(s.wait_for_output("store_identity", Ms(5000), true));
  // Its message is still in its store.
  auto verify = BrokerProcess::spawn({"verify-store", pair.journal("slave").string()});
  REQUIRE(verify->wait_exit(Ms(10'000)).has_value());
  verify->wait_output_eof(Ms(2000));
  CHECK(verify->stdout_text().find("/queue/mine") != std::string::npos);
}

TEST_CASE("21 refusals: after a failover the old master stays closed, and the promoted slave is not overwritten") {
  ReplicaPair pair;
  pair.start_master();
  pair.start_slave();
  {
    RawStomp c(pair.master_stomp());
    c.connect();
    c.send("/queue/h", "before", {{"persistent", "true"}});
  }
  pair.master().kill(SIGKILL);
  REQUIRE(pair.slave().wait_listening("stomp", Ms(5000)));
  {
    RawStomp c(pair.slave_stomp());
    c.connect();
    c.send("/queue/h", "after the failover", {{"persistent", "true"}});
  }
  pair.slave().kill(SIGTERM);
  REQUIRE(pair.slave().wait_exit(Ms(10'000)).has_value());

  // The old master restarts with its old configuration: it had a slave in sync, so it
  // does not serve on its own.
  const std::uint16_t stomp = free_port();
  std::string xml = pair.master_xml();
  const std::string from = "stomp://127.0.0.1:0?";
  xml.replace(xml.find(from), from.size(), "stomp://127.0.0.1:" + std::to_string(stomp) + "?");
  auto old_master = pair.start_config("master-again.xml", xml);
  REQUIRE(old_master->wait_listening("replication", Ms(10'000)));
  CHECK(old_master->wait_for_output("may have taken over", Ms(5000), true));
  CHECK_FALSE(old_master->wait_listening("stomp", Ms(500)));
  CHECK(connection_refused(stomp));

  // The promoted slave is (wrongly) started as a slave of the old master: refused, its
  // newer data left alone, and the message says which side is stale.
  auto back = pair.start_config("slave-again.xml",
                                pair.slave_xml("slave", old_master->port("replication"), free_port()));
  auto e = back->wait_exit(Ms(5000));
  REQUIRE_MESSAGE(e.has_value(), back->log_tail());
  CHECK(e->code == 5);
  back->wait_output_eof(Ms(2000));
  CHECK(back->wait_for_output("STALE", Ms(5000), true));
  CHECK(old_master->wait_for_output("slave_newer_epoch", Ms(5000), true));
  CHECK(connection_refused(stomp));
  auto verify = BrokerProcess::spawn({"verify-store", pair.journal("slave").string()});
  REQUIRE(verify->wait_exit(Ms(10'000)).has_value());
  verify->wait_output_eof(Ms(2000));
  CHECK(verify->stdout_text().find("epoch        1\n") != std::string::npos);
}

TEST_CASE("21 refusals: two copies that both took writes after a split are refused as diverged") {
  ReplicaPair pair;
  pair.start_master();
  pair.start_slave();
  auto send = [](std::uint16_t port, const std::string& prefix, int n) {
    RawStomp c(port);
    c.connect();
    for (int i = 0; i < n; ++i) c.send("/queue/d", prefix + std::to_string(i), {{"persistent", "true"}});
  };
  send(pair.master_stomp(), "both-", 5);
  // The slave goes; the master serves alone and takes writes the slave never sees.
  pair.slave().kill(SIGKILL);
  REQUIRE(pair.slave().wait_exit(Ms(5000)).has_value());
  send(pair.master_stomp(), "master-only-", 3);
  pair.master().kill(SIGTERM);
  REQUIRE(pair.master().wait_exit(Ms(10'000)).has_value());
  // Someone starts the slave's copy as a master, and it takes other writes (more of them).
  const std::string as_master = "<broker brokerName=\"b\" dataDirectory=\"" + pair.data("slave").string() +
                                "\" persistent=\"true\"><transportConnectors>"
                                "<transportConnector name=\"stomp\" uri=\"stomp://127.0.0.1:0\"/>"
                                "<transportConnector name=\"replication\" uri=\"tcp://127.0.0.1:0\"/>"
                                "</transportConnectors></broker>\n";
  auto b = pair.start_config("b-as-master.xml", as_master);
  REQUIRE(b->wait_listening("stomp", Ms(10'000)));
  send(b->port("stomp"), "slave-only-", 6);
  // The old master's copy is now pointed at it as a slave: same store, same epoch, but
  // a different history where both have records.
  auto a = pair.start_config("a-as-slave.xml", pair.slave_xml("master", b->port("replication"), free_port()));
  auto e = a->wait_exit(Ms(5000));
  REQUIRE_MESSAGE(e.has_value(), a->log_tail());
  CHECK(e->code == 5);
  a->wait_output_eof(Ms(2000));
  CHECK(a->wait_for_output("diverged", Ms(5000), true));
  CHECK(a->wait_for_output("history differs", Ms(5000), true));
  CHECK(b->wait_for_output("refused slave", Ms(5000), true));
  // Nothing was overwritten: the old master's copy still has its own writes.
  auto verify = BrokerProcess::spawn({"verify-store", pair.journal("master").string()});
  REQUIRE(verify->wait_exit(Ms(10'000)).has_value());
  verify->wait_output_eof(Ms(2000));
  CHECK(verify->stdout_text().find("/queue/d                                 8") != std::string::npos);
}

TEST_CASE("21 refusals: the documented recovery procedure restores the pair after a failover") {
  ReplicaPair pair;
  pair.start_master();
  pair.start_slave();
  {
    RawStomp c(pair.master_stomp());
    c.connect();
    c.send("/queue/rec", "before", {{"persistent", "true"}});
  }
  pair.master().kill(SIGKILL);
  REQUIRE(pair.slave().wait_listening("stomp", Ms(5000)));
  {
    RawStomp c(pair.slave_stomp());
    c.connect();
    c.send("/queue/rec", "after", {{"persistent", "true"}});
  }
  // 2. Stop the promoted broker; copy its data directory over the old master's.
  pair.slave().kill(SIGTERM);
  REQUIRE(pair.slave().wait_exit(Ms(10'000)).has_value());
  std::filesystem::remove_all(pair.data("master"));
  std::filesystem::copy(pair.data("slave"), pair.data("master"), std::filesystem::copy_options::recursive);
  std::filesystem::remove(pair.data("master") / "status.sock");
  // 3. The old master starts with its configuration and serves (the copy's epoch is newer).
  const std::uint16_t stomp = free_port();
  std::string xml = pair.master_xml();
  const std::string from = "stomp://127.0.0.1:0?";
  xml.replace(xml.find(from), from.size(), "stomp://127.0.0.1:" + std::to_string(stomp) + "?");
  auto master = pair.start_config("master-restored.xml", xml);
  REQUIRE_MESSAGE(master->wait_listening("stomp", Ms(10'000)), master->log_tail());
  // 4. The other machine starts as a slave again: it attaches and gets in sync.
  auto slave =
      pair.start_config("slave-restored.xml", pair.slave_xml("slave", master->port("replication"), free_port()));
  REQUIRE_MESSAGE(slave->wait_for_output("IN SYNC", Ms(10'000), true), slave->log_tail() << master->log_tail());
  auto got = bodies_of(drain(stomp, "/queue/rec", 2));
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::string>{"after", "before"});
}
