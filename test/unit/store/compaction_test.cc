// Compaction: the checkpoint carries exactly the live set (same messages, same order,
// same backlogs and dead letters as a journal that never compacted), disk use stays
// bounded under fill/drain, and an interrupted compaction leaves a recoverable store.
#include <doctest.h>

#include <chrono>
#include <filesystem>

#include "store/errors.h"
#include "support.h"

using namespace twinmq;
using namespace twinmq::store;
using namespace twinmq::store::test;

namespace {

using Drained = std::map<std::string, std::vector<std::string>>;  // subscription -> "id:body"

// The same history, twice: once compacting as eagerly as it can, once never.
void scenario(Node& n) {
  using broker::AckMode;
  // Durable subscriptions on /topic/t (d1, d2) and /topic/poison (dp), offline.
  n.subscribe("d1", "/topic/t", AckMode::auto_ack, "d1");
  n.subscribe("d2", "/topic/t", AckMode::auto_ack, "d2");
  REQUIRE(n.broker.unsubscribe(n.conn, "d1").has_value());
  REQUIRE(n.broker.unsubscribe(n.conn, "d2").has_value());
  for (int round = 0; round < 6; ++round) {
    const std::string r = std::to_string(round);
    for (int i = 0; i < 30; ++i) n.send_ok("/queue/churn", "c" + r + "-" + std::to_string(i));
    for (int i = 0; i < 3; ++i) n.send_ok("/queue/keep", "k" + r + "-" + std::to_string(i));
    n.send_ok("/queue/keep", "np" + r, false);
    n.send_ok("/topic/t", "t" + r);
    // Transaction: a send that stays, one that is consumed later, and an ack.
    REQUIRE(n.broker.begin(n.conn, "tx" + r).has_value());
    n.send_ok("/queue/tx", "x" + r, true, "tx" + r);
    n.send_ok("/queue/churn", "xc" + r, true, "tx" + r);
    REQUIRE(n.broker.commit(n.conn, "tx" + r).has_value());
    REQUIRE(n.settle());
    // Drain the churn queue completely.
    n.client.got.clear();
    n.subscribe("churn", "/queue/churn");
    CHECK(n.client.got.size() == 31);
    REQUIRE(n.broker.unsubscribe(n.conn, "churn").has_value());
    // d1 consumes now and then: its backlog is partly acked, d2 keeps everything.
    if (round == 1 || round == 3) {
      n.subscribe("d1", "/topic/t", AckMode::auto_ack, "d1");
      REQUIRE(n.broker.unsubscribe(n.conn, "d1").has_value());
    }
    REQUIRE(n.settle());
  }
  // Dead letters: one from a queue, one from a durable backlog whose subscription is
  // then removed (the move must still replay, from a subscription that no longer exists).
  n.client.got.clear();
  n.subscribe("dp", "/topic/poison", AckMode::client_individual, "dp", 1);
  for (int i = 0; i < 3; ++i) n.send_ok("/queue/poison", "p" + std::to_string(i));
  n.send_ok("/topic/poison", "tp0");
  n.send_ok("/topic/poison", "tp1");
  n.subscribe("p", "/queue/poison", AckMode::client_individual, {}, 1);
  REQUIRE(n.client.got.size() == 2);  // tp0 on dp, p0 on p
  n.ack(n.client.got[1].ack_tag, /*nack=*/true);
  n.ack(n.client.got[0].ack_tag, /*nack=*/true);
  REQUIRE(n.broker.unsubscribe(n.conn, "p").has_value());
  REQUIRE(n.broker.unsubscribe(n.conn, "dp", /*durable_remove=*/true).has_value());
  // More churn after all that, so the last compaction has the dead letters to carry.
  for (int i = 0; i < 40; ++i) n.send_ok("/queue/churn", "late" + std::to_string(i));
  REQUIRE(n.settle());
  n.client.got.clear();
  n.subscribe("churn", "/queue/churn");
  REQUIRE(n.broker.unsubscribe(n.conn, "churn").has_value());
  REQUIRE(n.settle());
}

Drained drain(Node& n) {
  n.client.got.clear();
  for (const char* q : {"/queue/keep", "/queue/tx", "/queue/churn", "/queue/poison", "/queue/DLQ"})
    n.subscribe(q, q);
  n.subscribe("d1", "/topic/t", broker::AckMode::auto_ack, "d1");
  n.subscribe("d2", "/topic/t", broker::AckMode::auto_ack, "d2");
  Drained out;
  for (const Received& r : n.client.got)
    out[r.subscription].push_back(std::to_string(r.id) + ":" + r.destination + ":" + r.body);
  return out;
}

JournalOptions eager() {
  JournalOptions o;
  o.compaction_min_bytes = 1;  // compact whenever garbage exceeds the live bytes
  return o;
}

}  // namespace

