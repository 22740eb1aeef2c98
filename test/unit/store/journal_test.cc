// The journal with a real broker on a real loop: what is durable when, group commit,
// segment rolls, and restarts that give back exactly the persistent state.
#include <doctest.h>

#include <unistd.h>

#include "store/errors.h"
#include "support.h"

using namespace twinmq;
using namespace twinmq::store;
using namespace twinmq::store::test;

TEST_CASE("persistent messages survive a restart; non-persistent ones do not; ids keep counting") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  std::string store_id;
  std::uint64_t last_id = 0;
  {
    Node n(cfg);
    CHECK(n.report.last_seq == Seq{0});
    store_id = n.journal->identity().id.to_string();
    n.send_ok("/queue/a", "p1");
    n.send_ok("/queue/a", "n1", false);
    n.send_ok("/queue/a", "p2");
    REQUIRE(n.settle());
    CHECK(n.queued()["/queue/a"] == 3);
    n.subscribe("s", "/queue/b");  // nothing there; just state
    last_id = 3;
  }
  Node n(cfg);
  CHECK(n.journal->identity().id.to_string() == store_id);
  CHECK(n.queued()["/queue/a"] == 2);
  n.subscribe("s", "/queue/a");
  REQUIRE(n.client.got.size() == 2);
  CHECK(n.client.got[0].body == "p1");
  CHECK(n.client.got[1].body == "p2");
  CHECK(n.client.got[0].id_text == "ID:test-1");
  n.send_ok("/queue/c", "after");
  n.subscribe("c", "/queue/c");
  REQUIRE(n.client.got.size() == 3);
  CHECK(n.client.got[2].id > last_id);
}

TEST_CASE("the gate moves only when the writer has reported the batch durable") {
  TempDir dir;
  Node n(journal_config(dir.path()));
  const Seq s = n.send_ok("/queue/a", "x");
  CHECK(n.journal->last_seq() == s);
  CHECK(n.journal->last_durable_seq() < s);
  CHECK(n.broker.reply_gate().released() < s);
  REQUIRE(n.settle());
  CHECK(n.journal->last_durable_seq() == s);
  CHECK(n.broker.reply_gate().released() == s);

  // A turn with only non-persistent work is released without touching the disk.
  const auto batches = n.journal->stats().batches;
  n.send_ok("/queue/a", "y", false);
  const Seq q = n.send_ok("/queue/a", "z", false);
  CHECK(q > s);
  REQUIRE(n.settle());
  CHECK(n.broker.reply_gate().released() == n.journal->last_seq());
  CHECK(n.journal->stats().batches == batches);
}

TEST_CASE("group commit: a thousand events in one loop turn are one batch and one fdatasync") {
  TempDir dir;
  Node n(journal_config(dir.path()));
  for (int i = 0; i < 1000; ++i) n.send_ok("/queue/a", "m" + std::to_string(i));
  REQUIRE(n.settle());
  const JournalStats s = n.journal->stats();
  CHECK(s.records == 1001);  // DestinationAdded + 1000 messages
  CHECK(s.batches == 1);
  CHECK(s.write_groups == 1);
  CHECK(s.syncs == 1);
}

TEST_CASE("group commit: batches that pile up while the writer cannot write share one fdatasync") {
  FaultGuard faults;
  TempDir dir;
  JournalOptions opts;
  opts.retry_interval = std::chrono::milliseconds(5);
  Node n(journal_config(dir.path()), opts);
  arm_fault(FaultPoint::write_eio, 1 << 30);
  // One persistent event per loop turn: every turn hands the writer its own batch.
  // (Straight into the event log: the broker refuses persistent sends while writes fail.)
  int sent = 0;
  std::vector<std::string> names;
  auto tick = net::Timer::create(n.loop);
  tick->start(1, 1, [&] {
    if (sent < 20) {
      names.push_back("/queue/q" + std::to_string(sent++));
      n.broker.event_log().append(broker::DestinationAdded{names.back()});
      if (sent == 20) disarm_all_faults();
    }
  });
  REQUIRE(run_until(n.loop, [&] { return sent == 20 && n.journal->last_durable_seq() == n.journal->last_seq(); }));
  tick->stop();
  const JournalStats s = n.journal->stats();
  CHECK(s.batches == 20);
  CHECK(s.write_failures > 0);
  // The first batch, retried alone until the disk came back, then the other 19 at once.
  CHECK(s.write_groups == 2);
  CHECK(s.syncs == 2);
}

TEST_CASE("segments roll at maxSegmentSize and recovery reads across all of them, in order") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 4096);
  const std::string body(200, 'b');
  {
    Node n(cfg, no_compaction());
    for (int i = 0; i < 100; ++i) {
      n.send_ok("/queue/a", body + std::to_string(i));
      if (i % 10 == 9) REQUIRE(n.settle());
    }
    REQUIRE(n.settle());
  }
  const auto segs = files_with(dir.path(), ".seg");
  CHECK(segs.size() >= 6);
  for (const auto& s : segs) CHECK(std::filesystem::file_size(s) <= 4096);
  Node n(cfg, no_compaction());
  CHECK(n.report.files.size() == segs.size());
  n.subscribe("s", "/queue/a");
  REQUIRE(n.client.got.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(n.client.got[i].body == body + std::to_string(i));
}

