// 26 — the old master comes back as the slave of the broker that took over, without
// stopping it (twinmq --rejoin): a store that is a prefix of the new history simply
// attaches; one that went on after the fork gets its tail salvaged first, and rejoins at
// once when the witness shows that tail was never confirmed, or stops (exit 5) when it
// may have been, until the operator has replayed it and says --discard-forked-tail.
// Either way its store is then cut back to the fork and catches up from there (area 38
// has the catch-up itself).
// After each rejoin the pair fails over again and nothing confirmed is lost.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "common.h"
#include "replication_support.h"
#include "support/etcd_process.h"

using namespace twinmq::test;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> send_all(std::uint16_t port, const std::string& prefix, int n) {
  RawStomp c(port);
  c.connect();
  std::vector<std::string> sent;
  for (int i = 0; i < n; ++i) {
    sent.push_back(prefix + "-" + std::to_string(i));
    c.send("/queue/rj", sent.back(), {{"persistent", "true"}});
  }
  return sent;
}

// The salvage files the rejoining broker wrote into its data directory.
std::vector<fs::path> salvage_files(const fs::path& data) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(data))
    if (e.path().extension() == ".salvage") out.push_back(e.path());
  return out;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void check_all_there(std::uint16_t port, const std::vector<std::string>& confirmed) {
  std::set<std::string> got;
  for (const auto& f : drain_until(port, "/queue/rj", confirmed)) got.insert(f.body);
  for (const auto& b : confirmed) CHECK_MESSAGE(got.contains(b), "confirmed message lost: " << b);
}

