// 24 — the pair with an etcd witness (README "The witness"), real processes and a real
// etcd: who serves after a kill -9, a cut link with both sides alive, a master cut off
// from slave and etcd (it fences itself and tells its clients), a slave cut off, etcd
// down while the pair is healthy, the old master restarted after a takeover (exit 7),
// a planned stop (the key is released), a three-member etcd that loses a member. Every
// scenario checks that nothing confirmed is lost and that the two brokers never
// confirm at the same time.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <twinmq/failover.h>

#include "common.h"
#include "replication_support.h"
#include "support/etcd_process.h"

using namespace twinmq::test;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint32_t kLeaseMs = 2000;

std::string etcd_uri(std::uint16_t port) { return "etcd://127.0.0.1:" + std::to_string(port); }

PairSpec witness_pair(const std::string& master_etcd, const std::string& slave_etcd, const std::string& key) {
  PairSpec spec;
  WitnessSpec w;
  w.master_uri = master_etcd;
  w.slave_uri = slave_etcd;
  w.key = key;
  w.lease_ms = kLeaseMs;
  spec.witness = w;
  return spec;
}

// Every receipt a test saw, with when and from whom: the invariant check needs both.
struct Confirmed {
  std::vector<std::string> bodies;
  Clock::time_point first{Clock::time_point::max()};
  Clock::time_point last{Clock::time_point::min()};
  void add(const std::string& body) {
    const auto now = Clock::now();
    bodies.push_back(body);
    first = std::min(first, now);
    last = std::max(last, now);
  }
};

// Sends receipted persistent messages to `port` until `n` are confirmed or the broker
// refuses (ERROR or close: returned as the failure text). Bodies are prefix-<i>.
std::string send_confirmed(std::uint16_t port, const std::string& prefix, int n, Confirmed& out) {
  try {
    RawStomp c(port);
    c.connect();
    for (int i = 0; i < n; ++i) {
      const std::string body = prefix + "-" + std::to_string(i);
      c.send("/queue/w", body, {{"persistent", "true"}});
      out.add(body);
    }
  } catch (const StompFailure& f) {
    return f.what();
  }
  return {};
}

// Drains /queue/w at `port` until every confirmed body came (or nothing more arrives)
// and checks that none of them is missing.
void check_nothing_lost(std::uint16_t port, const std::vector<std::string>& confirmed) {
  std::set<std::string> got;
  for (const auto& f : drain_until(port, "/queue/w", confirmed)) got.insert(f.body);
  std::size_t lost = 0;
  for (const auto& b : confirmed)
    if (!got.contains(b)) {
      if (++lost <= 5) FAIL_CHECK("confirmed message lost: " << b);
    }
  CHECK_MESSAGE(lost == 0, lost << " of " << confirmed.size() << " confirmed messages lost");
}

std::vector<std::string> all_of(std::initializer_list<const Confirmed*> parts) {
  std::vector<std::string> out;
  for (const Confirmed* c : parts) out.insert(out.end(), c->bodies.begin(), c->bodies.end());
  return out;
}

}  // namespace