TEST_CASE("recovery into a real broker gives back the same queues, backlogs and dead letters") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 8192);
  std::map<std::string, std::size_t> before;
  {
    Node n(cfg, no_compaction());
    // Durable subscriptions d1, d2 on /topic/t, offline while messages arrive.
    n.subscribe("d1", "/topic/t", broker::AckMode::client_individual, "d1");
    n.subscribe("d2", "/topic/t", broker::AckMode::auto_ack, "d2");
    REQUIRE(n.broker.unsubscribe(n.conn, "d1").has_value());
    REQUIRE(n.broker.unsubscribe(n.conn, "d2").has_value());
    for (int i = 0; i < 4; ++i) n.send_ok("/topic/t", "t" + std::to_string(i));
    n.send_ok("/topic/t", "np", false);
    for (int i = 0; i < 10; ++i) n.send_ok("/queue/a", "a" + std::to_string(i));
    for (int i = 0; i < 5; ++i) n.send_ok("/queue/b", "b" + std::to_string(i));
    for (int i = 0; i < 5; ++i) n.send_ok("/queue/b", "nb" + std::to_string(i), false);
    for (int i = 0; i < 2; ++i) n.send_ok("/queue/poison", "d" + std::to_string(i));
    // d1 back online: acks two of its four.
    n.subscribe("d1", "/topic/t", broker::AckMode::client_individual, "d1", 2);
    REQUIRE(n.client.got.size() == 2);
    n.ack(n.client.got[0].ack_tag);
    n.ack(n.client.got[1].ack_tag);
    REQUIRE(n.broker.unsubscribe(n.conn, "d1").has_value());
    // /queue/a: three acked, two held unacked (they come back after the restart).
    n.client.got.clear();
    n.subscribe("a", "/queue/a", broker::AckMode::client_individual, {}, 5);
    REQUIRE(n.client.got.size() == 5);
    for (int i = 0; i < 3; ++i) n.ack(n.client.got[i].ack_tag);
    // A transaction: two sends to /queue/c and an ack of a held /queue/a message.
    REQUIRE(n.broker.begin(n.conn, "tx").has_value());
    n.send_ok("/queue/c", "c0", true, "tx");
    n.send_ok("/queue/c", "c1", true, "tx");
    n.ack(n.client.got[3].ack_tag, false, "tx");
    REQUIRE(n.broker.commit(n.conn, "tx").has_value());
    // /queue/poison: one NACKed straight into the DLQ.
    n.client.got.clear();
    n.subscribe("d", "/queue/poison", broker::AckMode::client_individual, {}, 1);
    REQUIRE(n.client.got.size() == 1);
    n.ack(n.client.got[0].ack_tag, /*nack=*/true);
    // The second was delivered next; given back, it has used up its redeliveries too.
    REQUIRE(n.broker.unsubscribe(n.conn, "d").has_value());
    REQUIRE(n.settle());
    before = n.queued();
  }
  CHECK(before["/queue/a"] == 6);
  CHECK(before["/queue/b"] == 10);
  CHECK(before["/queue/c"] == 2);
  CHECK(before["/queue/DLQ"] == 2);
  Node n(cfg, no_compaction());
  auto after = n.queued();
  CHECK(after["/queue/a"] == 6);
  CHECK(after["/queue/b"] == 5);  // the non-persistent five are gone
  CHECK(after["/queue/c"] == 2);
  CHECK(after["/queue/poison"] == 0);
  CHECK(after["/queue/DLQ"] == 2);
  CHECK(after[broker::durable_key("c1", "d1")] == 2);
  CHECK(after[broker::durable_key("c1", "d2")] == 4);
  // The non-persistent ones: five on /queue/b, one in each durable backlog.
  before["/queue/b"] = 5;
  before[broker::durable_key("c1", "d1")] -= 1;
  before[broker::durable_key("c1", "d2")] -= 1;
  CHECK_MESSAGE(after == before, describe(after) << " vs " << describe(before));
  CHECK(n.journal->stats().live_messages == 6 + 5 + 2 + 2 + 4);  // a topic message counts once
}

TEST_CASE("a clean close accounts for trailing non-persistent seqs: numbering continues after them") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  Seq last;
  {
    Node n(cfg);
    n.send_ok("/queue/a", "p");
    n.send_ok("/queue/a", "n1", false);
    last = n.send_ok("/queue/a", "n2", false);
    REQUIRE(n.settle());
  }
  Node n(cfg);
  CHECK(n.report.last_seq == last);
  CHECK(n.broker.event_log().last() == last);
}

