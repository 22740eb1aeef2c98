// 33 — the full copy read from the master's journal (replication/journal_copy.h), real
// processes: a slave attached while the master is sent many messages gets the copy from
// disk and every message sent meanwhile, and after kill -9 of the master holds exactly
// what the master held (message for message, in order); a copy while the master's
// journal keeps compacting (small segments, churn) ends the same way, and compaction
// goes on after it; replicationRetainBytes: a slave that was away while the master
// compacted catches up when the journal it missed was kept, else gets a full copy and
// the master's log says why.
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
  // Churn: sent and consumed right away, so the journal keeps compacting. Acknowledged
  // by ACK (client-individual): a SEND taken with auto ack in the turn it arrives would
  // never be written (README "Consumed before written") and make no garbage.
  std::atomic<bool> stop{false};
  std::atomic<int> receipted{0};
  std::thread producer([&] { produce(port, "/queue/churn", "c", stop, receipted); });
  RawStomp consumer(port);
  consumer.connect();
  consumer.subscribe("/queue/churn", "churn", "client-individual");
  std::atomic<bool> consuming{true};
  std::thread eater([&] {
    while (consuming) {
      try {
        auto f = consumer.next_frame(Ms(200));
        if (f && f->command == "MESSAGE") consumer.send_frame("ACK", {{"id", (*f)["ack"]}});
      } catch (const std::exception&) {
        // the broker went away: nothing left to eat
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

// A slave stops; the master compacts its journal while it is away; the slave comes
// back. With `retain` bytes of journal kept for it (for at most `period` ms, when
// given), it catches up or gets a full copy. With `restart_master` the master also
// restarts while the slave is away: what it kept survives that.
struct Away {
  std::string retain;
  bool expect_catch_up = false;
  std::string period;  // replicationRetainPeriod ("" = the default)
  bool restart_master = false;
};

static void away_while_compacting(const Away& away) {
  const std::string& retain = away.retain;
  const bool expect_catch_up = away.expect_catch_up;
  PairSpec spec;
  spec.master_attrs = {{"replicationRetainBytes", retain}};
  if (!away.period.empty()) spec.master_attrs.push_back({"replicationRetainPeriod", away.period});
  spec.master_extra_xml = "  <persistenceAdapter><journal maxSegmentSize=\"65536\"/></persistenceAdapter>\n";
  ReplicaPair pair(spec);
  pair.start_master();
  pair.start_slave();
  RawStomp c(pair.master_stomp());
  c.connect();
  std::vector<std::string> sent;
  for (int i = 0; i < 100; ++i) {
    sent.push_back("a" + std::to_string(i));
    c.send_frame("SEND", {{"destination", "/queue/r"}, {"persistent", "true"}}, sent.back());
  }
  c.send("/queue/r", "a100", {{"persistent", "true"}});
  sent.push_back("a100");
  pair.slave().kill(SIGKILL);
  pair.slave().wait_exit(Ms(5000));
  // About 1 MiB of churn while the slave is away: the journal compacts (256 KiB of
  // garbage with 64 KiB segments).
  const std::string pad(300, 'p');
  for (int i = 0; i < 1500; ++i)
    c.send_frame("SEND", {{"destination", "/queue/churn"}, {"persistent", "true"}}, "c" + std::to_string(i) + pad);
  c.send("/queue/churn", "last" + pad, {{"persistent", "true"}});
  REQUIRE(drain(pair.master_stomp(), "/queue/churn", 1501).size() == 1501);
  REQUIRE(pair.master().wait_for_output("journal: checkpoint", Ms(10'000), true));
  // The time bound: what was kept is released once older than the period, and the log says so.
  if (!away.period.empty())
    CHECK_MESSAGE(pair.master().wait_for_output("needs a full copy", Ms(15'000), true), pair.master().log_tail());
  if (away.restart_master) {
    // It had its slave in sync, so it serves again only once the slave is back (the
    // pair marker); the messages after the gap then come after the catch-up.
    pair.master().kill(SIGTERM);
    REQUIRE(pair.master().wait_exit(Ms(10'000)).has_value());
    pair.start_master(/*expect_stomp=*/false);
    CHECK_MESSAGE(pair.master().wait_for_output("kept for a slave that is away", Ms(5000), true),
                  pair.master().log_tail());
  } else {
    for (int i = 0; i < 20; ++i) {
      sent.push_back("b" + std::to_string(i));
      c.send("/queue/r", sent.back(), {{"persistent", "true"}});
    }
  }
  const std::uint16_t port = pair.slave_stomp();
  auto again = pair.start_config("slave.xml", pair.slave_xml("slave", pair.replication_port(), port));
  REQUIRE_MESSAGE(again->wait_for_output("IN SYNC", Ms(20'000), true), again->log_tail());
  if (away.restart_master) {
    REQUIRE(pair.master().wait_listening("stomp", Ms(10'000)));
    RawStomp after(pair.master_stomp());
    after.connect();
    for (int i = 0; i < 20; ++i) {
      sent.push_back("b" + std::to_string(i));
      after.send("/queue/r", sent.back(), {{"persistent", "true"}});
    }
  }
  if (expect_catch_up) {
    CHECK_MESSAGE(pair.master().wait_for_output("CATCHES UP", Ms(5000), true), pair.master().log_text());
    CHECK(again->log_text().find("initial sync from master") == std::string::npos);
  } else {
    CHECK_MESSAGE(pair.master().wait_for_output("(a full copy: this master's journal no longer holds seq", Ms(5000), true),
                  pair.master().log_text());
    CHECK(pair.master().wait_for_output("replicationRetainBytes=" + retain, Ms(5000), true));
    if (!away.period.empty())
      CHECK(pair.master().wait_for_output("replicationRetainPeriod=" + away.period + " ms", Ms(5000), true));
  }
  pair.master().kill(SIGKILL);
  REQUIRE(again->wait_listening("stomp", Ms(5000)));
  CHECK(bodies_of(drain_until(port, "/queue/r", sent)) == sent);
}

TEST_CASE("33 full copy: replicationRetainBytes — a slave away for less journal than the master keeps catches up after compactions") {
  away_while_compacting({.retain = "8388608", .expect_catch_up = true, .period = "", .restart_master = false});
}

TEST_CASE("33 full copy: replicationRetainBytes — a slave away for more journal than the master keeps gets a full copy, and the log says why") {
  away_while_compacting({.retain = "0", .expect_catch_up = false, .period = "", .restart_master = false});
}

TEST_CASE("33 full copy: replicationRetainBytes — what the master kept survives its restart: the slave that was away still catches up") {
  away_while_compacting({.retain = "8388608", .expect_catch_up = true, .period = "", .restart_master = true});
}

TEST_CASE("33 full copy: replicationRetainPeriod — kept journal is released once older than the period; the slave then gets a full copy, and the log says why") {
  away_while_compacting({.retain = "8388608", .expect_catch_up = false, .period = "300", .restart_master = false});
}
