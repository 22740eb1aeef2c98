// Duplicate-detection windows in the journal (broker/duplicates.h, store/live_set.h):
// a restart rebuilds them from the records; a compaction carries them in the
// checkpoint, ids of consumed and compacted-away messages included, in the same order
// (the checkpoint's `replace` records win over the ids its live messages re-enter).
#include <doctest.h>

#include "support.h"

using namespace twinmq;
using namespace twinmq::store;
using namespace twinmq::store::test;

namespace {

PolicyFor cache_size(std::uint32_t n) {
  return [n](std::string_view) {
    broker::DestinationPolicy p;
    p.id_cache_size = n;
    return p;
  };
}

// Re-sends `id` to `dest`: true if the broker dropped it as a duplicate.
bool dropped_as_duplicate(Node& n, std::string_view dest, std::string_view id) {
  const std::uint64_t before = n.broker.duplicate_stats().dropped;
  const Seq last = n.broker.event_log().last();
  n.send_id_ok(dest, "re-sent", id);
  const bool dropped = n.broker.duplicate_stats().dropped == before + 1;
  if (dropped) CHECK(n.broker.event_log().last() == last);
  return dropped;
}

std::vector<std::string> numbered(std::string_view prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(std::string(prefix) + std::to_string(i));
  return out;
}

JournalOptions eager() {
  JournalOptions o;
  o.compaction_min_bytes = 1;  // compact whenever garbage exceeds the live bytes
  return o;
}

}  // namespace

TEST_CASE("journal: a restart rebuilds the windows from the records (persistent SENDs' ids)") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  std::vector<std::string> before;
  {
    Node n(cfg, no_compaction(), cache_size(100));
    for (int i = 0; i < 10; ++i) n.send_id_ok("/queue/q", "m", "q-" + std::to_string(i));
    n.send_id_ok("/queue/q", "not persistent", "np-1", false);
    // Consumed: the messages go, their ids stay.
    n.subscribe("s", "/queue/q");
    REQUIRE(n.client.got.size() == 11);
    // A transaction, and a topic SEND that nobody keeps (its id is its own record).
    REQUIRE(n.broker.begin(n.conn, "tx").has_value());
    n.send_id_ok("/queue/q", "tx", "q-tx", true, "tx");
    n.send_id_ok("/queue/q", "tx", "q-tx", true, "tx");
    REQUIRE(n.broker.commit(n.conn, "tx").has_value());
    n.send_id_ok("/topic/t", "news", "t-1");
    n.send_id_ok("/topic/t", "news", "t-np", false);
    REQUIRE(n.settle());
    before = n.broker.duplicate_window("/queue/q");
    CHECK(before.size() == 12);
  }
  Node n(cfg, no_compaction(), cache_size(100));
  // The non-persistent SEND's id is gone with its message (the journal never had it).
  std::vector<std::string> expected = numbered("q-", 0, 10);
  expected.push_back("q-tx");
  CHECK(n.broker.duplicate_window("/queue/q") == expected);
  CHECK(n.broker.duplicate_window("/topic/t") == std::vector<std::string>{"t-1"});
  CHECK(dropped_as_duplicate(n, "/queue/q", "q-3"));
  CHECK(dropped_as_duplicate(n, "/queue/q", "q-tx"));
  CHECK(dropped_as_duplicate(n, "/topic/t", "t-1"));
  CHECK_FALSE(dropped_as_duplicate(n, "/queue/q", "np-1"));
}

