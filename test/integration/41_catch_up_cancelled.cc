// 41 — catch-up after a cancelled tail (replication/handshake.h "CANCELLED TAIL"): a
// slave whose last applied events were SENDs consumed before written (README
// "Consumed before written") has its state past its last journaled record. Paused
// (SIGSTOP) until the master drops it, then resumed, it must re-attach by a CATCH-UP
// from its state, not a full copy, while receipted load with an auto-ack consumer and
// a client-individual one (on another queue, so messages stay queued) goes on; then
// kill -9 of the master: the slave takes over holding every receipted message that was
// not consumed, nothing twice except a flagged redelivery. A catch-up from the wrong
// seq, or one that skipped a journaled event, would lose messages here.
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common.h"
#include "replication_support.h"

using namespace twinmq::test;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kAuto = "/queue/consumed";  // an auto-ack consumer takes each SEND as it arrives
const std::string kHeld = "/queue/held";      // a client-individual consumer acks every other one
constexpr int kTail = 30;                     // receipted SENDs to kAuto just before the pause

// What the clients saw before the master was killed.
struct Seen {
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> receipted;  // queue → bodies with a RECEIPT
  std::set<std::string> consumed;                             // auto-acked, or ACKed, before the kill
  std::map<std::string, std::vector<bool>> deliveries;        // body → redelivered flag of each delivery
  std::atomic<int> receipts{0};

  void receipt(const std::string& queue, const std::string& body) {
    std::lock_guard lk(mu);
    receipted[queue].push_back(body);
    ++receipts;
  }
  void delivered(const ReceivedFrame& f, bool auto_ack) {
    std::lock_guard lk(mu);
    deliveries[f.body].push_back(f["redelivered"] == "true");
    if (auto_ack) consumed.insert(f.body);
  }
};

// Sends "<prefix><n>" to `queue` with a receipt each until `stop` or the broker goes.
void produce(std::uint16_t port, const std::string& queue, const std::string& prefix, std::atomic<bool>& stop,
             Seen& seen) {
  try {
    RawStomp c(port);
    c.connect();
    for (int n = 0; !stop; ++n) {
      const std::string body = prefix + std::to_string(n);
      c.send(queue, body, {{"persistent", "true"}});
      seen.receipt(queue, body);
    }
  } catch (const std::exception&) {
    // The broker went: what was receipted so far is what counts.
  }
}

// The auto-ack consumer, until `stop` (then what was delivered is read to the end) or
// the broker goes (what it sent before is read too: delivered is consumed).
void consume_auto(std::uint16_t port, std::atomic<bool>& ready, std::atomic<bool>& stop, Seen& seen) {
  std::unique_ptr<RawStomp> c;
  auto record = [&](const ReceivedFrame& f) {
    if (f.command == "MESSAGE") seen.delivered(f, true);
  };
  try {
    c = std::make_unique<RawStomp>(port);
    c->connect();
    c->subscribe(kAuto, "a", "auto", {{"activemq.prefetchSize", "100000"}});
    ready = true;
    while (!stop && !c->closed())
      if (auto f = c->next_frame(Ms(100))) record(*f);
    if (!c->closed()) {
      for (const auto& f : c->sync()) record(f);
      c->request("UNSUBSCRIBE", {{"id", "a"}});
    }
  } catch (const std::exception&) {
  }
  if (!c) return;
  try {
    while (auto f = c->next_frame(Ms(200))) record(*f);
  } catch (const std::exception&) {
  }
}

// The client-individual consumer takes what was delivered to it so far (a barrier) and
// acknowledges every other message; a second barrier makes sure the broker handled
// those ACKs before the test goes on.
void take_held(RawStomp& held, Seen& seen, int& n) {
  for (const auto& f : held.sync()) {
    if (f.command != "MESSAGE") continue;
    seen.delivered(f, false);
    if (n++ % 2 != 0) continue;
    held.send_frame("ACK", {{"id", f["ack"]}});
    std::lock_guard lk(seen.mu);
    seen.consumed.insert(f.body);
  }
  for (const auto& f : held.sync())
    if (f.command == "MESSAGE") seen.delivered(f, false);  // not acknowledged: comes back after the failover
}

// Every thread of `pid` is stopped (state T in /proc/<pid>/task/<tid>/stat).
bool all_threads_stopped(pid_t pid) {
  std::error_code ec;
  std::size_t threads = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "stat");
    std::string line;
    std::getline(in, line);
    const std::size_t paren = line.rfind(')');  // the name may hold spaces and parentheses
    if (paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'T') return false;
    ++threads;
  }
  return !ec && threads != 0;
}

std::size_t count_of(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The promise, on the promoted slave: every receipted message not consumed before the
// kill is there, once; one delivered before the kill comes back flagged redelivered; no
// message was delivered twice before the kill except as a flagged redelivery.
void check_promise(Seen& seen, std::uint16_t port) {
  std::lock_guard lk(seen.mu);
  for (const std::string& queue : {kAuto, kHeld}) {
    CAPTURE(queue);
    std::vector<std::string> required;
    for (const auto& b : seen.receipted[queue])
      if (!seen.consumed.contains(b)) required.push_back(b);
    Drained drained = drain_required(port, queue, required);
    CHECK_MESSAGE(drained.missing == 0,
                  drained.missing << " receipted messages neither consumed nor kept, e.g. " << drained.example);
    for (const auto& [b, n] : drained.times) {
      CHECK_MESSAGE(n == 1, b << " delivered " << n << " times after the failover");
      if (seen.deliveries.contains(b))
        CHECK_MESSAGE(drained.redelivered[b],
                      b << " delivered before the kill and again after it without redelivered:true");
    }
    MESSAGE("[41] " << queue << ": receipted " << seen.receipted[queue].size() << ", still required "
                    << required.size() << ", drained from the slave " << drained.frames.size());
  }
  for (const auto& [b, flags] : seen.deliveries)
    for (std::size_t i = 1; i < flags.size(); ++i)
      CHECK_MESSAGE(flags[i], b << " delivered again before the kill without redelivered:true");
}

}  // namespace

