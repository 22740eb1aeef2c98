// 33 — the full copy read from the master's journal (replication/journal_copy.h), real
// processes: a slave attached while the master is sent many messages gets the copy from
// disk and every message sent meanwhile, and after kill -9 of the master holds exactly
// what the master held (message for message, in order); a copy while the master's
// journal keeps compacting (small segments, churn) ends the same way, and compaction
// goes on after it.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "common.h"
#include "replication_support.h"

using namespace twinmq::test;
using Clock = std::chrono::steady_clock;

namespace {

// Sends "<prefix><n>" persistent to `queue`, 50 pipelined then one with a receipt, until
// `stop`; `receipted` counts the bodies covered by a receipt (each receipt covers the
// pipelined sends before it on the same connection).
void produce(std::uint16_t port, const std::string& queue, const std::string& prefix, std::atomic<bool>& stop,
             std::atomic<int>& receipted) {
  RawStomp p(port);
  p.connect();
  int n = 0;
  while (!stop) {
    for (int i = 0; i < 50; ++i)
      p.send_frame("SEND", {{"destination", queue}, {"persistent", "true"}}, prefix + std::to_string(n++));
    p.request("SEND", {{"destination", queue}, {"persistent", "true"}}, prefix + std::to_string(n++));
    receipted = n;
  }
}

std::vector<std::string> numbered(const std::string& prefix, int count) {
  std::vector<std::string> v;
  for (int i = 0; i < count; ++i) v.push_back(prefix + std::to_string(i));
  return v;
}

}  // namespace

