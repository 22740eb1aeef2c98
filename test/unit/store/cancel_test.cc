// Consumed before written (README "Consumed before written", Journal::cancel): a
// persistent SEND delivered to an auto-acknowledging consumer in the turn it was sent
// leaves no record, while everything that is not exactly that is written as before.
#include <doctest.h>

#include "store/verify.h"
#include "support.h"

using namespace twinmq;
using namespace twinmq::store;
using namespace twinmq::store::test;

namespace {

broker::DestinationPolicy window_of_ten(std::string_view) {
  broker::DestinationPolicy p;
  p.id_cache_size = 10;
  return p;
}

void check_verifies(const std::string& dir) {
  auto report = verify_store(dir);
  REQUIRE(report.has_value());
  CHECK_MESSAGE(report->ok(), "the store does not verify");
}

}  // namespace

TEST_CASE("cancel: a SEND consumed in its own turn is not written; its receipt is released without a write") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  Seq last;
  {
    Node n(cfg);
    n.subscribe("s", "/queue/a");
    REQUIRE(n.settle());
    const JournalStats before = n.journal->stats();
    const Seq sent = n.send_ok("/queue/a", "consumed");
    REQUIRE(n.client.got.size() == 1);
    CHECK(n.client.got[0].body == "consumed");
    last = n.broker.event_log().last();
    CHECK(last == Seq{sent.value + 1});  // the removal has its seq
    CHECK(n.journal->last_seq() == last);
    REQUIRE(n.settle());
    // Released (the producer's RECEIPT) with nothing handed to the writer.
    CHECK(n.broker.reply_gate().released() >= sent);
    const JournalStats after = n.journal->stats();
    CHECK(after.cancelled == before.cancelled + 1);
    CHECK(after.records == before.records);
    CHECK(after.message_records == before.message_records);
    CHECK(after.batches == before.batches);
    CHECK(after.live_messages == 0);
    // Not counted as unjournaled: a slave can still catch up across it.
    CHECK(n.journal->last_unjournaled_seq() < sent);
  }
  check_verifies(dir.path());
  Node n(cfg);
  CHECK(n.report.last_seq == last);  // numbering goes on after the cancelled seqs
  CHECK(n.queued()["/queue/a"] == 0);
  n.subscribe("s", "/queue/a");
  CHECK(n.client.got.empty());
}

TEST_CASE("cancel: only the pair leaves; records around it stay and keep the sequence whole") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  {
    Node n(cfg);
    n.subscribe("s", "/queue/a");
    n.send_ok("/queue/kept", "before");
    n.send_ok("/queue/a", "c1");
    n.send_ok("/queue/kept", "between");
    n.send_ok("/queue/a", "c2");
    n.send_ok("/queue/a", "c3");
    n.send_ok("/queue/kept", "after");
    REQUIRE(n.settle());
    CHECK(n.journal->stats().cancelled == 3);
    CHECK(n.journal->stats().message_records == 3);
    n.send_ok("/queue/a", "c4");  // the last seqs of the journal: a skip record at close
    REQUIRE(n.settle());
  }
  check_verifies(dir.path());
  Node n(cfg);
  CHECK(n.queued()["/queue/kept"] == 3);
  CHECK(n.queued()["/queue/a"] == 0);
  n.subscribe("k", "/queue/kept");
  REQUIRE(n.client.got.size() == 3);
  CHECK(n.client.got[0].body == "before");
  CHECK(n.client.got[1].body == "between");
  CHECK(n.client.got[2].body == "after");
  // Ids are not reused within a run; the consumed ones (2, 4, 5, 7) were handed out.
  n.send_ok("/queue/kept", "new");
  REQUIRE(n.client.got.size() == 4);
  CHECK(n.client.got[3].id > n.client.got[2].id);
}