TEST_CASE("41 catch-up after a cancelled tail: a slave paused after SENDs consumed before written re-attaches by a catch-up, not a full copy, and takes over holding every receipted message") {
  ReplicaPair pair;
  pair.start_master();
  pair.start_slave();
  const std::uint16_t port = pair.master_stomp();
  Seen seen;
  std::atomic<bool> stop_auto{false}, auto_ready{false};
  std::thread auto_consumer([&] { consume_auto(port, auto_ready, stop_auto, seen); });
  RawStomp held(port);
  held.connect();
  held.subscribe(kHeld, "h", "client-individual", {{"activemq.prefetchSize", "100000"}});
  int held_n = 0;
  REQUIRE(wait_until(std::chrono::seconds(10), [&] { return auto_ready.load(); }, "the auto-ack consumer subscribed"));

  // 1. Receipted load on both queues, mirrored.
  {
    std::atomic<bool> stop{false};
    std::thread a([&] { produce(port, kAuto, "a", stop, seen); });
    std::thread h([&] { produce(port, kHeld, "h", stop, seen); });
    const bool enough = wait_until(std::chrono::seconds(30), [&] { return seen.receipts >= 300; }, "300 receipts");
    stop = true;
    a.join();
    h.join();
    REQUIRE(enough);
  }
  take_held(held, seen, held_n);
  // 2. The slave's last events: SENDs the auto-ack consumer takes as they arrive. Each
  //    RECEIPT waits for the slave's Applied, so the slave's state ends with them.
  {
    RawStomp c(port);
    c.connect();
    for (int n = 0; n < kTail; ++n) {
      const std::string body = "t" + std::to_string(n);
      c.send(kAuto, body, {{"persistent", "true"}});
      seen.receipt(kAuto, body);
    }
  }
  // 3. Paused until the master drops it, while the load goes on (its receipts are held
  //    until then, then the master serves alone). What the master streamed before it
  //    dropped the slave waits in the slave's socket and is applied when it resumes: so
  //    only SENDs to the auto-ack consumer until then, or the slave's state could end on
  //    a journaled record again.
  pair.slave().kill(SIGSTOP);
  // kill() returns before every thread of the slave has stopped: until they have, its
  // loop could still take an event of the load below and end on a journaled record.
  REQUIRE(wait_until(std::chrono::seconds(5), [&] { return all_threads_stopped(pair.slave().pid()); },
                     "every thread of the slave stopped"));
  std::atomic<bool> stop{false};
  std::vector<std::thread> producers;
  producers.emplace_back([&] { produce(port, kAuto, "b", stop, seen); });
  const bool dropped = pair.master().wait_for_output("dropping slave", Ms(10'000), true);
  producers.emplace_back([&] { produce(port, kHeld, "i", stop, seen); });
  pair.slave().kill(SIGCONT);
  REQUIRE_MESSAGE(dropped, pair.master().log_tail());
  // 4. It re-attaches by a catch-up from its state, past its last record.
  const bool caught_up = pair.master().wait_for_output("CATCHES UP from seq", Ms(15'000), true);
  const std::string log = pair.master().log_text();
  CHECK_MESSAGE(caught_up, log.substr(log.size() > 6000 ? log.size() - 6000 : 0));
  CHECK_MESSAGE(contains_ci(log, "only by SENDs consumed before written"),
                "the slave's state ended at its last record: the test did not reach the cancelled tail");
  CHECK_MESSAGE(count_of(log, "(a full copy:") == 1, "a full copy besides the first attach:\n"
                                                          << log.substr(log.size() > 6000 ? log.size() - 6000 : 0));
  if (const std::size_t at = log.find("CATCHES UP"); at != std::string::npos)
    MESSAGE("[41] master: ..." << log.substr(at, log.find('\n', at) - at));
  REQUIRE_MESSAGE(pair.slave().wait_for_count("IN SYNC", 2, Ms(20'000), true), pair.slave().log_tail());
  // 5. More mirrored load after the catch-up, then kill -9 of the master in the middle of it.
  const int in_sync_at = seen.receipts;
  const bool more = wait_until(std::chrono::seconds(30), [&] { return seen.receipts >= in_sync_at + 200; },
                               "200 receipts after the catch-up");
  pair.master().kill(SIGKILL);
  stop = true;
  for (auto& t : producers) t.join();
  stop_auto = true;
  auto_consumer.join();
  // What the master delivered to the held consumer before it died.
  try {
    while (auto f = held.next_frame(Ms(200)))
      if (f->command == "MESSAGE") seen.delivered(*f, false);
  } catch (const std::exception&) {
  }
  REQUIRE(more);
  REQUIRE_MESSAGE(pair.wait_takeover(Clock::now(), Ms(10'000)).has_value(), pair.slave().log_tail());
  CHECK(pair.slave().log_text().find("catching up from seq") != std::string::npos);
  check_promise(seen, pair.slave_stomp());
}
