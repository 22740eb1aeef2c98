// 38 — the old master rejoins the broker that took over by CATCHING UP across the epoch
// boundary (replication/handshake.h "ACROSS AN EPOCH BOUNDARY"), not by a full copy:
// after a takeover with a large store it streams only what the promoted broker did
// since, its store enters the promoted broker's epoch at the same record, and the two
// stores hold one history (compare-stores both ways, verify-store) with every receipted
// message exactly once. When a catch-up cannot be proven safe it falls back to the full
// copy, and both logs say which and why.
#include <signal.h>

#include <map>
#include <string>
#include <vector>

#include "common.h"
#include "replication_support.h"

using namespace twinmq::test;
using Clock = std::chrono::steady_clock;

namespace {

// `n` persistent 1 KiB messages, pipelined, the last one receipted (which covers them all).
std::vector<std::string> fill(std::uint16_t port, const std::string& prefix, int n) {
  RawStomp c(port);
  c.connect();
  const std::string pad(1000, 'x');
  std::vector<std::string> sent;
  for (int i = 0; i < n; ++i) {
    sent.push_back(prefix + std::to_string(i) + pad);
    if (i + 1 < n)
      c.send_frame("SEND", {{"destination", "/queue/rc"}, {"persistent", "true"}}, sent.back());
    else
      c.request("SEND", {{"destination", "/queue/rc"}, {"persistent", "true"}}, sent.back());
  }
  return sent;
}

std::string rejoin_uri(BrokerProcess& promoted) {
  REQUIRE_MESSAGE(promoted.wait_listening("replication", Ms(10'000)), promoted.log_tail());
  return "tcp://127.0.0.1:" + std::to_string(promoted.port("replication"));
}

int run(std::vector<std::string> args, std::string* out = nullptr) {
  auto p = BrokerProcess::spawn(std::move(args));
  const auto e = p->wait_exit(Ms(60'000));
  p->wait_output_eof(Ms(2000));
  if (out != nullptr) *out = p->stdout_text() + p->log_text();
  return e ? e->code : -1;
}

}  // namespace

TEST_CASE("38 rejoin catch-up: after a takeover the old master of a large store catches up across the epoch boundary; one history, every receipted message once") {
  PairSpec spec;
  spec.slave_replication_listener = true;
  ReplicaPair pair(spec);
  pair.start_master();
  pair.start_slave();
  auto confirmed = fill(pair.master_stomp(), "a", 20'000);
  pair.master().kill(SIGKILL);
  pair.master().wait_exit(Ms(5000));
  REQUIRE(pair.wait_takeover(Clock::now(), Ms(15'000)).has_value());
  const std::string uri = rejoin_uri(pair.slave());
  auto more = fill(pair.slave_stomp(), "b", 300);
  confirmed.insert(confirmed.end(), more.begin(), more.end());

  auto old = BrokerProcess::spawn({"--config", pair.master_config(), "--rejoin", uri});
  REQUIRE_MESSAGE(old->wait_for_output("IN SYNC", Ms(30'000), true), old->log_tail());
  CHECK_MESSAGE(old->wait_for_output("[event=rejoin_catch_up]", Ms(5000), true), old->log_tail());
  CHECK(old->wait_for_output("this store enters epoch", Ms(5000), true));
  CHECK(pair.slave().wait_for_output("CATCHES UP ACROSS THE EPOCH BOUNDARY", Ms(5000), true));
  CHECK(old->log_text().find("replacing this slave's state") == std::string::npos);  // no copy
  // Live events after the catch-up follow as usual.
  more = fill(pair.slave_stomp(), "c", 100);
  confirmed.insert(confirmed.end(), more.begin(), more.end());

  // Stopped (the slave first, so the promoted broker does not hand over): one history.
  old->kill(SIGTERM);
  REQUIRE(old->wait_exit(Ms(15'000)).has_value());
  pair.slave().kill(SIGTERM);
  REQUIRE(pair.slave().wait_exit(Ms(15'000)).has_value());
  const std::string a = pair.data("master").string(), b = pair.data("slave").string();
  std::string out;
  CHECK_MESSAGE(run({"compare-stores", b, a}, &out) == 0, out);
  CHECK_MESSAGE(run({"compare-stores", a, b}, &out) == 0, out);
  CHECK_MESSAGE(run({"verify-store", a}, &out) == 0, out);
  CHECK_MESSAGE(run({"verify-store", b}, &out) == 0, out);

  // The old master's store, served on its own: every receipted message exactly once.
  auto alone = BrokerProcess::spawn({"--config", pair.master_config()});
  REQUIRE_MESSAGE(alone->wait_listening("stomp", Ms(30'000)), alone->log_tail());
  const auto got = bodies_of(drain(alone->port("stomp"), "/queue/rc", confirmed.size()));
  std::map<std::string, int> seen;
  for (const auto& body : got) ++seen[body];
  std::size_t wrong = 0;
  for (const auto& body : confirmed) wrong += seen[body] == 1 ? 0 : 1;
  CHECK_MESSAGE(wrong == 0, wrong << " receipted messages not there exactly once");
  CHECK(got.size() == confirmed.size());
}

TEST_CASE("38 rejoin catch-up: falls back to the full copy when the promoted broker holds what a journal cannot carry, and says why") {
  PairSpec spec;
  spec.slave_replication_listener = true;
  ReplicaPair pair(spec);
  pair.start_master();
  pair.start_slave();
  auto confirmed = fill(pair.master_stomp(), "a", 200);
  pair.master().kill(SIGKILL);
  pair.master().wait_exit(Ms(5000));
  REQUIRE(pair.wait_takeover(Clock::now(), Ms(15'000)).has_value());
  const std::string uri = rejoin_uri(pair.slave());
  {
    RawStomp c(pair.slave_stomp());
    c.connect();
    c.send("/queue/np", "only in memory");  // non-persistent: only a copy carries it
  }
  auto old = BrokerProcess::spawn({"--config", pair.master_config(), "--rejoin", uri});
  REQUIRE_MESSAGE(old->wait_for_output("IN SYNC", Ms(30'000), true), old->log_tail());
  CHECK(pair.slave().wait_for_output("[event=rejoin_full_copy]", Ms(5000), true));
  CHECK_MESSAGE(pair.slave().log_text().find("non-persistent") != std::string::npos, pair.slave().log_tail());
  pair.slave().kill(SIGKILL);
  REQUIRE_MESSAGE(old->wait_listening("stomp", Ms(15'000)), old->log_tail());
  const auto got = bodies_of(drain(old->port("stomp"), "/queue/rc", confirmed.size()));
  CHECK(got == confirmed);
  CHECK(bodies_of(drain(old->port("stomp"), "/queue/np", 1)) == std::vector<std::string>{"only in memory"});
}