TEST_CASE("a second broker on the same directory is refused, naming the holder's pid") {
  TempDir dir;
  Node n(journal_config(dir.path()));
  net::Loop loop2;
  auto second = Journal::open(loop2, journal_config(dir.path()));
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().code == static_cast<int>(Errc::in_use));
  CHECK(second.error().message ==
        "data directory " + dir.path() + " is in use by pid " + std::to_string(::getpid()));
  CHECK(DirLock::holder(dir.path()) == ::getpid());
}

TEST_CASE("syncOnWrite=false writes without fdatasync and still recovers after a process restart") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 32u << 20, /*sync=*/false);
  {
    Node n(cfg);
    for (int i = 0; i < 10; ++i) n.send_ok("/queue/a", "m");
    REQUIRE(n.settle());
    CHECK(n.journal->stats().syncs == 0);
  }
  Node n(cfg);
  CHECK(n.queued()["/queue/a"] == 10);
}

TEST_CASE("bump_epoch persists the epoch and starts a segment that carries it") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  {
    Node n(cfg);
    n.send_ok("/queue/a", "before");
    REQUIRE(n.settle());
    CHECK(n.journal->epoch() == 0);
    auto e = n.journal->bump_epoch();
    REQUIRE(e.has_value());
    CHECK(*e == 1);
    n.send_ok("/queue/a", "after");
    REQUIRE(n.settle());
  }
  const auto segs = files_with(dir.path(), ".seg");
  REQUIRE(segs.size() == 2);
  FileHeader h;
  const std::string second = read_file(segs[1]);
  REQUIRE(decode_file_header(std::as_bytes(std::span(second.data(), second.size())), h) == HeaderCheck::ok);
  CHECK(h.epoch == 1);
  Node n(cfg);
  CHECK(n.journal->epoch() == 1);
  CHECK(n.queued()["/queue/a"] == 2);
}

TEST_CASE("journal files without an identity file are refused, not disowned") {
  TempDir dir;
  const auto cfg = journal_config(dir.path());
  {
    Node n(cfg);
    n.send_ok("/queue/a", "x");
    REQUIRE(n.settle());
  }
  std::filesystem::remove(dir.file("identity"));
  net::Loop loop;
  auto j = Journal::open(loop, cfg);
  REQUIRE_FALSE(j.has_value());
  CHECK(j.error().message.find("no identity file") != std::string::npos);
}

TEST_CASE("maxSegmentSize below the minimum is refused") {
  TempDir dir;
  net::Loop loop;
  auto j = Journal::open(loop, journal_config(dir.path(), 100));
  REQUIRE_FALSE(j.has_value());
  CHECK(j.error().message.find("maxSegmentSize 100") != std::string::npos);
}

TEST_CASE("the writer keeps zeroed space ahead of its writes; a roll and a clean close cut it off") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 256u << 10);
  const std::string body(1000, 'z');
  auto file_sizes = [&](const Journal& j) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;  // (on disk, laid out)
    for (const JournalFile& f : j.files().files())
      if (f.kind == FileKind::segment) out.emplace_back(std::filesystem::file_size(f.path), f.size);
    return out;
  };
  std::uint64_t laid_out_total = 0;
  {
    Node n(cfg, no_compaction());
    for (int i = 0; i < 600; ++i) {
      n.send_ok("/queue/a", body);
      if (i % 20 == 19) REQUIRE(n.settle());
    }
    REQUIRE(n.settle());
    const auto sizes = file_sizes(*n.journal);
    REQUIRE(sizes.size() >= 3);
    // Older segments end at their last record; the newest one has zeros ahead, up to
    // maxSegmentSize at most.
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i) CHECK(sizes[i].first == sizes[i].second);
    CHECK(sizes.back().first > sizes.back().second);
    CHECK(sizes.back().first <= cfg.max_segment_size);
    for (const auto& s : sizes) laid_out_total += s.second;
  }
  std::uint64_t on_disk_total = 0;
  for (const auto& s : files_with(dir.path(), ".seg")) on_disk_total += std::filesystem::file_size(s);
  CHECK(on_disk_total == laid_out_total);
  Node n(cfg, no_compaction());
  CHECK(n.report.truncated_bytes == 0);
  CHECK(n.queued()["/queue/a"] == 600);
}

TEST_CASE("syncOnWrite=false keeps no zeroed space (no fdatasync would profit from it)") {
  TempDir dir;
  const auto cfg = journal_config(dir.path(), 32u << 20, /*sync=*/false);
  Node n(cfg);
  for (int i = 0; i < 10; ++i) n.send_ok("/queue/a", "m");
  REQUIRE(n.settle());
  REQUIRE_FALSE(n.journal->files().files().empty());
  const JournalFile& tail = n.journal->files().files().back();
  CHECK(std::filesystem::file_size(tail.path) == tail.size);
}