TEST_CASE("journal: compaction keeps the windows (fill, ack, compact, restart: the ids are still known)") {
  TempDir compacted, plain;
  const auto cfg_c = journal_config(compacted.path(), 8192);
  const auto cfg_p = journal_config(plain.path(), 8192);
  // Window of 50: the first ids are evicted again by the later ones.
  auto history = [](Node& n) {
    for (int round = 0; round < 8; ++round) {
      for (int i = 0; i < 20; ++i)
        n.send_id_ok("/queue/q", std::string(300, 'x'), "r" + std::to_string(round) + "-" + std::to_string(i));
      // Fill and drain: every message is consumed and acknowledged.
      n.client.got.clear();
      n.subscribe("s", "/queue/q");
      REQUIRE(n.client.got.size() == 20);
      REQUIRE(n.broker.unsubscribe(n.conn, "s").has_value());
      REQUIRE(n.settle());
    }
    // Live at the compaction: three messages whose ids entered the window before the
    // last ones (so replay re-enters them out of order, and the window record fixes it).
    n.send_id_ok("/queue/live", "kept 1", "l-1");
    n.send_id_ok("/queue/live", "kept 2", "l-2");
    n.send_id_ok("/queue/live", "kept 3", "l-3");
    for (int i = 0; i < 60; ++i) n.send_id_ok("/queue/churn", std::string(300, 'c'), "c-" + std::to_string(i));
    n.client.got.clear();
    n.subscribe("c", "/queue/churn");
    REQUIRE(n.settle());
  };
  std::vector<std::string> master_q, master_live;
  {
    Node n(cfg_c, eager(), cache_size(50));
    history(n);
    CHECK(n.journal->stats().compactions >= 2);
    master_q = n.broker.duplicate_window("/queue/q");
    master_live = n.broker.duplicate_window("/queue/live");
  }
  {
    Node n(cfg_p, no_compaction(), cache_size(50));
    history(n);
  }
  REQUIRE_FALSE(files_with(compacted.path(), ".ckpt").empty());
  // The window holds the last 50 ids; every message behind them is long gone from the disk.
  std::vector<std::string> expected_q = numbered("r5-", 10, 20);
  for (const std::string& id : numbered("r6-", 0, 20)) expected_q.push_back(id);
  for (const std::string& id : numbered("r7-", 0, 20)) expected_q.push_back(id);
  CHECK(master_q == expected_q);

  Node c(cfg_c, no_compaction(), cache_size(50));
  Node p(cfg_p, no_compaction(), cache_size(50));
  CHECK(c.report.checkpoint_seq > Seq{0});
  CHECK(c.journal->stats().live_messages == 3);
  // The same windows, in the same order, with and without compaction.
  CHECK(c.broker.duplicate_window("/queue/q") == master_q);
  CHECK(p.broker.duplicate_window("/queue/q") == master_q);
  CHECK(c.broker.duplicate_window("/queue/live") == master_live);
  CHECK(c.broker.duplicate_window("/queue/churn") == p.broker.duplicate_window("/queue/churn"));
  // A client re-sending minutes later: consumed, acknowledged, compacted away, still known.
  CHECK(dropped_as_duplicate(c, "/queue/q", "r5-10"));
  CHECK(dropped_as_duplicate(c, "/queue/q", "r7-19"));
  CHECK(dropped_as_duplicate(c, "/queue/live", "l-1"));
  // Evicted ids are not.
  CHECK_FALSE(dropped_as_duplicate(c, "/queue/q", "r5-9"));
}

TEST_CASE("journal: the checkpoint replaces the ids its live messages re-enter (order and evictions kept)") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 4096);
  {
    Node n(cfg, eager(), cache_size(3));
    // Five live messages, window of three: l-1 and l-2 were evicted while their
    // messages stay. Then churn until a compaction has run.
    for (int i = 1; i <= 5; ++i) n.send_id_ok("/queue/live", "kept", "l-" + std::to_string(i));
    std::uint64_t compactions = 0;
    for (int i = 0; i < 200 && compactions < 2; ++i) {
      n.send_ok("/queue/churn", std::string(500, 'c'));
      REQUIRE(n.settle());  // written before it is consumed (else Journal::cancel drops it)
      n.client.got.clear();
      n.subscribe("c", "/queue/churn");
      REQUIRE(n.broker.unsubscribe(n.conn, "c").has_value());
      REQUIRE(n.settle());
      compactions = n.journal->stats().compactions;
    }
    REQUIRE(compactions >= 2);
    CHECK(n.broker.duplicate_window("/queue/live") == std::vector<std::string>{"l-3", "l-4", "l-5"});
  }
  Node n(cfg, no_compaction(), cache_size(3));
  CHECK(n.journal->stats().live_messages == 5);
  CHECK(n.broker.duplicate_window("/queue/live") == std::vector<std::string>{"l-3", "l-4", "l-5"});
  CHECK_FALSE(dropped_as_duplicate(n, "/queue/live", "l-1"));
}

TEST_CASE("journal: windows count as live data, so a store of windows is not compacted again and again") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 64u << 10);
  Node n(cfg, eager(), cache_size(5000));
  n.subscribe("s", "/queue/q");
  for (int i = 0; i < 5000; ++i) n.send_id_ok("/queue/q", "m", "an-id-of-some-length-" + std::to_string(i));
  REQUIRE(n.settle());
  REQUIRE(run_until(n.loop, [&] { return n.journal->stats().compactions >= 1 && n.journal->stats().files <= 3; }));
  const std::uint64_t compactions = n.journal->stats().compactions;
  CHECK(n.journal->stats().live_messages == 0);
  CHECK(n.journal->stats().live_bytes >= 5000 * 20);
  // Were the windows garbage to the trigger, each checkpoint (all windows, no live
  // message) would start the next compaction at once: watch the loop for a while.
  CHECK_FALSE(run_until(n.loop, [&] { return n.journal->stats().compactions > compactions + 2; }, 500));
  CHECK(dropped_as_duplicate(n, "/queue/q", "an-id-of-some-length-0"));
}
