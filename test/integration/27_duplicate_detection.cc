// 27 — duplicate detection across a failover (README "Duplicate detection"): the C++
// FailoverClient gives every SEND an `_AMQ_DUPL_ID` and re-sends what had no RECEIPT
// after a failover with the same id; the pair, which mirrored the window of recent ids,
// drops the copies of what it had already stored.
//
//  - 20 rounds, a fresh pair each: two producers pipeline persistent SENDs (receipts
//    not awaited, so hundreds are in flight) while the master is killed (-9, by pid);
//    they fail over to the slave, finish, and DISCONNECT (its receipt confirms every
//    SEND). The serving broker then holds every body exactly once: nothing lost, no
//    second copy of a message that reached the slave before the kill and was re-sent.
//    TWINMQ_DEDUP_ROUNDS changes the number of rounds; TWINMQ_DEDUP_CONTROL=1 runs the
//    same rounds with the ids turned off and expects second copies instead (to show
//    that the rounds do produce re-sends of stored messages).
//  - A slave attached after the messages were consumed gets the window in its initial
//    sync: after the master is killed, re-sending those ids to it stores nothing.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <thread>
#include <twinmq/failover.h>

#include "common.h"
#include "replication_support.h"

using namespace twinmq::test;
namespace tc = twinmq::client;

