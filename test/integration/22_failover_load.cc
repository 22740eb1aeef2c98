// 22 — failover under load: producers send persistent messages with receipts without
// pause; the master is killed (-9) in the middle; they fail over to the slave and go
// on. Nothing whose RECEIPT a producer saw may be missing on the slave. Ten rounds, a
// fresh pair each (no failback: the promoted slave is a standalone master).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <thread>

#include "common.h"
#include "replication_support.h"

using namespace twinmq::test;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kRounds = 10;
constexpr int kProducers = 3;
constexpr int kBeforeKill = 40;  // receipts per producer before the master is killed
constexpr int kAfter = 15;       // receipts per producer on the slave afterwards

// One producer: sends "p<id>-<n>" with receipts to `first`; when that connection
// breaks, reconnects to `second` (waiting for it to listen) and goes on. A SEND whose
// RECEIPT did not arrive is not counted (it may or may not be on the slave).
void produce(int id, std::uint16_t first, std::function<std::uint16_t()> second, std::atomic<int>& before,
             std::vector<std::string>& receipted, std::string& error) {
  std::unique_ptr<RawStomp> c;
  try {
    c = std::make_unique<RawStomp>(first);
    c->connect();
  } catch (const std::exception& e) {
    error = e.what();
    return;
  }
  bool failed_over = false;
  int after = 0;
  for (int n = 0; after < kAfter; ++n) {
    const std::string body = "p" + std::to_string(id) + "-" + std::to_string(n);
    try {
      c->send("/queue/load", body, {{"persistent", "true"}});
      receipted.push_back(body);
      if (failed_over) {
        ++after;
      } else {
        ++before;
      }
    } catch (const std::exception&) {
      if (failed_over) {
        error = "the slave broke the connection too";
        return;
      }
      failed_over = true;
      try {
        c = std::make_unique<RawStomp>(second());
        c->connect();
      } catch (const std::exception& e) {
        error = std::string("cannot fail over: ") + e.what();
        return;
      }
    }
  }
}

}  // namespace

TEST_CASE("22 failover load: 10 rounds of kill -9 under receipted persistent load lose nothing receipted") {
  std::vector<long long> times;
  for (int round = 0; round < kRounds; ++round) {
    CAPTURE(round);
    ReplicaPair pair;
    pair.start_master();
    pair.start_slave();
    std::atomic<int> before{0};
    std::vector<std::vector<std::string>> receipted(kProducers);
    std::vector<std::string> errors(kProducers);
    std::atomic<bool> promoted{false};
    std::mutex mu;
    auto slave_port = [&]() -> std::uint16_t {
      std::lock_guard lk(mu);
      // (No assertions off the test thread: a port nobody listens on fails the connect.)
      if (!promoted) promoted = pair.slave().wait_listening("stomp", Ms(5000));
      return promoted ? pair.slave_stomp() : std::uint16_t{1};
    };
    std::vector<std::thread> threads;
    const std::uint16_t master_port = pair.master_stomp();
    for (int i = 0; i < kProducers; ++i)
      threads.emplace_back([&, i] { produce(i, master_port, slave_port, before, receipted[i], errors[i]); });
    REQUIRE(wait_until(std::chrono::seconds(20), [&] { return before.load() >= kProducers * kBeforeKill; },
                       "receipts before the kill"));
    const auto t0 = Clock::now();
    pair.master().kill(SIGKILL);
    auto took = pair.wait_takeover(t0, Ms(5000));
    REQUIRE_MESSAGE(took.has_value(), pair.slave().log_tail());
    times.push_back(took->count());
    for (auto& t : threads) t.join();
    for (const auto& e : errors) CHECK_MESSAGE(e.empty(), e);
    Tally tally;
    for (const auto& r : receipted) tally.receipted.insert(tally.receipted.end(), r.begin(), r.end());
    tally.received = bodies_of(drain_until(pair.slave_stomp(), "/queue/load", tally.receipted));
    const auto missing = tally.missing();
    CHECK_MESSAGE(missing.empty(), missing.size() << " receipted messages missing after failover, e.g. "
                                                  << (missing.empty() ? "" : missing.front()));
  }
  std::sort(times.begin(), times.end());
  std::printf("[22] failover under load, kill -9 to slave listening, %d rounds: min %lld ms, median %lld ms, max "
              "%lld ms\n",
              kRounds, times.front(), times[times.size() / 2], times.back());
  CHECK(times[times.size() / 2] < 1000);
}