TEST_CASE("compaction keeps exactly the live set: same messages, order, backlogs, dead letters") {
  TempDir compacted, plain;
  const auto cfg_c = journal_config(compacted.path(), 8192);
  const auto cfg_p = journal_config(plain.path(), 8192);
  {
    Node n(cfg_c, eager());
    scenario(n);
    CHECK(n.journal->stats().compactions >= 3);
  }
  {
    Node n(cfg_p, no_compaction());
    scenario(n);
  }
  CHECK_FALSE(files_with(compacted.path(), ".ckpt").empty());
  CHECK(files_with(plain.path(), ".ckpt").empty());
  CHECK(dir_bytes(compacted.path()) < dir_bytes(plain.path()) / 2);

  Node c(cfg_c, no_compaction());
  Node p(cfg_p, no_compaction());
  CHECK(c.report.checkpoint_seq > Seq{0});
  CHECK(c.report.last_seq == p.report.last_seq);
  CHECK(c.queued() == p.queued());
  CHECK(c.journal->stats().live_messages == p.journal->stats().live_messages);
  const Drained dc = drain(c);
  const Drained dp = drain(p);
  CHECK(dp.at("/queue/keep").size() == 18);
  CHECK(dp.at("/queue/tx").size() == 6);
  CHECK(dp.at("/queue/DLQ").size() == 2);
  CHECK(dp.at("d1").size() == 2);
  CHECK(dp.at("d2").size() == 6);
  CHECK_FALSE(dp.contains("/queue/churn"));
  for (const auto& [sub, msgs] : dp) {
    CAPTURE(sub);
    REQUIRE(dc.contains(sub));
    CHECK(dc.at(sub) == msgs);
  }
  CHECK(dc.size() == dp.size());
}

TEST_CASE("a queue filled and drained forever keeps the data directory bounded") {
  TempDir dir;
  const std::uint64_t seg = 16 * 1024;
  const auto cfg = journal_config(dir.path(), seg);
  const std::string body(1024, 'x');
  std::uint64_t peak = 0;
  std::uint64_t written = 0;
  {
    Node n(cfg);
    for (int cycle = 0; cycle < 40; ++cycle) {
      for (int i = 0; i < 100; ++i) n.send_ok("/queue/a", body);
      REQUIRE(n.settle());
      peak = std::max(peak, dir_bytes(dir.path()));
      n.client.got.clear();
      n.subscribe("s", "/queue/a");
      REQUIRE(n.client.got.size() == 100);
      REQUIRE(n.broker.unsubscribe(n.conn, "s").has_value());
      REQUIRE(n.settle());
      peak = std::max(peak, dir_bytes(dir.path()));
    }
    const JournalStats s = n.journal->stats();
    written = s.bytes_written;
    CHECK(s.compactions >= 10);
    CHECK(s.live_messages == 0);
  }
  // 100 live messages (~110 KiB) at most, the garbage floor (4 segments) and the
  // segments being filled: far below the 4+ MiB written.
  CHECK(written > 4'000'000);
  CHECK_MESSAGE(peak < 400 * 1024, "peak " << peak);
  Node n(cfg);
  CHECK(n.queued()["/queue/a"] == 0);
}

TEST_CASE("left-overs of a compaction cut short after its rename are removed at start-up") {
  TempDir dir, backup;
  const auto cfg = journal_config(dir.path(), 4096);
  {
    Node n(cfg, no_compaction());
    for (int i = 0; i < 50; ++i) n.send_ok("/queue/a", "m" + std::to_string(i));
    REQUIRE(n.settle());
    n.subscribe("s", "/queue/a", broker::AckMode::client_individual, {}, 40);
    REQUIRE(n.client.got.size() == 40);
    for (const Received& r : n.client.got) n.ack(r.ack_tag);
    REQUIRE(n.settle());
  }
  for (const auto& f : files_with(dir.path(), ".seg"))
    std::filesystem::copy_file(f, backup.file(std::filesystem::path(f).filename()));
  {
    Node n(cfg, eager());  // compacts right at start: lots of garbage
    REQUIRE(run_until(n.loop, [&] { return n.journal->stats().compactions == 1; }));
  }
  const auto ckpt = files_with(dir.path(), ".ckpt");
  REQUIRE(ckpt.size() == 1);
  // As if the process died between the rename and the deletions.
  for (const auto& f : files_with(backup.path(), ".seg"))
    std::filesystem::copy_file(f, dir.file(std::filesystem::path(f).filename()),
                               std::filesystem::copy_options::skip_existing);
  Node n(cfg, no_compaction());
  CHECK(n.queued()["/queue/a"] == 10);
  CHECK_FALSE(n.report.notes.empty());
  for (const auto& f : files_with(backup.path(), ".seg"))
    CHECK_FALSE(std::filesystem::exists(dir.file(std::filesystem::path(f).filename())));
  n.subscribe("s", "/queue/a");
  REQUIRE(n.client.got.size() == 10);
  CHECK(n.client.got[0].body == "m40");
  CHECK(n.client.got[9].body == "m49");
}

