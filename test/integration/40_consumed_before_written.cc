// 40 — consumed before written (README "Consumed before written"): a persistent SEND
// that an auto-acknowledging consumer takes in the turn it arrives is neither written
// nor mirrored. Under receipted load with consumers attached (one auto-ack, one
// client-individual that acknowledges every other message without a receipt), kill -9
// hits the master, the slave, or both, inside that window. Every receipted message must
// then be either consumed and acknowledged before the kill or there after the restart
// or failover; nothing is delivered twice before the kill, nothing twice after it, and a
// message that comes back after a failover comes flagged redelivered.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common.h"
#include "replication_support.h"

using namespace twinmq::test;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kProducers = 3;
constexpr int kBeforeKill = 150;  // receipts per producer before the kill

// What the clients saw before the kill.
struct Seen {
  std::mutex mu;
  std::vector<std::vector<std::string>> receipted = std::vector<std::vector<std::string>>(kProducers);
  std::vector<std::string> auto_got;     // auto ack: consumed and acknowledged on delivery
  std::vector<std::string> held_got;     // client-individual: delivered
  std::set<std::string> held_acked;      // ... and acknowledged (ACK sent, no receipt)
  struct Delivery {
    bool auto_ack;
    bool redelivered;
  };
  std::map<std::string, std::vector<Delivery>> deliveries;  // every delivery, in order
  std::vector<std::string> errors = std::vector<std::string>(kProducers);
};

// Sends "<prefix><id>-<n>" with a receipt each until the connection breaks or `stop`.
void produce(int id, std::uint16_t port, const std::string& prefix, std::atomic<int>& count, std::atomic<bool>& stop,
             Seen& seen) {
  try {
    RawStomp c(port);
    c.connect();
    for (int n = 0; !stop; ++n) {
      const std::string body = prefix + std::to_string(id) + "-" + std::to_string(n);
      c.send("/queue/load", body, {{"persistent", "true"}});
      {
        std::lock_guard lk(seen.mu);
        seen.receipted[id].push_back(body);
      }
      ++count;
    }
  } catch (const std::exception&) {
    // The broker went: what was receipted so far is what counts.
  }
}

// Consumes until the connection breaks or `stop`: auto ack, or client-individual with
// every other message acknowledged (no receipt asked). What the broker delivered before
// it stopped delivering (UNSUBSCRIBE, or the kill) is read to the end: with auto ack a
// delivered message is consumed, so leaving one unread would look like a loss.
void consume(std::uint16_t port, bool client_ack, std::atomic<bool>& ready, std::atomic<bool>& stop, Seen& seen) {
  std::unique_ptr<RawStomp> c;
  int n = 0;
  auto record = [&](const ReceivedFrame& f, bool may_ack) {
    if (f.command != "MESSAGE") return;
    std::lock_guard lk(seen.mu);
    seen.deliveries[f.body].push_back(Seen::Delivery{!client_ack, f["redelivered"] == "true"});
    if (!client_ack) {
      seen.auto_got.push_back(f.body);
      return;
    }
    seen.held_got.push_back(f.body);
    if (may_ack && n++ % 2 == 0) {
      c->send_frame("ACK", {{"id", f["ack"]}});
      seen.held_acked.insert(f.body);
    }
  };
  try {
    c = std::make_unique<RawStomp>(port);
    c->connect();
    c->subscribe("/queue/load", "s", client_ack ? "client-individual" : "auto", {{"activemq.prefetchSize", "100000"}});
    ready = true;
    while (!stop && !c->closed()) {
      auto f = c->next_frame(Ms(100));
      if (f) record(*f, true);
    }
    if (!c->closed()) {
      for (const auto& f : c->sync()) record(f, false);
      c->request("UNSUBSCRIBE", {{"id", "s"}});
    }
  } catch (const std::exception&) {
    // The broker went: what it sent before is still to be read.
  }
  if (!c) return;
  try {
    while (auto f = c->next_frame(Ms(200))) record(*f, false);
  } catch (const std::exception&) {
  }
}

