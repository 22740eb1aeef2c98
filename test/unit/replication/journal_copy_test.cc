// The full copy read from the master's journal (replication/journal_copy.h), without a
// link: the frames a JournalCopySender produces are fed to a SnapshotReceiver on a fresh
// directory, the copy is opened as a journal, and what it holds is compared with the
// master, message for message. A copy that starts while a compaction runs waits for
// it; a pinned journal starts no compaction until the pin goes.
#include <doctest.h>

#include <map>

#include "replication/journal_copy.h"
#include "store/verify.h"
#include "support.h"

using namespace twinmq;
using namespace twinmq::replication;
using namespace twinmq::replication::test;

namespace {

// One broker with a journal of small segments that compacts once garbage exceeds the
// live bytes and 32 KiB.
struct Node {
  net::Loop loop;
  std::unique_ptr<store::Journal> journal;
  broker::Broker broker{broker_options("master")};
  RecordingClient client;
  ConnId conn;

  explicit Node(const std::string& dir) {
    config::JournalConfig c = journal_config(dir);
    c.max_segment_size = 64u << 10;
    store::JournalOptions o;
    o.compaction_min_bytes = 32u << 10;
    auto j = store::Journal::open(loop, c, o);
    REQUIRE(j.has_value());
    journal = std::move(*j);
    REQUIRE(journal->start(broker).has_value());
    conn = broker.attach(client, "c1");
  }
  ~Node() {
    broker.detach(conn);
    journal->close();
  }
  void send(std::string_view dest, std::string_view body, bool persistent) {
    broker::SendRequest r;
    r.destination = dest;
    r.body = body;
    r.persistent = persistent;
    REQUIRE(broker.send(conn, r).has_value());
  }
  void subscribe(std::string_view id, std::string_view dest, std::string_view durable = {}) {
    broker::SubscribeRequest r;
    r.id = id;
    r.destination = dest;
    r.durable_name = durable;
    REQUIRE(broker.subscribe(conn, r).has_value());
  }
  void unsubscribe(std::string_view id) { REQUIRE(broker.unsubscribe(conn, id).has_value()); }
};

// Everything a broker holds in the destinations the test fills, in delivery order
// (consumed: auto ack), through `conn` (client id c1, the durable subscriptions' owner).
std::map<std::string, std::vector<std::string>> contents(broker::Broker& b, ConnId conn, RecordingClient& c) {
  std::map<std::string, std::vector<std::string>> out;
  auto take = [&](std::string_view id, std::string_view dest, std::string_view durable) {
    c.bodies.clear();
    broker::SubscribeRequest r;
    r.id = id;
    r.destination = dest;
    r.durable_name = durable;
    REQUIRE(b.subscribe(conn, r).has_value());
    out[std::string(id)] = c.bodies;
    REQUIRE(b.unsubscribe(conn, id).has_value());
  };
  take("keep", "/queue/keep", {});
  take("np", "/queue/np", {});
  take("churn", "/queue/churn", {});
  take("d1", "/topic/t", "d1");
  take("d2", "/topic/t", "d2");
  return out;
}

// Feeds the sender's frames to a receiver making `dir` a copy; returns the copy's broker.
struct Copy {
  std::unique_ptr<SnapshotReceiver> receiver;
  FrameReader reader{kMaxMasterFrame};
  bool ended = false;
  std::string error;

  void feed(const std::string& bytes, const std::string& dir, const store::StoreIdentity& identity,
            broker::Broker& scratch) {
    auto r = reader.feed(bytes, [&](const fbr::Frame& f) {
      Result<void> step;
      switch (f.body_type()) {
        case fbr::Body::SnapshotBegin: {
          auto rec = SnapshotReceiver::begin(dir, identity, *f.body_as_SnapshotBegin(), scratch);
          if (!rec) {
            error = rec.error().message;
            return false;
          }
          receiver = std::move(*rec);
          return true;
        }
        case fbr::Body::SnapshotChunk:
          for (const auto* rec : *f.body_as_SnapshotChunk()->records()) {
            step = receiver->add(*rec);
            if (!step) break;
          }
          break;
        case fbr::Body::SnapshotEnd:
          step = receiver->finish(*f.body_as_SnapshotEnd());
          ended = true;
          break;
        default:
          error = "unexpected frame";
          return false;
      }
      if (!step) error = step.error().message;
      return error.empty();
    });
    if (!r) error = r.error().message;
  }
};

}  // namespace