TEST_CASE("33 full copy: a slave attached under load gets the copy from the journal and every message sent during it; after kill -9 it holds exactly the master's messages") {
  // A tiny in-memory allowance: the events of the copy's time are read back from the
  // journal after it, while the slave already acknowledges the copy it installed.
  ::setenv("TWINMQ_COPY_MEMORY_BYTES", "4096", 1);
  ReplicaPair pair;
  pair.start_master();
  ::unsetenv("TWINMQ_COPY_MEMORY_BYTES");
  const std::uint16_t port = pair.master_stomp();
  {
    RawStomp fill(port);
    fill.connect();
    const std::string pad(1000, 'x');
    for (int i = 0; i < 20000; ++i)
      fill.send_frame("SEND", {{"destination", "/queue/copy"}, {"persistent", "true"}}, "c" + std::to_string(i) + pad);
    fill.request("SEND", {{"destination", "/queue/copy"}, {"persistent", "true"}}, "c20000" + pad);
    // Only memory holds these: the copy's memory part.
    for (int i = 0; i < 30; ++i) fill.send("/queue/np", "np" + std::to_string(i));
    // Consumed before the copy: garbage in the journal, absent on both brokers.
    for (int i = 0; i < 500; ++i) fill.send_frame("SEND", {{"destination", "/queue/gone"}, {"persistent", "true"}}, "g");
    fill.request("SEND", {{"destination", "/queue/gone"}, {"persistent", "true"}}, "g");
  }
  REQUIRE(drain(port, "/queue/gone", 501).size() == 501);

  std::atomic<bool> stop{false};
  std::atomic<int> receipted{0};
  std::thread producer([&] { produce(port, "/queue/during", "d", stop, receipted); });
  REQUIRE(wait_until(Ms(10'000), [&] { return receipted > 0; }, "the producer's first receipt"));
  const int before_attach = receipted;
  pair.start_slave();  // waits for IN SYNC
  const int at_in_sync = receipted;
  stop = true;
  producer.join();
  const int total = receipted;
  CHECK_MESSAGE(at_in_sync > before_attach, "no message was receipted while the slave attached");
  const std::string master_log = pair.master().log_text();
  CHECK_MESSAGE(master_log.find("read from disk") != std::string::npos, master_log);
  CHECK_MESSAGE(master_log.find("read back from the journal") != std::string::npos, master_log);
  CHECK_MESSAGE(master_log.find("dropping slave") == std::string::npos, master_log);
  CHECK(pair.slave().wait_for_output("initial sync from master complete", Ms(5000), true));

  pair.master().kill(SIGKILL);
  REQUIRE(pair.wait_takeover(Clock::now(), Ms(10'000)).has_value());
  const std::uint16_t slave = pair.slave_stomp();
  const std::string pad(1000, 'x');
  std::vector<std::string> copy_want;
  for (int i = 0; i <= 20000; ++i) copy_want.push_back("c" + std::to_string(i) + pad);
  CHECK(bodies_of(drain(slave, "/queue/copy", copy_want.size())) == copy_want);
  CHECK(bodies_of(drain(slave, "/queue/np", 30)) == numbered("np", 30));
  CHECK(drain(slave, "/queue/gone", 0, Ms(500)).empty());
  // Every receipted message sent while the slave attached, once, in order (the last
  // burst may have been applied without its receipt arriving).
  const auto during = bodies_of(drain_until(slave, "/queue/during", numbered("d", total)));
  REQUIRE(during.size() >= static_cast<std::size_t>(total));
  CHECK(std::vector<std::string>(during.begin(), during.begin() + total) == numbered("d", total));
  std::set<std::string> distinct(during.begin(), during.end());
  CHECK(distinct.size() == during.size());
}

TEST_CASE("33 full copy: a copy while the master's journal keeps compacting holds compaction off until the state is queued, then it goes on; nothing is lost") {
  PairSpec spec;
  // Segments of 64 KiB: compaction once 256 KiB of garbage piled up (store/compactor.h).
  spec.master_extra_xml = "  <persistenceAdapter><journal maxSegmentSize=\"65536\"/></persistenceAdapter>\n";
  ReplicaPair pair(spec);
  pair.start_master();
  const std::uint16_t port = pair.master_stomp();
  {
    RawStomp fill(port);
    fill.connect();
    const std::string pad(500, 'k');
    for (int i = 0; i < 3000; ++i)
      fill.send_frame("SEND", {{"destination", "/queue/keep"}, {"persistent", "true"}}, "k" + std::to_string(i) + pad);
    fill.request("SEND", {{"destination", "/queue/keep"}, {"persistent", "true"}}, "k3000" + pad);
  }
  // Churn: sent and consumed at once, so the journal keeps compacting.
  std::atomic<bool> stop{false};
  std::atomic<int> receipted{0};
  std::thread producer([&] { produce(port, "/queue/churn", "c", stop, receipted); });
  RawStomp consumer(port);
  consumer.connect();
  consumer.subscribe("/queue/churn", "churn", "auto");
  std::atomic<bool> consuming{true};
  std::thread eater([&] {
    while (consuming) {
      try {
        consumer.messages(50, Ms(200));
      } catch (const std::exception&) {
        // fewer than 50 in 200 ms: go on eating
      }
    }
  });
  REQUIRE(pair.master().wait_for_output("journal: checkpoint", Ms(20'000), true));
  pair.start_slave();  // waits for IN SYNC
  // Compaction goes on after the copy: a checkpoint after the copy's last line.
  const auto compacted_after_copy = [&] {
    const std::string log = pair.master().log_text();
    const auto sent = log.find("initial sync to slave 'slave'");
    return sent != std::string::npos && log.find("journal: compacting", log.find("all sent", sent)) != std::string::npos;
  };
  const bool went_on = wait_until(Ms(20'000), compacted_after_copy, "a compaction after the copy");
  stop = true;
  producer.join();
  consuming = false;
  eater.join();
  CHECK_MESSAGE(went_on, pair.master().log_text());
  CHECK(pair.slave().wait_for_output("initial sync from master complete", Ms(5000), true));

  pair.master().kill(SIGKILL);
  REQUIRE(pair.wait_takeover(Clock::now(), Ms(10'000)).has_value());
  const std::string pad(500, 'k');
  std::vector<std::string> want;
  for (int i = 0; i <= 3000; ++i) want.push_back("k" + std::to_string(i) + pad);
  CHECK(bodies_of(drain(pair.slave_stomp(), "/queue/keep", want.size())) == want);
}
