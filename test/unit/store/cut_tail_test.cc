// cut_after (store/cut_tail.h): an old master's store cut back to the fork recovers as
// exactly the state it had at the fork, across segment boundaries, and a store whose
// checkpoint already merged the tail is left untouched.
#include <doctest.h>

#include "store/cut_tail.h"
#include "support.h"

using namespace twinmq;
using namespace twinmq::store;
using namespace twinmq::store::test;

TEST_CASE("cut_after: the store recovers as it was at the fork; later segments go, the fork's segment is cut") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 4096);  // small segments: the tail spans several
  Seq fork;
  std::map<std::string, std::size_t> at_fork;
  {
    Node n(cfg, no_compaction());
    for (int i = 0; i < 20; ++i) n.send_ok("/queue/kept", "k" + std::to_string(i) + std::string(300, 'x'));
    fork = n.send_ok("/queue/kept", "last before the fork");
    REQUIRE(n.settle());
    at_fork = n.queued();
    for (int i = 0; i < 30; ++i) n.send_ok("/queue/tail", "t" + std::to_string(i) + std::string(300, 'y'));
    REQUIRE(n.settle());
  }
  const std::size_t segments_before = files_with(dir.path(), ".seg").size();
  auto cut = cut_after(dir.path(), fork);
  REQUIRE_MESSAGE(cut.has_value(), (cut ? std::string() : cut.error().message));
  CHECK(cut->cut);
  CHECK(cut->last_seq == fork);
  CHECK(cut->segments_removed > 0);
  CHECK(files_with(dir.path(), ".seg").size() == segments_before - cut->segments_removed);
  Node again(cfg, no_compaction());
  CHECK(again.broker.event_log().last() == fork);
  CHECK(again.queued() == at_fork);
  CHECK(again.report.truncated_bytes == 0);  // a clean end, not a torn tail
}

TEST_CASE("cut_after: a checkpoint after the fork is not taken apart") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 8192);
  JournalOptions eager;
  eager.compaction_min_bytes = 1;
  Seq fork;
  {
    Node n(cfg, eager);
    fork = n.send_ok("/queue/a", "before");
    for (int round = 0; round < 40; ++round) {
      n.subscribe("s" + std::to_string(round), "/queue/churn");
      n.send_ok("/queue/churn", std::string(900, 'c'));
      REQUIRE(n.settle());
    }
    REQUIRE(n.journal->stats().compactions >= 1);
  }
  const auto before = files_with(dir.path(), ".seg");
  auto cut = cut_after(dir.path(), fork);
  REQUIRE(cut.has_value());
  CHECK_FALSE(cut->cut);
  CHECK(cut->why.find("checkpoint stands for seq") != std::string::npos);
  CHECK(files_with(dir.path(), ".seg") == before);
}