std::string rejoin_uri(BrokerProcess& promoted) {
  REQUIRE_MESSAGE(promoted.wait_listening("replication", Ms(10'000)), promoted.log_tail());
  return "tcp://127.0.0.1:" + std::to_string(promoted.port("replication"));
}

}  // namespace

TEST_CASE("26 rejoin: the old master rejoins the broker that took over, live; the pair then fails over again") {
  EtcdProcess etcd;
  PairSpec spec;
  spec.witness = WitnessSpec{"etcd://127.0.0.1:" + std::to_string(etcd.client_port()),
                             "etcd://127.0.0.1:" + std::to_string(etcd.client_port()), "/twinmq/pairs/rejoin", 2000};
  spec.slave_replication_listener = true;
  ReplicaPair pair(spec);
  pair.start_master();
  pair.start_slave();
  auto confirmed = send_all(pair.master_stomp(), "a", 30);
  pair.master().kill(SIGKILL);
  REQUIRE(pair.wait_takeover(Clock::now(), Ms(15'000)).has_value());
  const std::string uri = rejoin_uri(pair.slave());
  auto more = send_all(pair.slave_stomp(), "b", 30);
  confirmed.insert(confirmed.end(), more.begin(), more.end());

  // The old master, with its own configuration, as the slave of the promoted broker.
  auto old = BrokerProcess::spawn({"--config", pair.master_config(), "--rejoin", uri});
  REQUIRE_MESSAGE(old->wait_for_output("IN SYNC", Ms(15'000), true), old->log_tail());
  CHECK(old->stdout_text().find("listening stomp") == std::string::npos);  // closed: it is the slave now
  // The promoted broker served throughout, and still does.
  more = send_all(pair.slave_stomp(), "c", 10);
  confirmed.insert(confirmed.end(), more.begin(), more.end());
  REQUIRE(pair.slave().wait_for_output("names 'master' as the replica", Ms(10'000), true));

  // Roles swapped for good: the old master takes over again when the promoted one dies.
  pair.slave().kill(SIGKILL);
  REQUIRE_MESSAGE(old->wait_listening("stomp", Ms(15'000)), old->log_tail());
  check_all_there(old->port("stomp"), confirmed);
}

TEST_CASE("26 rejoin: an isolated master's never-confirmed tail is salvaged, and it rejoins at once (witness)") {
  EtcdProcess etcd;
  LinkProxy master_to_etcd(etcd.client_port());
  PairSpec spec;
  spec.witness = WitnessSpec{"etcd://127.0.0.1:" + std::to_string(master_to_etcd.port()),
                             "etcd://127.0.0.1:" + std::to_string(etcd.client_port()), "/twinmq/pairs/tail", 2000};
  spec.slave_replication_listener = true;
  ReplicaPair pair(spec);
  pair.start_master();
  LinkProxy link(pair.replication_port());
  pair.start_slave("slave", link.port());
  auto confirmed = send_all(pair.master_stomp(), "a", 20);
  RawStomp late(pair.master_stomp());
  late.connect();

  link.freeze();
  master_to_etcd.freeze();
  // Accepted by the isolated master (journaled there), never confirmed: its receipt waits
  // for the slave, and the master fences itself before any could be sent.
  late.send_frame("SEND", {{"destination", "/queue/rj"}, {"persistent", "true"}, {"receipt", "never"}}, "unconfirmed");
  check_error(late.next_frame(Ms(10'000)), "not serving", {});
  REQUIRE(pair.wait_takeover(Clock::now(), Ms(15'000)).has_value());
  const std::string uri = rejoin_uri(pair.slave());
  pair.master().kill(SIGKILL);
  pair.master().wait_exit(Ms(5000));
  master_to_etcd.thaw();

  auto old = BrokerProcess::spawn({"--config", pair.master_config(), "--rejoin", uri});
  REQUIRE_MESSAGE(old->wait_for_output("IN SYNC", Ms(15'000), true), old->log_tail());
  const std::string log = old->log_text();
  CHECK_MESSAGE(log.find("after seq") != std::string::npos, log);
  CHECK(log.find("the witness records that 'slave' took over") != std::string::npos);
  // Cut back to the fork, it catches up from there instead of taking a full copy.
  CHECK_MESSAGE(log.find("cut back to seq") != std::string::npos, log);
  CHECK_MESSAGE(log.find("[event=rejoin_catch_up]") != std::string::npos, log);
  const auto files = salvage_files(pair.data("master"));
  REQUIRE(files.size() == 1);
  CHECK(read_all(files[0]).find("unconfirmed") != std::string::npos);
  // The pair is whole: the rejoined broker has every confirmed message.
  pair.slave().kill(SIGKILL);
  REQUIRE_MESSAGE(old->wait_listening("stomp", Ms(15'000)), old->log_tail());
  check_all_there(old->port("stomp"), confirmed);
}

TEST_CASE("26 rejoin: without a witness a tail that may have been confirmed stops the rejoin until it is replayed") {
  PairSpec spec;
  spec.slave_replication_listener = true;
  ReplicaPair pair(spec);
  pair.start_master();
  LinkProxy link(pair.replication_port());
  pair.start_slave("slave", link.port());
  auto confirmed = send_all(pair.master_stomp(), "a", 10);
  link.freeze();
  // No witness: both serve; the old master confirms work the promoted one never sees.
  REQUIRE(pair.wait_takeover(Clock::now(), Ms(15'000)).has_value());
  REQUIRE(pair.master().wait_for_output("now serves ALONE", Ms(15'000), true));
  auto alone = send_all(pair.master_stomp(), "alone", 5);
  auto promoted = send_all(pair.slave_stomp(), "b", 10);
  confirmed.insert(confirmed.end(), promoted.begin(), promoted.end());
  const std::string uri = rejoin_uri(pair.slave());
  pair.master().kill(SIGKILL);
  pair.master().wait_exit(Ms(5000));

  // 1. Refused: the tail is listed and saved, the data directory kept, exit 5.
  auto refused = BrokerProcess::spawn({"--config", pair.master_config(), "--rejoin", uri});
  auto exit = refused->wait_exit(Ms(15'000));
  REQUIRE_MESSAGE(exit.has_value(), refused->log_tail());
  CHECK(exit->code == 5);
  CHECK(refused->wait_for_output("NOT rejoining", Ms(5000), true));
  CHECK(refused->wait_for_output("/queue/rj: 5 enqueued after the fork", Ms(5000), true));
  const auto files = salvage_files(pair.data("master"));
  REQUIRE(files.size() == 1);

  // 2. The operator replays the saved messages into the serving broker...
  auto replay = BrokerProcess::spawn(
      {"replay", files[0].string(), "--to", "tcp://127.0.0.1:" + std::to_string(pair.slave_stomp())});
  auto replayed = replay->wait_exit(Ms(15'000));
  REQUIRE_MESSAGE(replayed.has_value(), replay->log_tail());
  CHECK_MESSAGE(replayed->code == 0, replay->stdout_text() << replay->log_tail());
  confirmed.insert(confirmed.end(), alone.begin(), alone.end());

  // 3. ...and lets it rejoin without them.
  auto old = BrokerProcess::spawn({"--config", pair.master_config(), "--rejoin", uri, "--discard-forked-tail"});
  REQUIRE_MESSAGE(old->wait_for_output("IN SYNC", Ms(15'000), true), old->log_tail());
  CHECK_MESSAGE(old->wait_for_output("[event=rejoin_catch_up]", Ms(5000), true), old->log_tail());
  pair.slave().kill(SIGKILL);
  REQUIRE_MESSAGE(old->wait_listening("stomp", Ms(15'000)), old->log_tail());
  check_all_there(old->port("stomp"), confirmed);
}