TEST_CASE("catch-up reads durable records from a seq; before the checkpoint it asks for a full sync") {
  TempDir dir;
  Node n(journal_config(dir.path(), 4096), no_compaction());
  for (int i = 0; i < 5; ++i) n.send_ok("/queue/a", "m" + std::to_string(i));
  n.send_ok("/queue/a", "np", false);
  n.send_ok("/queue/a", "m5");
  REQUIRE(n.settle());
  auto cur = n.journal->read_from(Seq{3});
  REQUIRE(cur.has_value());
  CHECK(cur->end() == Seq{8});
  std::vector<std::uint64_t> seqs;
  std::vector<std::uint32_t> skipped;
  EventDecoder dec;
  for (;;) {
    auto r = cur->next();
    REQUIRE(r.has_value());
    if (!*r) break;
    seqs.push_back((*r)->seq.value);
    skipped.push_back((*r)->skipped);
    auto ev = dec.decode((*r)->type, (*r)->payload);
    REQUIRE(ev.has_value());
    CHECK(std::holds_alternative<broker::MessageEnqueued>(**ev));
  }
  CHECK(seqs == std::vector<std::uint64_t>{3, 4, 5, 6, 8});
  CHECK(skipped == std::vector<std::uint32_t>{0, 0, 0, 0, 1});  // seq 7 was non-persistent
}

TEST_CASE("catch-up from before a checkpoint is refused with Errc::compacted") {
  TempDir dir;
  JournalOptions o;
  o.compaction_min_bytes = 8192;  // one compaction after the drain, none after "after"
  Node n(journal_config(dir.path(), 4096), o);
  for (int i = 0; i < 100; ++i) n.send_ok("/queue/a", std::string(200, 'x'));
  REQUIRE(n.settle());
  n.subscribe("s", "/queue/a");
  REQUIRE(run_until(n.loop, [&] { return n.journal->stats().compactions >= 1; }));
  // Kept, so it is written (one consumed as it is sent never is: Journal::cancel).
  REQUIRE(n.broker.unsubscribe(n.conn, "s").has_value());
  n.send_ok("/queue/a", "after");
  REQUIRE(n.settle());
  const Seq first = n.journal->first_seq();
  CHECK(first > Seq{1});
  auto old = n.journal->read_from(Seq{1});
  REQUIRE_FALSE(old.has_value());
  CHECK(old.error().code == static_cast<int>(Errc::compacted));
  auto cur = n.journal->read_from(first);
  REQUIRE_MESSAGE(cur.has_value(), (cur ? std::string() : cur.error().message));
  auto r = cur->next();
  REQUIRE(r.has_value());
  REQUIRE(r->has_value());
  CHECK((*r)->seq >= first);
  CHECK(n.journal->stats().compactions == 1);
}