// Producers and consumers on `port` until `kill` (called once enough receipts came).
void load_then(std::uint16_t port, const std::string& prefix, Seen& seen, const std::function<void()>& kill) {
  std::atomic<bool> stop{false}, auto_ready{false}, held_ready{false};
  std::atomic<int> count{0};
  std::vector<std::thread> threads;
  threads.emplace_back([&] { consume(port, false, auto_ready, stop, seen); });
  threads.emplace_back([&] { consume(port, true, held_ready, stop, seen); });
  REQUIRE(wait_until(std::chrono::seconds(10), [&] { return auto_ready && held_ready; }, "consumers subscribed"));
  for (int i = 0; i < kProducers; ++i)
    threads.emplace_back([&, i] { produce(i, port, prefix, count, stop, seen); });
  const bool enough = wait_until(std::chrono::seconds(30), [&] { return count >= kProducers * kBeforeKill; },
                                 "receipts before the kill");
  kill();
  stop = true;
  for (auto& t : threads) t.join();
  REQUIRE(enough);
}

// "journal: N sends consumed before written" of `twinmq status`, 0 if absent.
std::uint64_t cancelled_in(const std::string& status) {
  const std::string key = "journal: ";
  for (std::size_t at = status.find(key); at != std::string::npos; at = status.find(key, at + 1)) {
    const std::size_t end = status.find(" sends consumed before written", at);
    const std::size_t eol = status.find('\n', at);
    if (end != std::string::npos && end < eol) return std::stoull(status.substr(at + key.size(), end - at - key.size()));
  }
  return 0;
}

// The promise, checked against what is on `port` now.
void check_promise(Seen& seen, std::uint16_t port, bool failover) {
  std::vector<std::string> receipted;
  for (const auto& r : seen.receipted) receipted.insert(receipted.end(), r.begin(), r.end());
  std::set<std::string> consumed(seen.auto_got.begin(), seen.auto_got.end());
  consumed.insert(seen.held_acked.begin(), seen.held_acked.end());
  std::vector<std::string> required;
  for (const auto& b : receipted)
    if (!consumed.contains(b)) required.push_back(b);
  Drained drained = drain_required(port, "/queue/load", required);
  std::map<std::string, int>& after = drained.times;
  std::map<std::string, bool>& redelivered = drained.redelivered;
  // 1. Every receipted message was consumed and acknowledged, or is still there.
  CHECK_MESSAGE(drained.missing == 0,
                drained.missing << " receipted messages neither consumed nor kept, e.g. " << drained.example);
  // 2. Nothing twice: before the kill a message comes again only as a flagged
  //    redelivery (a client-individual consumer that left holding it unacknowledged);
  //    after it, once.
  std::map<std::string, int> before;
  for (const auto& [b, flags] : seen.deliveries) {
    before[b] = static_cast<int>(flags.size());
    for (std::size_t i = 1; i < flags.size(); ++i) {
      CHECK_MESSAGE(flags[i].redelivered, b << " delivered again before the kill without redelivered:true");
      CHECK_MESSAGE(!flags[i - 1].auto_ack, b << " was consumed with auto ack and delivered again before the kill");
    }
  }
  for (const auto& [b, n] : after) CHECK_MESSAGE(n == 1, b << " delivered " << n << " times after the kill");
  // 3. Delivered before and again after: only a flagged redelivery of a failover (the
  //    slave had not yet applied the removal, or the ACK had not arrived).
  std::size_t again = 0;
  for (const auto& [b, n] : after) {
    if (!before.contains(b)) continue;
    ++again;
    if (failover) CHECK_MESSAGE(redelivered[b], b << " delivered again after the failover without redelivered:true");
  }
  MESSAGE("[40] receipted " << receipted.size() << ", consumed before the kill " << consumed.size()
                             << ", drained after " << drained.frames.size() << " (" << again << " of them delivered before)");
  CHECK(receipted.size() >= static_cast<std::size_t>(kProducers * kBeforeKill));
}

