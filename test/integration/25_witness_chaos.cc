// 25 — chaos against the pair with a witness: many rounds, each a fresh pair under load
// (an application's FailoverClient plus one probe client pinned to each broker) and
// one random fault: kill -9 or SIGSTOP of either broker, a cut replication link, the
// master or the slave cut off from link and etcd, an etcd member killed. After each
// round: the two brokers never confirmed at the same time (every receipt the master
// gave precedes every receipt the slave gave), and the broker that serves at the end
// holds every message either of them confirmed.
//
// TWINMQ_CHAOS_ROUNDS (default 8: every fault once) and TWINMQ_CHAOS_SEED (default: from the clock,
// printed) reproduce or extend a run: `TWINMQ_CHAOS_ROUNDS=100 ... -tc="25*"`.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <twinmq/failover.h>
#include <vector>

#include "common.h"
#include "replication_support.h"
#include "support/etcd_process.h"

using namespace twinmq::test;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint32_t kLeaseMs = 2000;

enum class Fault { kill_master, stop_master, cut_link, isolate_master, isolate_slave, kill_slave, stop_slave, etcd_member };
constexpr Fault kFaults[] = {Fault::kill_master,   Fault::stop_master,   Fault::cut_link,   Fault::isolate_master,
                             Fault::isolate_slave, Fault::kill_slave,    Fault::stop_slave, Fault::etcd_member};

const char* name(Fault f) {
  switch (f) {
    case Fault::kill_master: return "kill -9 master";
    case Fault::stop_master: return "SIGSTOP master past the lease";
    case Fault::cut_link: return "cut the replication link";
    case Fault::isolate_master: return "cut the master off from slave and etcd";
    case Fault::isolate_slave: return "cut the slave off from master and etcd";
    case Fault::kill_slave: return "kill -9 slave";
    case Fault::stop_slave: return "SIGSTOP slave past the link timeout";
    case Fault::etcd_member: return "kill an etcd member";
  }
  return "?";
}

// Does the slave end up serving after this fault?
bool slave_takes_over(Fault f) {
  return f == Fault::kill_master || f == Fault::stop_master || f == Fault::isolate_master;
}

struct Receipt {
  std::string body;
  Clock::time_point at;
};

// Receipts seen, per broker (0 master, 1 slave), from every client of the round.
struct Ledger {
  std::mutex mu;
  std::vector<Receipt> by[2];
  void add(int broker, std::string body) {
    std::lock_guard lk(mu);
    by[broker].push_back({std::move(body), Clock::now()});
  }
};