namespace {

constexpr int kProducers = 2;
constexpr int kPerProducer = 3000;  // SENDs per producer per round
constexpr int kKillAfter = 3000;    // SENDs written (all producers) before the kill: in full flow

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

std::string pair_uri(std::uint16_t master, std::uint16_t slave) {
  return "failover:(tcp://127.0.0.1:" + std::to_string(master) + ",tcp://127.0.0.1:" + std::to_string(slave) +
         ")?randomize=false&initialReconnectDelay=10&timeout=20000";
}

struct ProducerResult {
  std::vector<std::string> confirmed;  // bodies whose send() returned ok
  std::size_t resent = 0;              // re-sent after the failover (reconnected events)
  std::string error;
};

// One FailoverClient: kPerProducer persistent SENDs without waiting for each receipt
// (the client still keeps every one until its receipt, and re-sends those that have
// none after a failover), then DISCONNECT, whose receipt confirms them all.
void produce(int id, const std::string& uri, bool duplicate_ids, std::atomic<int>& written, ProducerResult& out) {
  std::vector<tc::FailoverEvent> events;
  auto c = tc::FailoverClient::connect(uri, {.timeout = Ms(5000), .duplicate_ids = duplicate_ids},
                                       [&](const tc::FailoverEvent& e) { events.push_back(e); });
  if (!c) {
    out.error = "connect: " + c.error().message;
    return;
  }
  for (int n = 0; n < kPerProducer; ++n) {
    const std::string body = "p" + std::to_string(id) + "-" + std::to_string(n);
    if (auto r = c->send("/queue/dedup", body, {.persistent = true, .receipt = false}); !r) {
      out.error = "send " + body + ": " + r.error().message;
      return;
    }
    out.confirmed.push_back(body);
    written.fetch_add(1);
  }
  if (auto r = c->disconnect(); !r) {
    out.error = "disconnect: " + r.error().message;
    return;
  }
  for (const auto& e : events)
    if (e.kind == tc::FailoverEventKind::reconnected) out.resent += e.resent;
}

// Every MESSAGE of `queue` up to the body `end` (sent last: FIFO puts every stored
// copy before it), auto-acknowledged.
std::vector<std::string> bodies_until(std::uint16_t port, const std::string& queue, const std::string& end) {
  RawStomp c(port);
  c.connect();
  c.subscribe(queue, "drain", "auto", {{"activemq.prefetchSize", "10000"}});
  std::vector<std::string> out;
  for (;;) {
    auto f = c.next_frame(Ms(10'000));
    if (!f) throw StompFailure("no MESSAGE '" + end + "' within 10 s after " + std::to_string(out.size()));
    if (f->command != "MESSAGE") continue;
    if (f->body == end) return out;
    out.push_back(f->body);
  }
}

}  // namespace

TEST_CASE("27 duplicate detection: 20 kill -9 rounds under load, every receipted message stored exactly once") {
  const int rounds = env_int("TWINMQ_DEDUP_ROUNDS", 20);
  const bool control = env_int("TWINMQ_DEDUP_CONTROL", 0) != 0;
  std::size_t resent_total = 0, copies_total = 0;
  for (int round = 0; round < rounds; ++round) {
    CAPTURE(round);
    ReplicaPair pair;
    pair.start_master();
    pair.start_slave();
    const std::string uri = pair_uri(pair.master_stomp(), pair.slave_stomp());
    std::atomic<int> written{0};
    std::vector<ProducerResult> results(kProducers);
    std::vector<std::thread> threads;
    for (int p = 0; p < kProducers; ++p)
      threads.emplace_back(produce, p, std::cref(uri), !control, std::ref(written), std::ref(results[p]));
    const bool loaded = wait_until(std::chrono::seconds(20), [&] { return written.load() >= kKillAfter; },
                                   "the producers' first SENDs");
    pair.master().kill(SIGKILL);
    for (auto& t : threads) t.join();
    REQUIRE(loaded);
    for (const auto& r : results) REQUIRE_MESSAGE(r.error.empty(), r.error << "\nslave:\n" << pair.slave().log_tail());

    // The producers are done (their DISCONNECT was receipted by the slave): a last
    // message marks the end of the queue.
    {
      RawStomp end(pair.slave_stomp());
      end.connect();
      end.send("/queue/dedup", "END", {{"persistent", "true"}});
    }
    const std::vector<std::string> got = bodies_until(pair.slave_stomp(), "/queue/dedup", "END");
    std::map<std::string, int> count;
    for (const auto& b : got) ++count[b];
    std::vector<std::string> missing, twice;
    std::size_t confirmed = 0;
    for (const auto& r : results) {
      confirmed += r.confirmed.size();
      resent_total += r.resent;
      for (const auto& b : r.confirmed)
        if (!count.contains(b)) missing.push_back(b);
    }
    for (const auto& [b, n] : count) {
      if (n > 1) twice.push_back(b);
      copies_total += static_cast<std::size_t>(n - 1);
    }
    CHECK_MESSAGE(missing.empty(), missing.size() << " receipted messages missing, e.g. " << missing.front());
    CHECK(confirmed == static_cast<std::size_t>(kProducers * kPerProducer));
    if (!control)
      CHECK_MESSAGE(twice.empty(), twice.size() << " messages stored more than once, e.g. " << twice.front());
  }
  MESSAGE("27: " << rounds << " rounds" << std::string(control ? " WITHOUT ids (control)" : "") << ": " << resent_total
                 << " SENDs re-sent after a failover, " << copies_total << " second copies stored");
  if (control) CHECK_MESSAGE(copies_total > 0, "the control rounds re-sent nothing that had been stored");
}

TEST_CASE("27 duplicate detection: a slave attached later gets the window in its initial sync") {
  ReplicaPair pair;
  pair.start_master();
  const std::string queue = "/queue/dedup-sync";
  {
    RawStomp c(pair.master_stomp());
    c.connect();
    for (int i = 0; i < 50; ++i)
      c.send(queue, "m" + std::to_string(i), {{"persistent", "true"}, {"_AMQ_DUPL_ID", "sync-" + std::to_string(i)}});
    c.send(queue, "np", {{"_AMQ_DUPL_ID", "sync-np"}});
    c.send("/topic/dedup-sync", "t", {{"_AMQ_DUPL_ID", "sync-t"}});
    // Consumed and acknowledged: only their ids remain.
    c.subscribe(queue, "s", "client-individual");
    for (int i = 0; i < 51; ++i) {
      auto m = c.message();
      c.send_frame("ACK", {{"id", std::string(*m.header("ack"))}});
    }
    c.sync();
  }
  pair.start_slave();  // copies the master's state: no message, the windows
  pair.master().kill(SIGKILL);
  REQUIRE(pair.wait_takeover(Clock::now(), Ms(15'000)).has_value());

  RawStomp c(pair.slave_stomp());
  c.connect();
  // Re-sent to the promoted slave: receipted, not stored.
  for (int i = 0; i < 50; ++i)
    c.send(queue, "again" + std::to_string(i), {{"persistent", "true"}, {"_AMQ_DUPL_ID", "sync-" + std::to_string(i)}});
  c.send(queue, "np again", {{"_AMQ_DUPL_ID", "sync-np"}});
  c.send(queue, "new", {{"_AMQ_DUPL_ID", "sync-new"}});
  c.subscribe(queue, "s", "auto");
  const auto m = c.message();
  CHECK(m.body == "new");
  CHECK(m.header("_AMQ_DUPL_ID") == "sync-new");  // consumers see the id
  CHECK(c.sync().empty());
  // The topic's window came too.
  c.subscribe("/topic/dedup-sync", "t", "auto");
  c.send("/topic/dedup-sync", "t again", {{"_AMQ_DUPL_ID", "sync-t"}});
  CHECK(c.sync().empty());
}

TEST_CASE("27 duplicate detection: an over-long id gets an ERROR naming the limit") {
  BrokerProcess b;
  RawStomp c(b.port());
  c.connect();
  c.send_frame("SEND", {{"destination", "/queue/long"}, {"_AMQ_DUPL_ID", std::string(257, 'x')}, {"receipt", "r1"}},
               "too long");
  auto e = c.expect("ERROR");
  CHECK(e.header("message") == "invalid header");
  CHECK(contains_ci(e.body, "_AMQ_DUPL_ID is 257 bytes long; at most 256 bytes"));
  CHECK(e.header("receipt-id") == "r1");
  CHECK(c.wait_closed());
}