// Runs the load and kills the master once it is under way; returns how many SENDs the
// broker of `status_config` had counted as cancelled just before the kill.
std::uint64_t load_then_kill_master(ReplicaPair& pair, const std::string& prefix, Seen& seen,
                                    const std::string& status_config) {
  std::uint64_t cancelled = 0;
  load_then(pair.master_stomp(), prefix, seen, [&] {
    cancelled = cancelled_in(pair.status(status_config));
    pair.master().kill(SIGKILL);
  });
  return cancelled;
}

}  // namespace

TEST_CASE("40 consumed before written: kill -9 of the master under load with consumers (5 rounds); the slave takes over holding every receipted message not consumed") {
  for (int round = 0; round < 5; ++round) {
    CAPTURE(round);
    ReplicaPair pair;
    pair.start_master();
    pair.start_slave();
    Seen seen;
    const std::uint64_t cancelled = load_then_kill_master(pair, "a", seen, pair.master_config());
    CHECK_MESSAGE(cancelled > 0, "no SEND was cancelled: the test did not reach the window");
    REQUIRE_MESSAGE(pair.wait_takeover(Clock::now(), Ms(10'000)).has_value(), pair.slave().log_tail());
    check_promise(seen, pair.slave_stomp(), true);
  }
}

TEST_CASE("40 consumed before written: kill -9 of a broker serving alone under load; after the restart every receipted message not consumed is there") {
  ReplicaPair pair;
  pair.start_master();  // no slave ever: no pairing note, it restarts serving
  Seen seen;
  const std::uint64_t cancelled = load_then_kill_master(pair, "b", seen, pair.master_config());
  CHECK_MESSAGE(cancelled > 0, "no SEND was cancelled: the test did not reach the window");
  REQUIRE(pair.master().wait_exit(Ms(5000)).has_value());
  pair.master_ptr() = pair.start_config("master.xml", pair.master_xml());
  REQUIRE_MESSAGE(pair.master().wait_listening("stomp", Ms(15'000)), pair.master().log_tail());
  check_promise(seen, pair.master_stomp(), false);
}

TEST_CASE("40 consumed before written: kill -9 of the slave under load, it rejoins, then kill -9 of the master; nothing receipted lost") {
  ReplicaPair pair;
  pair.start_master();
  pair.start_slave();
  Seen seen;
  // 1. The slave dies in the middle; the master goes on alone (minimumReplicas="0").
  load_then(pair.master_stomp(), "c", seen, [&] { pair.slave().kill(SIGKILL); });
  REQUIRE(pair.slave().wait_exit(Ms(5000)).has_value());
  // 2. It comes back and gets in sync while the load goes on.
  std::unique_ptr<BrokerProcess> restarted;
  bool in_sync = false;
  load_then(pair.master_stomp(), "d", seen, [&] {
    restarted = pair.start_config("slave.xml", pair.slave_xml("slave", pair.replication_port(), pair.slave_stomp()));
    in_sync = restarted->wait_for_output("IN SYNC", Ms(20'000), true);
  });
  REQUIRE_MESSAGE(in_sync, restarted->log_tail());
  pair.slave_ptr() = std::move(restarted);
  // 3. Then the master dies in the middle of more of it.
  const std::uint64_t cancelled = load_then_kill_master(pair, "e", seen, pair.slave_config());
  CHECK_MESSAGE(cancelled > 0, "the slave was sent no cancelled SEND: the test did not reach the window");
  REQUIRE_MESSAGE(pair.wait_takeover(Clock::now(), Ms(10'000)).has_value(), pair.slave().log_tail());
  check_promise(seen, pair.slave_stomp(), true);
}