TEST_CASE("retain_bytes (replicationRetainBytes): a compaction keeps the newest segments for a catch-up, does not count them as garbage, and they survive a restart") {
  TempDir dir;
  JournalOptions o;
  o.compaction_min_bytes = 8192;
  o.retain_bytes = 12u << 10;  // three 4 KiB segments of the ~30 KiB written
  Seq checkpoint, kept_from;
  {
    Node n(journal_config(dir.path(), 4096), o);
    for (int i = 0; i < 100; ++i) n.send_ok("/queue/a", std::string(200, 'x'));
    REQUIRE(n.settle());
    n.subscribe("s", "/queue/a");
    REQUIRE(run_until(n.loop, [&] { return n.journal->stats().compactions >= 1 && !n.journal->compacting(); }));
    // Kept, so it is written (one consumed as it is sent never is: Journal::cancel).
    REQUIRE(n.broker.unsubscribe(n.conn, "s").has_value());
    n.send_ok("/queue/a", "after");
    REQUIRE(n.settle());
    // The kept segments hold seqs before the checkpoint's: a catch-up reads them.
    const auto& files = n.journal->files().files();
    REQUIRE(files.front().kind == FileKind::checkpoint);
    checkpoint = files.front().seq;
    const Seq first = n.journal->first_seq();
    kept_from = first;
    CHECK(first > Seq{1});
    CHECK(first <= checkpoint);
    std::uint64_t kept = 0;
    for (const auto& f : files)
      if (f.kind == FileKind::segment && f.last <= checkpoint) kept += f.size;
    CHECK(kept > 0);
    CHECK(kept <= o.retain_bytes);
    auto cur = n.journal->read_from(first);
    REQUIRE_MESSAGE(cur.has_value(), (cur ? std::string() : cur.error().message));
    auto r = cur->next();
    REQUIRE(r.has_value());
    REQUIRE(r->has_value());
    CHECK((*r)->seq == first);
    // Not garbage: no second compaction for them (nothing else changed).
    CHECK(n.journal->stats().compactions == 1);
    // A full copy reads the checkpoint and the newer segments, not the kept ones again.
    auto all = n.journal->read_all(n.journal->last_durable_seq());
    REQUIRE(all.has_value());
    Seq prev{0};
    std::uint64_t records = 0;
    for (;;) {
      auto rec = all->next();
      REQUIRE(rec.has_value());
      if (!*rec) break;
      CHECK((*rec)->seq >= prev);
      prev = (*rec)->seq;
      ++records;
    }
    CHECK(records > 0);
  }
  {
    // Recovery keeps them by the same rule: a catch-up still reads them after a restart,
    // and what a restart lost is only what the segments do not hold.
    Node again(journal_config(dir.path(), 4096), o);
    CHECK(again.journal->first_seq() == kept_from);
    CHECK(again.journal->last_unjournaled_seq() < kept_from);
    auto cur = again.journal->read_from(kept_from);
    REQUIRE_MESSAGE(cur.has_value(), (cur ? std::string() : cur.error().message));
    auto r = cur->next();
    REQUIRE(r.has_value());
    REQUIRE(r->has_value());
    CHECK((*r)->seq == kept_from);
  }
  // Without retention the checkpoint covers them: they go, and the journal starts after it.
  Node plain(journal_config(dir.path(), 4096));
  CHECK(plain.journal->first_seq() == Seq{checkpoint.value + 1});
}

namespace {
// Makes every segment of `dir` look last written `age` ago.
void age_segments(const std::string& dir, std::chrono::hours age) {
  for (const auto& path : files_with(dir, ".seg"))
    std::filesystem::last_write_time(path, std::filesystem::file_time_type::clock::now() - age);
}
}  // namespace

TEST_CASE("retain_ms (replicationRetainPeriod): kept segments are released once last written that long ago, running or at a restart") {
  TempDir dir;
  JournalOptions o;
  o.compaction_min_bytes = 8192;
  o.retain_bytes = 12u << 10;
  o.retain_ms = 3'600'000;
  Seq checkpoint;
  {
    Node n(journal_config(dir.path(), 4096), o);
    for (int i = 0; i < 100; ++i) n.send_ok("/queue/a", std::string(200, 'x'));
    REQUIRE(n.settle());
    n.subscribe("s", "/queue/a");
    REQUIRE(run_until(n.loop, [&] { return n.journal->stats().compactions >= 1 && !n.journal->compacting(); }));
    checkpoint = n.journal->files().files().front().seq;
    REQUIRE(n.journal->first_seq() <= checkpoint);
    // Two hours old: the running journal's periodic check releases them.
    age_segments(dir.path(), std::chrono::hours(2));
    REQUIRE_MESSAGE(run_until(n.loop, [&] { return n.journal->first_seq() > checkpoint; }),
                    "first seq " << n.journal->first_seq().value << ", checkpoint " << checkpoint.value);
  }
  {
    // Kept again by the next compaction, then aged while stopped: a restart drops them.
    Node n(journal_config(dir.path(), 4096), o);
    for (int i = 0; i < 100; ++i) n.send_ok("/queue/c", std::string(200, 'y'));
    REQUIRE(n.settle());
    n.subscribe("s2", "/queue/c");
    REQUIRE(run_until(n.loop, [&] { return n.journal->stats().compactions >= 1 && !n.journal->compacting(); }));
    checkpoint = n.journal->files().files().front().seq;
    REQUIRE(n.journal->first_seq() <= checkpoint);
  }
  age_segments(dir.path(), std::chrono::hours(2));
  Node again(journal_config(dir.path(), 4096), o);
  CHECK(again.journal->first_seq() == Seq{checkpoint.value + 1});
}