// A client pinned to one broker: connects (again and again, refused or closed), sends
// receipted persistent messages, records each receipt.
void probe(std::uint16_t port, int broker, const std::string& prefix, std::atomic<bool>& stop, Ledger& ledger) {
  int n = 0;
  while (!stop) {
    try {
      RawStomp c(port);
      c.connect();
      while (!stop) {
        const std::string body = prefix + "-" + std::to_string(n++);
        c.send("/queue/chaos", body, {{"persistent", "true"}});
        ledger.add(broker, body);
      }
    } catch (const std::exception&) {
      // refused, closed or fenced: try again shortly
    }
    if (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a retry pace, not a synchronisation
  }
}

// The application: a FailoverClient over both brokers.
void application(const std::string& uri, std::uint16_t slave_port, std::atomic<bool>& stop, Ledger& ledger,
                 std::string& failure) {
  auto c = twinmq::client::FailoverClient::connect(uri, {.timeout = Ms(5000)});
  if (!c) {
    failure = "FailoverClient::connect: " + c.error().message;
    return;
  }
  c->set_timeout(Ms(30'000));
  const std::string slave = "tcp://127.0.0.1:" + std::to_string(slave_port);
  for (int n = 0; !stop; ++n) {
    const std::string body = "app-" + std::to_string(n);
    if (auto r = c->send("/queue/chaos", body, {.persistent = true}); !r) {
      failure = "application SEND " + body + ": " + r.error().message;
      return;
    }
    ledger.add(c->broker() == slave ? 1 : 0, body);
  }
}

std::string uri_of(const std::vector<std::unique_ptr<LinkProxy>>& proxies) {
  std::string uri = "etcd://";
  for (std::size_t i = 0; i < proxies.size(); ++i)
    uri += (i ? "," : "") + std::string("127.0.0.1:") + std::to_string(proxies[i]->port());
  return uri;
}

}  // namespace

TEST_CASE("25 witness chaos: random faults against a loaded pair never make two servers and never lose a receipt") {
  const int rounds = std::getenv("TWINMQ_CHAOS_ROUNDS") ? std::atoi(std::getenv("TWINMQ_CHAOS_ROUNDS")) : 8;
  const auto seed = std::getenv("TWINMQ_CHAOS_SEED")
                        ? std::strtoull(std::getenv("TWINMQ_CHAOS_SEED"), nullptr, 10)
                        : static_cast<unsigned long long>(Clock::now().time_since_epoch().count());
  std::printf("[25] chaos: %d rounds, TWINMQ_CHAOS_SEED=%llu\n", rounds, seed);
  std::mt19937_64 rng(seed);
  EtcdCluster etcd;
  int counts[std::size(kFaults)] = {};

  for (int round = 0; round < rounds; ++round) {
    // The first rounds go through every fault once, then at random.
    const std::size_t pick =
        static_cast<std::size_t>(round) < std::size(kFaults) ? static_cast<std::size_t>(round) : rng() % std::size(kFaults);
    const Fault fault = kFaults[pick];
    ++counts[pick];
    INFO("round " << round << ": " << name(fault) << " (seed " << seed << ")");
    // Each broker reaches every etcd member through a proxy of its own (to cut it off).
    std::vector<std::unique_ptr<LinkProxy>> to_etcd[2];
    for (int b = 0; b < 2; ++b)
      for (std::uint16_t p : etcd.client_ports()) to_etcd[b].push_back(std::make_unique<LinkProxy>(p));
    PairSpec spec;
    spec.witness = WitnessSpec{uri_of(to_etcd[0]), uri_of(to_etcd[1]), "/twinmq/chaos/" + std::to_string(round),
                               kLeaseMs};
    ReplicaPair pair(spec);
    pair.start_master();
    LinkProxy link(pair.replication_port());
    pair.start_slave("slave", link.port());

    Ledger ledger;
    std::atomic<bool> stop{false};
    std::string app_failure;
    const std::string uri = "failover:(tcp://127.0.0.1:" + std::to_string(pair.master_stomp()) +
                            ",tcp://127.0.0.1:" + std::to_string(pair.slave_stomp()) +
                            ")?randomize=false&initialReconnectDelay=10&maxReconnectDelay=100";
    std::vector<std::thread> clients;
    clients.emplace_back(probe, pair.master_stomp(), 0, "pm" + std::to_string(round), std::ref(stop), std::ref(ledger));
    clients.emplace_back(probe, pair.slave_stomp(), 1, "ps" + std::to_string(round), std::ref(stop), std::ref(ledger));
    clients.emplace_back(application, uri, pair.slave_stomp(), std::ref(stop), std::ref(ledger), std::ref(app_failure));
    auto stop_clients = [&] {
      stop = true;
      for (auto& t : clients) t.join();
      clients.clear();
    };
    auto by_master = [&] {
      std::lock_guard lk(ledger.mu);
      return ledger.by[0].size();
    };
    // Some load before the fault.
    for (const auto until = Clock::now() + Ms(10'000); by_master() < 50 && Clock::now() < until;)
      std::this_thread::sleep_for(Ms(10));

    const auto t0 = Clock::now();
    bool settled = false;
    std::size_t killed_member = 0;
    switch (fault) {
      case Fault::kill_master:
        pair.master().kill(SIGKILL);
        settled = pair.wait_takeover(t0, Ms(20'000)).has_value();
        break;
      case Fault::stop_master:
        pair.master().kill(SIGSTOP);
        settled = pair.wait_takeover(t0, Ms(20'000)).has_value();
        pair.master().kill(SIGCONT);
        // Resumed past its deadline: it must not serve (it fences, then finds itself stale).
        settled = settled && pair.master().wait_for_output("FENCED", Ms(10'000), true);
        break;
      case Fault::cut_link:
        link.freeze();
        settled = pair.master().wait_for_output("now serves ALONE", Ms(20'000), true) &&
                  pair.slave().wait_for_output("may NOT take over", Ms(20'000), true);
        break;
      case Fault::isolate_master:
        link.freeze();
        for (auto& p : to_etcd[0]) p->freeze();
        settled = pair.wait_takeover(t0, Ms(20'000)).has_value() &&
                  pair.master().wait_for_output("FENCED", Ms(10'000), true);
        break;
      case Fault::isolate_slave:
        link.freeze();
        for (auto& p : to_etcd[1]) p->freeze();
        settled = pair.master().wait_for_output("now serves ALONE", Ms(20'000), true);
        break;
      case Fault::kill_slave:
        pair.slave().kill(SIGKILL);
        settled = pair.master().wait_for_output("now serves ALONE", Ms(20'000), true);
        break;
      case Fault::stop_slave:
        pair.slave().kill(SIGSTOP);
        settled = pair.master().wait_for_output("now serves ALONE", Ms(20'000), true);
        pair.slave().kill(SIGCONT);
        break;
      case Fault::etcd_member:
        killed_member = rng() % etcd.size();
        etcd.kill(killed_member);
        settled = true;
        break;
    }
    // Load goes on across the new state for a while (two leases).
    const auto after = Clock::now() + Ms(2 * kLeaseMs);
    while (Clock::now() < after) std::this_thread::sleep_for(Ms(50));
    stop_clients();
    CHECK_MESSAGE(settled, "the pair did not reach the expected state; master:\n"
                               << pair.master().log_tail() << "\nslave:\n" << pair.slave().log_tail());
    CHECK_MESSAGE(app_failure.empty(), app_failure);

    // The invariant: never both confirming. Every receipt from the master precedes every
    // receipt from the slave (a slave that never served gave none).
    const bool master_gave = !ledger.by[0].empty(), slave_gave = !ledger.by[1].empty();
    if (master_gave && slave_gave) {
      Clock::time_point last_master = Clock::time_point::min(), first_slave = Clock::time_point::max();
      for (const auto& r : ledger.by[0]) last_master = std::max(last_master, r.at);
      for (const auto& r : ledger.by[1]) first_slave = std::min(first_slave, r.at);
      CHECK_MESSAGE(last_master < first_slave, "both brokers confirmed at the same time: the master's last receipt "
                                                   << std::chrono::duration_cast<Ms>(last_master - first_slave).count()
                                                   << " ms after the slave's first");
    }
    CHECK(slave_gave == slave_takes_over(fault));

    // Nothing confirmed is lost: the broker that serves now holds every receipted body.
    std::vector<std::string> confirmed;
    for (const auto& side : ledger.by)
      for (const auto& r : side) confirmed.push_back(r.body);
    const std::uint16_t serving = slave_takes_over(fault) ? pair.slave_stomp() : pair.master_stomp();
    std::set<std::string> got;
    for (const auto& f : drain_until(serving, "/queue/chaos", confirmed)) got.insert(f.body);
    std::size_t lost = 0;
    for (const auto& b : confirmed)
      if (!got.contains(b) && ++lost <= 3) FAIL_CHECK("confirmed message lost: " << b);
    CHECK_MESSAGE(lost == 0, lost << " of " << confirmed.size() << " confirmed messages lost");
    std::printf("[25] round %d: %-40s %5zu receipts from the master, %5zu from the slave, took %lld ms\n", round,
                name(fault), ledger.by[0].size(), ledger.by[1].size(),
                static_cast<long long>(std::chrono::duration_cast<Ms>(Clock::now() - t0).count()));
    if (fault == Fault::etcd_member) etcd.restart(killed_member);
  }
  std::printf("[25] chaos done: %d rounds;", rounds);
  for (std::size_t i = 0; i < std::size(kFaults); ++i) std::printf(" %s: %d;", name(kFaults[i]), counts[i]);
  std::printf("\n");
}