TEST_CASE("24 witness: kill -9 of the master — the slave takes over once the lease is gone, with everything confirmed") {
  EtcdProcess etcd;
  ReplicaPair pair(witness_pair(etcd_uri(etcd.client_port()), etcd_uri(etcd.client_port()), "/twinmq/pairs/kill"));
  pair.start_master();
  pair.start_slave();
  Confirmed on_master;
  REQUIRE(send_confirmed(pair.master_stomp(), "m", 50, on_master).empty());
  const auto t0 = Clock::now();
  pair.master().kill(SIGKILL);
  auto took = pair.wait_takeover(t0, Ms(15'000));
  REQUIRE_MESSAGE(took.has_value(), pair.slave().log_tail());
  std::printf("[24] takeover with a witness after kill -9: %lld ms (lease %u ms)\n",
              static_cast<long long>(took->count()), kLeaseMs);
  // It had to wait for the lease: it took the key, it did not just see the link close.
  // (The log lines may trail the listening line on stdout: wait for them, bounded.)
  CHECK(pair.slave().wait_for_output("won the witness key", Ms(5000), true));
  CHECK(pair.slave().wait_for_output("[event=promoted] replication: PROMOTED", Ms(5000), true));
  Confirmed on_slave;
  REQUIRE(send_confirmed(pair.slave_stomp(), "s", 10, on_slave).empty());
  CHECK(on_master.last < on_slave.first);
  check_nothing_lost(pair.slave_stomp(), all_of({&on_master, &on_slave}));
}

TEST_CASE("24 witness: a cut link with both alive — the master serves on alone; the slave stays closed, then catches up (a link blip is not a takeover)") {
  EtcdProcess etcd;
  ReplicaPair pair(witness_pair(etcd_uri(etcd.client_port()), etcd_uri(etcd.client_port()), "/twinmq/pairs/cut"));
  pair.start_master();
  LinkProxy link(pair.replication_port());
  pair.start_slave("slave", link.port());
  Confirmed before, during;
  REQUIRE(send_confirmed(pair.master_stomp(), "before", 20, before).empty());
  link.freeze();
  // The master confirms again only once the witness no longer names the slave...
  REQUIRE_MESSAGE(pair.master().wait_for_output("now serves ALONE", Ms(15'000), true), pair.master().log_tail());
  CHECK(pair.master().wait_for_output("names NO replica", Ms(5000), true));
  REQUIRE(send_confirmed(pair.master_stomp(), "during", 20, during).empty());
  // ... and the slave learns from the witness that it may not take over.
  REQUIRE_MESSAGE(pair.slave().wait_for_output("may NOT take over", Ms(15'000), true), pair.slave().log_tail());
  CHECK(connection_refused(pair.slave_stomp()));
  CHECK(pair.slave().log_text().find("PROMOTED") == std::string::npos);
  // Healed, the slave attaches again and is a valid replica again.
  link.thaw();
  const bool resynced = pair.slave().wait_for_count("IN SYNC", 2, Ms(20'000), true) &&
                        pair.master().wait_for_count("names 'slave' as the replica", 2, Ms(20'000), true);
  REQUIRE_MESSAGE(resynced, pair.slave().log_tail());
  // From where it stopped, out of the master's journal: no copy.
  CHECK(pair.slave().wait_for_output("catching up from seq", Ms(5000), true));
  CHECK(pair.slave().log_text().find("PROMOTED") == std::string::npos);
  pair.master().kill(SIGKILL);
  REQUIRE_MESSAGE(pair.wait_takeover(Clock::now(), Ms(15'000)).has_value(), pair.slave().log_tail());
  check_nothing_lost(pair.slave_stomp(), all_of({&before, &during}));
}

TEST_CASE("24 witness: the master cut off from slave and etcd fences itself and tells its clients; the slave takes over") {
  EtcdProcess etcd;
  LinkProxy master_to_etcd(etcd.client_port());
  ReplicaPair pair(witness_pair(etcd_uri(master_to_etcd.port()), etcd_uri(etcd.client_port()), "/twinmq/pairs/iso"));
  pair.start_master();
  LinkProxy link(pair.replication_port());
  pair.start_slave("slave", link.port());
  Confirmed before;
  REQUIRE(send_confirmed(pair.master_stomp(), "before", 20, before).empty());
  RawStomp watcher(pair.master_stomp());
  watcher.connect();
  watcher.subscribe("/queue/idle", "w");
  // A failover client on the master, as applications run: it must end up on the slave.
  const std::string uri = "failover:(tcp://127.0.0.1:" + std::to_string(pair.master_stomp()) +
                          ",tcp://127.0.0.1:" + std::to_string(pair.slave_stomp()) +
                          ")?randomize=false&initialReconnectDelay=10&maxReconnectDelay=100";
  auto app = twinmq::client::FailoverClient::connect(uri, {.timeout = Ms(5000)});
  REQUIRE_MESSAGE(app.has_value(), app.error().message);
  REQUIRE(app->send("/queue/w", "app-before", {.persistent = true}));
  before.add("app-before");

  const auto cut = Clock::now();
  link.freeze();
  master_to_etcd.freeze();
  // A client on the isolated master is told why, within the lease (it must move on).
  auto error = watcher.next_frame(Ms(kLeaseMs + 5000));
  const auto told = Clock::now();
  check_error(error, "not serving", {"stopped serving", "reconnect"});
  CHECK(std::chrono::duration_cast<Ms>(told - cut).count() < kLeaseMs + 1000);
  CHECK(pair.master().wait_for_output("[event=fenced] witness: FENCED", Ms(5000), true));
  // The slave takes over, strictly after the master stopped.
  auto took = pair.wait_takeover(cut, Ms(20'000));
  REQUIRE_MESSAGE(took.has_value(), pair.slave().log_tail());
  const auto took_at = cut + *took;
  CHECK(told < took_at);
  std::printf("[24] isolated master: clients told after %lld ms, slave serving after %lld ms (lease %u ms, link "
              "timeout 800 ms)\n",
              static_cast<long long>(std::chrono::duration_cast<Ms>(told - cut).count()),
              static_cast<long long>(took->count()), kLeaseMs);
  CHECK(connection_refused(pair.master_stomp()));
  // The application's next SEND is confirmed by the slave: its client moved by itself.
  app->set_timeout(Ms(20'000));
  REQUIRE(app->send("/queue/w", "app-after", {.persistent = true}));
  const auto moved = std::chrono::duration_cast<Ms>(Clock::now() - cut);
  CHECK(app->broker() == "tcp://127.0.0.1:" + std::to_string(pair.slave_stomp()));
  std::printf("[24] isolated master: a failover client's SEND confirmed by the slave %lld ms after the cut\n",
              static_cast<long long>(moved.count()));
  Confirmed after;
  after.add("app-after");
  REQUIRE(send_confirmed(pair.slave_stomp(), "after", 10, after).empty());
  check_nothing_lost(pair.slave_stomp(), all_of({&before, &after}));
  // The fenced master refuses new clients: its connector is closed, nothing it holds is lost.
  CHECK(pair.master().running());
}

TEST_CASE("24 witness: the slave cut off from master and etcd — the master serves on alone, the slave never takes over") {
  EtcdProcess etcd;
  LinkProxy slave_to_etcd(etcd.client_port());
  ReplicaPair pair(witness_pair(etcd_uri(etcd.client_port()), etcd_uri(slave_to_etcd.port()), "/twinmq/pairs/siso"));
  pair.start_master();
  LinkProxy link(pair.replication_port());
  pair.start_slave("slave", link.port());
  link.freeze();
  slave_to_etcd.freeze();
  REQUIRE_MESSAGE(pair.master().wait_for_output("now serves ALONE", Ms(15'000), true), pair.master().log_tail());
  Confirmed alone;
  REQUIRE(send_confirmed(pair.master_stomp(), "alone", 20, alone).empty());
  REQUIRE_MESSAGE(pair.slave().wait_for_output("cannot reach the witness", Ms(15'000), true), pair.slave().log_tail());
  CHECK(connection_refused(pair.slave_stomp()));
  CHECK(pair.slave().log_text().find("PROMOTED") == std::string::npos);
  check_nothing_lost(pair.master_stomp(), all_of({&alone}));
}

TEST_CASE("24 witness: the slave killed — the master clears it at the witness and serves alone") {
  EtcdProcess etcd;
  ReplicaPair pair(witness_pair(etcd_uri(etcd.client_port()), etcd_uri(etcd.client_port()), "/twinmq/pairs/skill"));
  pair.start_master();
  pair.start_slave();
  pair.slave().kill(SIGKILL);
  REQUIRE_MESSAGE(pair.master().wait_for_output("now serves ALONE", Ms(15'000), true), pair.master().log_tail());
  Confirmed alone;
  REQUIRE(send_confirmed(pair.master_stomp(), "alone", 20, alone).empty());
  const std::string record = run_etcdctl(etcd.endpoint(), {"get", "/twinmq/pairs/skill/pair", "--print-value-only"});
  CHECK_MESSAGE(record.find("\"replica\":\"\"") != std::string::npos, record);
}

TEST_CASE("24 witness: etcd down while the pair is healthy — both keep their roles, the master keeps confirming") {
  EtcdProcess etcd;
  ReplicaPair pair(witness_pair(etcd_uri(etcd.client_port()), etcd_uri(etcd.client_port()), "/twinmq/pairs/down"));
  pair.start_master();
  pair.start_slave();
  etcd.pause();  // SIGSTOP: connections hang, as with a dead network path
  // Confirmations go on past several leases: the in-sync slave's promise carries the master.
  Confirmed during;
  const auto until = Clock::now() + Ms(3 * kLeaseMs);
  int round = 0;
  while (Clock::now() < until) REQUIRE(send_confirmed(pair.master_stomp(), "r" + std::to_string(round++), 10, during).empty());
  REQUIRE_MESSAGE(pair.master().wait_for_output("cannot reach etcd", Ms(5000), true), pair.master().log_tail());
  CHECK(pair.master().log_text().find("FENCED") == std::string::npos);
  CHECK(connection_refused(pair.slave_stomp()));
  CHECK(pair.status(pair.master_config()).find("UNREACHABLE") != std::string::npos);
  // etcd down AND the slave gone: nothing can keep the master safe; it fences itself.
  RawStomp watcher(pair.master_stomp());
  watcher.connect();
  pair.slave().kill(SIGKILL);
  check_error(watcher.next_frame(Ms(10'000)), "not serving", {});
  // etcd back: the master wins its key again at its own epoch and serves again.
  etcd.resume();
  REQUIRE_MESSAGE(pair.master().wait_for_output("client connectors open again", Ms(15'000), true),
                  pair.master().log_tail());
  Confirmed after;
  const std::string failed_after = send_confirmed(pair.master_stomp(), "after", 10, after);
  REQUIRE_MESSAGE(failed_after.empty(), failed_after << "\n" << pair.master().log_tail());
  check_nothing_lost(pair.master_stomp(), all_of({&during, &after}));
}

TEST_CASE("24 witness: the old master restarted after a takeover refuses to serve (exit 7)") {
  EtcdProcess etcd;
  ReplicaPair pair(witness_pair(etcd_uri(etcd.client_port()), etcd_uri(etcd.client_port()), "/twinmq/pairs/old"));
  pair.start_master();
  pair.start_slave();
  pair.master().kill(SIGKILL);
  REQUIRE(pair.wait_takeover(Clock::now(), Ms(15'000)).has_value());
  auto old = BrokerProcess::spawn({"--config", pair.master_config()});
  auto exit = old->wait_exit(Ms(15'000));
  REQUIRE_MESSAGE(exit.has_value(), old->log_tail());
  CHECK(exit->code == 7);
  CHECK(old->wait_for_output("the slave took over since this data was written", Ms(5000), true));
  CHECK(old->wait_for_output("[event=stale_store]", Ms(5000), true));
  CHECK(old->stdout_text().find("listening stomp") == std::string::npos);
}

TEST_CASE("24 witness: a planned stop of the master releases the key: the slave takes over without waiting for it") {
  EtcdProcess etcd;
  PairSpec spec = witness_pair(etcd_uri(etcd.client_port()), etcd_uri(etcd.client_port()), "/twinmq/pairs/planned");
  spec.witness->lease_ms = 10'000;  // long: a takeover that waited for it would show
  ReplicaPair pair(spec);
  pair.start_master();
  pair.start_slave();
  Confirmed before;
  REQUIRE(send_confirmed(pair.master_stomp(), "before", 20, before).empty());
  const auto t0 = Clock::now();
  pair.master().kill(SIGTERM);
  auto took = pair.wait_takeover(t0, Ms(20'000));
  REQUIRE_MESSAGE(took.has_value(), pair.slave().log_tail());
  CHECK(took->count() < 5000);
  CHECK(pair.master().wait_for_output("lease", Ms(5000), true));
  CHECK(pair.master().wait_for_output("released", Ms(5000), true));
  check_nothing_lost(pair.slave_stomp(), all_of({&before}));
}

TEST_CASE("24 witness: a three-member etcd cluster that loses a member keeps the pair serving and failing over") {
  EtcdCluster cluster;
  ReplicaPair pair(witness_pair(cluster.uri(), cluster.uri(), "/twinmq/pairs/cluster"));
  pair.start_master();
  pair.start_slave();
  cluster.kill(0);  // the first endpoint: the one both brokers talk to
  Confirmed during;
  const auto until = Clock::now() + Ms(2 * kLeaseMs);
  int round = 0;
  while (Clock::now() < until) REQUIRE(send_confirmed(pair.master_stomp(), "r" + std::to_string(round++), 10, during).empty());
  CHECK(pair.master().log_text().find("FENCED") == std::string::npos);
  pair.master().kill(SIGKILL);
  REQUIRE_MESSAGE(pair.wait_takeover(Clock::now(), Ms(15'000)).has_value(), pair.slave().log_tail());
  check_nothing_lost(pair.slave_stomp(), all_of({&during}));
}

TEST_CASE("24 witness: a master cut off from etcd before its first renewal still fences itself before the lease ends") {
  // The deadline must be armed from the moment the key is won, not only by renewals or
  // a slave's promises (there are none yet here).
  EtcdProcess etcd;
  LinkProxy master_to_etcd(etcd.client_port());
  PairSpec spec = witness_pair(etcd_uri(master_to_etcd.port()), etcd_uri(etcd.client_port()), "/twinmq/pairs/early");
  spec.witness->lease_ms = 4000;  // first renewal after 1.3 s: the cut comes well before it
  ReplicaPair pair(spec);
  pair.start_master();
  const auto won = Clock::now();
  master_to_etcd.freeze();
  RawStomp watcher(pair.master_stomp());
  watcher.connect();
  check_error(watcher.next_frame(Ms(10'000)), "not serving", {"stopped serving"});
  const auto told = std::chrono::duration_cast<Ms>(Clock::now() - won).count();
  CHECK_MESSAGE(told < 4000, "told after " << told << " ms, the lease is 4000 ms");
  CHECK(connection_refused(pair.master_stomp()));
}

namespace {

// A link blip of `gap` with events during it: the master gets persistent SENDs (no
// receipt: it would wait for the slave) until the gap has lasted `gap`, then the link
// heals and one receipted SEND on the same connection confirms them all (a receipt is
// released only when the slave has applied everything before it). Returns the bodies.
std::vector<std::string> blip_with_events(LinkProxy& link, std::uint16_t master_stomp, Ms gap, int max_events) {
  RawStomp c(master_stomp);
  c.connect();
  std::vector<std::string> sent;
  link.freeze();
  const auto end = Clock::now() + gap;
  while (Clock::now() < end && static_cast<int>(sent.size()) < max_events) {
    sent.push_back("gap-" + std::to_string(sent.size()));
    c.send_frame("SEND", {{"destination", "/queue/w"}, {"persistent", "true"}}, sent.back());
  }
  // The fault's own length (not a wait for something to happen): the link stays cut.
  std::this_thread::sleep_until(end);
  link.thaw();
  sent.push_back("after-gap");
  c.send("/queue/w", sent.back(), {{"persistent", "true"}});  // waits for its RECEIPT
  return sent;
}

}  // namespace

TEST_CASE("24 witness: a 1 s link blip (under replicationLinkTimeout) — nothing is dropped, no takeover, events during it arrive") {
  EtcdProcess etcd;
  PairSpec spec = witness_pair(etcd_uri(etcd.client_port()), etcd_uri(etcd.client_port()), "/twinmq/pairs/blip1");
  spec.link_timeout_ms = 3000;
  spec.heart_beat_ms = 200;
  ReplicaPair pair(spec);
  pair.start_master();
  LinkProxy link(pair.replication_port());
  pair.start_slave("slave", link.port());
  Confirmed before;
  REQUIRE(send_confirmed(pair.master_stomp(), "before", 10, before).empty());
  const auto gap = blip_with_events(link, pair.master_stomp(), Ms(1000), 200);
  // The link rode it out: the slave was never dropped, never copied again, never promoted.
  const std::string mlog = pair.master().log_text();
  CHECK(mlog.find("[event=slave_dropped]") == std::string::npos);
  CHECK(mlog.find("serves ALONE") == std::string::npos);
  CHECK(pair.slave().log_text().find("PROMOTED") == std::string::npos);
  CHECK(connection_refused(pair.slave_stomp()));
  pair.master().kill(SIGKILL);
  REQUIRE_MESSAGE(pair.wait_takeover(Clock::now(), Ms(15'000)).has_value(), pair.slave().log_tail());
  std::vector<std::string> all = before.bodies;
  all.insert(all.end(), gap.begin(), gap.end());
  check_nothing_lost(pair.slave_stomp(), all);
}

TEST_CASE("24 witness: a 20 s link blip — the master serves alone, the slave stays closed, then catches up from the journal") {
  EtcdProcess etcd;
  ReplicaPair pair(witness_pair(etcd_uri(etcd.client_port()), etcd_uri(etcd.client_port()), "/twinmq/pairs/blip20"));
  pair.start_master();
  LinkProxy link(pair.replication_port());
  pair.start_slave("slave", link.port());
  Confirmed before;
  REQUIRE(send_confirmed(pair.master_stomp(), "before", 10, before).empty());
  const auto gap = blip_with_events(link, pair.master_stomp(), Ms(20'000), 2000);
  CHECK(pair.master().wait_for_output("now serves ALONE", Ms(5000), true));
  CHECK(pair.slave().wait_for_output("may NOT take over", Ms(5000), true));
  // Healed: back in sync out of the master's journal, never promoted meanwhile.
  REQUIRE_MESSAGE(pair.slave().wait_for_count("IN SYNC", 2, Ms(20'000), true), pair.slave().log_tail());
  CHECK(pair.slave().wait_for_output("catching up from seq", Ms(5000), true));
  CHECK(pair.slave().log_text().find("PROMOTED") == std::string::npos);
  REQUIRE(pair.master().wait_for_count("names 'slave' as the replica", 2, Ms(20'000), true));
  pair.master().kill(SIGKILL);
  REQUIRE_MESSAGE(pair.wait_takeover(Clock::now(), Ms(15'000)).has_value(), pair.slave().log_tail());
  std::vector<std::string> all = before.bodies;
  all.insert(all.end(), gap.begin(), gap.end());
  check_nothing_lost(pair.slave_stomp(), all);
}