TEST_CASE("cancel: what is not cancelled (written as before)") {
  TempDir dir;
  Node n(journal_config(dir.path()), {}, [](std::string_view) { return broker::DestinationPolicy{}; });

  SUBCASE("a message that waited behind another in the queue") {
    n.send_ok("/queue/a", "first");
    n.send_ok("/queue/a", "second");
    n.subscribe("s", "/queue/a");  // delivers both: "second" is the log's last event but not the first delivered
    CHECK(n.client.got.size() == 2);
    // "second" was enqueued by the log's last event... until "first"'s removal was numbered.
    CHECK(n.journal->stats().cancelled == 0);
  }
  SUBCASE("a client-acknowledged delivery, acknowledged in the same turn") {
    n.subscribe("s", "/queue/a", broker::AckMode::client_individual);
    n.send_ok("/queue/a", "x");
    REQUIRE(n.client.got.size() == 1);
    n.ack(n.client.got[0].ack_tag);
    CHECK(n.journal->stats().cancelled == 0);
  }
  SUBCASE("a batch already handed to the writer") {
    n.send_ok("/queue/a", "x");
    REQUIRE(n.settle());
    n.subscribe("s", "/queue/a");
    REQUIRE(n.client.got.size() == 1);
    CHECK(n.journal->stats().cancelled == 0);
  }
  SUBCASE("a transaction's SEND") {
    n.subscribe("s", "/queue/a");
    REQUIRE(n.broker.begin(n.conn, "tx").has_value());
    n.send_ok("/queue/a", "in tx", true, "tx");
    REQUIRE(n.broker.commit(n.conn, "tx").has_value());
    REQUIRE(n.client.got.size() == 1);
    CHECK(n.journal->stats().cancelled == 0);
  }
  SUBCASE("a topic message kept for durable subscriptions") {
    n.subscribe("d", "/topic/t", broker::AckMode::auto_ack, "d");
    n.send_ok("/topic/t", "x");
    REQUIRE(n.client.got.size() == 1);
    CHECK(n.journal->stats().cancelled == 0);
  }
  SUBCASE("a non-persistent message (never written anyway)") {
    n.subscribe("s", "/queue/a");
    n.send_ok("/queue/a", "x", false);
    REQUIRE(n.client.got.size() == 1);
    CHECK(n.journal->stats().cancelled == 0);
  }
  REQUIRE(n.settle());
  CHECK(n.journal->stats().live_messages == 0);
}

TEST_CASE("cancel: a consumed SEND's duplicate-detection id is written in its place and known after a restart") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  {
    Node n(cfg, {}, window_of_ten);
    n.subscribe("s", "/queue/a");
    REQUIRE(n.settle());
    const JournalStats before = n.journal->stats();
    n.send_id_ok("/queue/a", "body", "dup-1");
    REQUIRE(n.client.got.size() == 1);
    REQUIRE(n.settle());
    const JournalStats after = n.journal->stats();
    CHECK(after.cancelled == before.cancelled + 1);
    CHECK(after.records == before.records + 1);  // the id's record, not the message's
    CHECK(after.message_records == before.message_records);
    CHECK(n.broker.duplicate_window("/queue/a") == std::vector<std::string>{"dup-1"});
  }
  check_verifies(dir.path());
  Node n(cfg, {}, window_of_ten);
  CHECK(n.broker.duplicate_window("/queue/a") == std::vector<std::string>{"dup-1"});
  n.subscribe("s", "/queue/a");
  n.send_id_ok("/queue/a", "re-sent", "dup-1");
  CHECK(n.client.got.empty());  // dropped as a duplicate
  CHECK(n.broker.duplicate_stats().dropped == 1);
}

TEST_CASE("cancel: compaction after many cancellations keeps exactly the live messages") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 4096);
  JournalOptions o;
  o.compaction_min_bytes = 8192;
  {
    Node n(cfg, o, window_of_ten);
    n.subscribe("s", "/queue/a");
    for (int round = 0; round < 40; ++round) {
      for (int i = 0; i < 5; ++i) n.send_ok("/queue/a", std::string(300, 'c'));
      n.send_id_ok("/queue/a", "d", "id-" + std::to_string(round));
      n.send_ok("/queue/kept", "k" + std::to_string(round) + std::string(300, 'k'));
      REQUIRE(n.settle());
    }
    // The kept queue's messages consumed in another turn: garbage for the compaction.
    n.subscribe("k", "/queue/kept");
    REQUIRE(n.broker.unsubscribe(n.conn, "k").has_value());
    for (int i = 0; i < 30; ++i) n.send_ok("/queue/kept", "k2-" + std::to_string(i) + std::string(300, 'k'));
    REQUIRE(run_until(n.loop, [&] { return n.journal->stats().compactions >= 1 && !n.journal->compacting(); }));
    // 240 consumed at once, less those that were the first record of a segment (4 KiB
    // segments roll often; Journal::can_cancel leaves no segment of a header only).
    CHECK(n.journal->stats().cancelled > 200);
    CHECK(n.journal->stats().cancelled <= 240);
    REQUIRE(n.settle());
  }
  check_verifies(dir.path());
  Node n(cfg, o, window_of_ten);
  CHECK(n.queued()["/queue/kept"] == 30);
  CHECK(n.queued()["/queue/a"] == 0);
  std::vector<std::string> expected;
  for (int r = 30; r < 40; ++r) expected.push_back("id-" + std::to_string(r));
  CHECK(n.broker.duplicate_window("/queue/a") == expected);
}