TEST_CASE("a full copy read from the journal waits for a running compaction, holds the next off, and rebuilds the master exactly") {
  TempDir dirs;
  Node m(dirs.path() + "/master");
  const std::string body(700, 'b');
  // Durable subscriptions: d1 offline from the start, d2 consumes part of the backlog.
  m.subscribe("d1", "/topic/t", "d1");
  m.unsubscribe("d1");
  m.subscribe("d2", "/topic/t", "d2");
  m.unsubscribe("d2");
  for (int i = 0; i < 300; ++i) m.send("/queue/keep", "k" + std::to_string(i) + body, true);
  for (int i = 0; i < 20; ++i) m.send("/queue/np", "np" + std::to_string(i), false);
  for (int i = 0; i < 30; ++i) m.send("/topic/t", "t" + std::to_string(i) + body, i % 5 != 0);
  m.subscribe("d2", "/topic/t", "d2");  // takes every message so far (auto ack)
  m.unsubscribe("d2");
  for (int i = 30; i < 40; ++i) m.send("/topic/t", "t" + std::to_string(i), true);
  // Churn (sent, then consumed) until a compaction is running; the copy starts then.
  // Sent while nobody consumes, so each is written (a SEND consumed the moment it is
  // sent is never written: Journal::cancel), then drained.
  std::unique_ptr<JournalCopySender> sender;
  std::optional<store::Journal::FilePin> pin;
  std::string out;
  bool waited = false;
  std::uint64_t compactions_at_start = 0;
  for (int round = 0; round < 200 && !sender; ++round) {
    for (int i = 0; i < 50; ++i) m.send("/queue/churn", "c" + body, true);
    m.subscribe("churn", "/queue/churn");
    m.unsubscribe("churn");
    run_until(m.loop, [&] {
      if (m.journal->compacting()) {
        // As the MasterLink does: pin, then the copy as of now.
        pin = m.journal->pin_files();
        compactions_at_start = m.journal->stats().compactions;
        sender = std::make_unique<JournalCopySender>(m.loop, *m.journal, m.broker.take_memory_snapshot(), "test");
        waited = !sender->pump(out, 64u << 10) && out.empty() && sender->failure().empty();
        return true;
      }
      return m.journal->last_durable_seq() == m.journal->last_seq();
    });
  }
  REQUIRE_MESSAGE(sender != nullptr, "no compaction ever ran");
  CHECK_MESSAGE(waited, "the copy did not wait for the running compaction");
  // The master's state as of the copy's seq: only churn happened since. (Draining it
  // makes more garbage.)
  const auto expected = contents(m.broker, m.conn, m.client);

  // The copy, a little per loop turn, while churn goes on making garbage.
  TempDir target;
  const std::string copy_dir = target.path() + "/copy";
  REQUIRE(reset_store_directory(copy_dir, m.journal->identity()).has_value());
  broker::Broker scratch(broker_options("slave"));
  Copy copy;
  copy.feed(out, copy_dir, m.journal->identity(), scratch);
  out.clear();
  bool done = false;
  REQUIRE(run_until(m.loop, [&] {
    for (int i = 0; i < 5; ++i) m.send("/queue/churn", "late" + body, true);
    m.subscribe("churn", "/queue/churn");
    m.unsubscribe("churn");
    done = sender->pump(out, 64u << 10);
    REQUIRE_MESSAGE(sender->failure().empty(), sender->failure());
    copy.feed(out, copy_dir, m.journal->identity(), scratch);
    out.clear();
    REQUIRE_MESSAGE(copy.error.empty(), copy.error);
    return done;
  }));
  CHECK(copy.ended);
  // The compaction that ran when the copy began finished; no other started meanwhile,
  // although the churn made more garbage than live data.
  REQUIRE(run_until(m.loop, [&] { return !m.journal->compacting(); }));
  CHECK(m.journal->stats().compactions == compactions_at_start + 1);
  sender.reset();
  pin.reset();  // released: the compaction held off starts now
  CHECK(m.journal->compacting());
  REQUIRE(run_until(m.loop, [&] { return !m.journal->compacting(); }));

  // The copy verifies as a store and holds exactly what the master held.
  auto report = store::verify_store(copy_dir);
  REQUIRE(report.has_value());
  CHECK_MESSAGE(report->ok(), "copy does not verify");
  net::Loop loop2;
  broker::Broker copied(broker_options("slave"));
  {
    auto j = store::Journal::open(loop2, journal_config(copy_dir));
    REQUIRE(j.has_value());
    REQUIRE((*j)->start(copied).has_value());
    REQUIRE(copy.receiver->apply_memory_events(copied).has_value());
    RecordingClient c;
    const ConnId conn = copied.attach(c, "c1");
    CHECK(contents(copied, conn, c) == expected);
    copied.detach(conn);
    CHECK(expected.at("keep").size() == 300);
    CHECK(expected.at("np").size() == 20);
    CHECK(expected.at("d1").size() == 40);
    CHECK(expected.at("d2").size() == 10);
    (*j)->close();
  }
}
