// Duplicate detection (broker/duplicates.h): the window itself against a model, a
// re-sent SEND dropped with its receipt held as long as the original's, the bound, the
// per-destination scope, topics, transactions, the id length limit, and the window
// rebuilt by apply() — from the event log (a slave, a replay) and from a snapshot (a new
// slave's initial sync).
#include <algorithm>
#include <deque>
#include <map>
#include <random>
#include <set>

#include "broker/snapshot.h"
#include "support.h"

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

namespace {

// A SEND with `_AMQ_DUPL_ID: dup` (and one other header, so the id is not the first).
Result<Seq> send_id(Fixture& f, ConnId c, std::string_view dest, std::string_view body, std::string_view dup,
                    bool persistent = false, std::string_view tx = {}) {
  const HeaderView headers[] = {{"x-app", "a"}, {kDuplicateIdHeader, dup}};
  SendRequest r;
  r.destination = dest;
  r.body = body;
  r.headers = headers;
  r.persistent = persistent;
  r.transaction = tx;
  return f.broker->send(c, r);
}

std::vector<std::string> ids(std::initializer_list<const char*> l) { return {l.begin(), l.end()}; }

// The windows of every destination named, read through the broker's observer.
std::map<std::string, std::vector<std::string>> windows(const Broker& b, const std::vector<std::string>& dests) {
  std::map<std::string, std::vector<std::string>> out;
  for (const std::string& d : dests) out[d] = b.duplicate_window(d);
  return out;
}

}  // namespace

TEST_CASE("duplicate window: FIFO with a bound, same as a model through many turnovers") {
  DuplicateWindow w(3);
  CHECK(w.insert("a", true));
  CHECK(w.insert("b", true));
  CHECK_FALSE(w.insert("a", true));  // already there: keeps its place
  CHECK(w.insert("c", false));
  CHECK(w.insert("d", true));  // evicts a, the oldest
  CHECK_FALSE(w.contains("a"));
  std::vector<std::string> order;
  w.for_each([&](std::string_view id, bool) { order.emplace_back(id); });
  CHECK(order == ids({"b", "c", "d"}));
  w.set_capacity(2);  // shrinking drops the oldest
  CHECK_FALSE(w.contains("b"));
  CHECK(w.contains("c"));
  CHECK(w.id_bytes() == 2);
  CHECK(w.non_persistent() == 1);  // c
  w.insert("e", true);              // evicts c
  CHECK(w.non_persistent() == 0);

  // Random inserts (a small id space, so repeats and turnover both happen) and
  // resizes against a deque + set.
  std::mt19937 rng(7);
  DuplicateWindow big(50);
  std::deque<std::string> model;
  std::uint32_t cap = 50;
  for (int step = 0; step < 200000; ++step) {
    if (step % 20000 == 19999) {
      cap = 10 + rng() % 90;
      big.set_capacity(cap);
      while (model.size() > cap) model.pop_front();
    }
    const std::string id = "id-" + std::to_string(rng() % 300);
    const bool known = std::find(model.begin(), model.end(), id) != model.end();
    REQUIRE(big.contains(id) == known);
    REQUIRE(big.insert(id, true) == !known);
    if (!known) {
      model.push_back(id);
      if (model.size() > cap) model.pop_front();
    }
  }
  std::vector<std::string> got;
  big.for_each([&](std::string_view id, bool) { got.emplace_back(id); });
  CHECK(got == std::vector<std::string>(model.begin(), model.end()));
  for (const std::string& id : model) CHECK(big.contains(id));
}

TEST_CASE_FIXTURE(Fixture, "duplicates: a repeated SEND is dropped and its receipt waits as long as the original's") {
  RecordingClient c, p;
  ConnId cid = attach(c), pid = attach(p);
  subscribe_ok(cid, "s", "/queue/q");
  auto first = send_id(*this, pid, "/queue/q", "one", "m-1", true);
  REQUIRE(first.has_value());
  const std::size_t events = sink.events.size();

  auto again = send_id(*this, pid, "/queue/q", "one (re-sent)", "m-1", true);
  REQUIRE(again.has_value());
  // Nothing happened, but the receipt may not overtake the original's: it is held at
  // the log's last seq, which is at or after the original's.
  CHECK(sink.events.size() == events);
  CHECK(*again >= *first);
  CHECK(*again == broker->event_log().last());
  CHECK(c.bodies() == strings({"one"}));
  CHECK(broker->duplicate_stats().dropped == 1);
  CHECK(stat("/queue/q").duplicates_dropped == 1);
  CHECK(stat("/queue/q").enqueued == 1);

  // Other ids, and SENDs without one, go through; an empty id is no id.
  REQUIRE(send_id(*this, pid, "/queue/q", "two", "m-2").has_value());
  send_ok(pid, "/queue/q", "no id");
  send_ok(pid, "/queue/q", "no id");
  REQUIRE(send_id(*this, pid, "/queue/q", "empty", "").has_value());
  REQUIRE(send_id(*this, pid, "/queue/q", "empty", "").has_value());
  CHECK(c.bodies() == strings({"one", "two", "no id", "no id", "empty", "empty"}));
  CHECK(broker->duplicate_window("/queue/q") == ids({"m-1", "m-2"}));
}

TEST_CASE_FIXTURE(Fixture, "duplicates: the window keeps idCacheSize ids per destination, evicting the oldest") {
  policy.id_cache_size = 3;
  broker = make_broker();
  RecordingClient p;
  ConnId pid = attach(p);
  for (const char* id : {"a", "b", "c", "d"}) REQUIRE(send_id(*this, pid, "/queue/q", id, id).has_value());
  CHECK(broker->duplicate_window("/queue/q") == ids({"b", "c", "d"}));
  // a was evicted: a re-send of it is stored again (and evicts b).
  REQUIRE(send_id(*this, pid, "/queue/q", "a again", "a").has_value());
  REQUIRE(send_id(*this, pid, "/queue/q", "d again", "d").has_value());
  CHECK(stat("/queue/q").enqueued == 5);
  CHECK(broker->duplicate_window("/queue/q") == ids({"c", "d", "a"}));

  // Per destination: the same id elsewhere is another message, and has its own window.
  REQUIRE(send_id(*this, pid, "/queue/other", "c elsewhere", "c").has_value());
  CHECK(stat("/queue/other").enqueued == 1);
  CHECK(broker->duplicate_window("/queue/other") == ids({"c"}));
  CHECK(broker->duplicate_stats().windows == 2);
  CHECK(broker->duplicate_stats().ids == 4);
}

TEST_CASE_FIXTURE(Fixture, "duplicates: idCacheSize 0 turns detection off for a destination") {
  policy.id_cache_size = 0;
  broker = make_broker();
  RecordingClient p;
  ConnId pid = attach(p);
  REQUIRE(send_id(*this, pid, "/queue/q", "1", "x").has_value());
  REQUIRE(send_id(*this, pid, "/queue/q", "2", "x").has_value());
  CHECK(stat("/queue/q").enqueued == 2);
  CHECK(broker->duplicate_stats().windows == 0);
}

TEST_CASE_FIXTURE(Fixture, "duplicates: an id longer than the limit is refused, naming the limit") {
  RecordingClient p;
  ConnId pid = attach(p);
  REQUIRE(send_id(*this, pid, "/queue/q", "ok", std::string(kMaxDuplicateIdBytes, 'x')).has_value());
  auto r = send_id(*this, pid, "/queue/q", "too long", std::string(kMaxDuplicateIdBytes + 1, 'x'));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(Errc::invalid_duplicate_id));
  CHECK(r.error().message.find("_AMQ_DUPL_ID") != std::string::npos);
  CHECK(r.error().message.find("at most 256 bytes") != std::string::npos);
  CHECK(stat("/queue/q").enqueued == 1);
}

TEST_CASE_FIXTURE(Fixture, "duplicates: non-persistent SENDs and topics are covered too") {
  RecordingClient live, p;
  ConnId lid = attach(live), pid = attach(p);
  subscribe_ok(lid, "t", "/topic/news");
  REQUIRE(send_id(*this, pid, "/topic/news", "headline", "n-1").has_value());
  // No durable subscription keeps it, so the id is an event of its own.
  REQUIRE(sink.events.back().type == duplicate_ids);
  CHECK(sink.events.back().ids == ids({"n-1"}));
  CHECK_FALSE(sink.events.back().persistent);
  REQUIRE(send_id(*this, pid, "/topic/news", "headline (re-sent)", "n-1").has_value());
  CHECK(live.bodies() == strings({"headline"}));

  // A topic nobody listens to still remembers the id (a subscriber may come).
  REQUIRE(send_id(*this, pid, "/topic/quiet", "x", "q-1", true).has_value());
  CHECK(sink.events.back().persistent);
  CHECK(broker->duplicate_window("/topic/quiet") == ids({"q-1"}));
  CHECK(broker->duplicate_stats().non_persistent_ids == 1);  // n-1

  // With a durable subscription the message event carries the id.
  RecordingClient d;
  ConnId did = attach(d, "app");
  subscribe_ok(did, "d", "/topic/kept", AckMode::client_individual, 0, "dur");
  REQUIRE(send_id(*this, pid, "/topic/kept", "kept", "k-1", true).has_value());
  CHECK(sink.events.back().type == enqueued);
  REQUIRE(send_id(*this, pid, "/topic/kept", "kept again", "k-1", true).has_value());
  CHECK(d.bodies() == strings({"kept"}));
}

TEST_CASE_FIXTURE(Fixture, "duplicates: COMMIT drops the sends whose id is known and commits the rest") {
  RecordingClient c, p;
  ConnId cid = attach(c), pid = attach(p);
  subscribe_ok(cid, "s", "/queue/q");
  REQUIRE(send_id(*this, pid, "/queue/q", "a", "a", true).has_value());

  // Checked at COMMIT, not at SEND: sent again inside a transaction, it is still held.
  REQUIRE(broker->begin(pid, "tx").has_value());
  REQUIRE(send_id(*this, pid, "/queue/q", "a (re-sent)", "a", true, "tx").has_value());
  REQUIRE(send_id(*this, pid, "/queue/q", "b", "b", true, "tx").has_value());
  REQUIRE(send_id(*this, pid, "/queue/q", "b twice in one transaction", "b", true, "tx").has_value());
  REQUIRE(send_id(*this, pid, "/queue/q", "no id", "", true, "tx").has_value());
  REQUIRE(send_id(*this, pid, "/topic/t", "topic id", "t", true, "tx").has_value());
  auto done = broker->commit(pid, "tx");
  REQUIRE(done.has_value());
  CHECK(c.bodies() == strings({"a", "b", "no id"}));
  CHECK(broker->duplicate_stats().dropped == 2);
  CHECK(broker->duplicate_window("/queue/q") == ids({"a", "b"}));
  // The topic send's id travelled in the commit (atomically with it).
  CHECK(broker->duplicate_window("/topic/t") == ids({"t"}));
  auto commit_event = std::find_if(sink.events.rbegin(), sink.events.rend(),
                                   [](const RecordedEvent& r) { return r.type == committed; });
  REQUIRE(commit_event != sink.events.rend());
  CHECK(commit_event->sends.size() == 3);  // b, the one without an id, and the topic send

  // A transaction redone with the same ids stores nothing twice; an aborted one
  // records nothing.
  REQUIRE(broker->begin(pid, "redo").has_value());
  REQUIRE(send_id(*this, pid, "/queue/q", "b", "b", true, "redo").has_value());
  REQUIRE(send_id(*this, pid, "/queue/q", "c", "c", true, "redo").has_value());
  REQUIRE(broker->commit(pid, "redo").has_value());
  REQUIRE(broker->begin(pid, "gone").has_value());
  REQUIRE(send_id(*this, pid, "/queue/q", "d", "d", true, "gone").has_value());
  REQUIRE(broker->abort(pid, "gone").has_value());
  CHECK(c.bodies() == strings({"a", "b", "no id", "c"}));
  CHECK(broker->duplicate_window("/queue/q") == ids({"a", "b", "c"}));

  // All sends dropped: the COMMIT changes nothing, but its receipt waits as the originals'.
  REQUIRE(broker->begin(pid, "all").has_value());
  REQUIRE(send_id(*this, pid, "/queue/q", "c", "c", true, "all").has_value());
  const std::size_t events = sink.events.size();
  auto none = broker->commit(pid, "all");
  REQUIRE(none.has_value());
  CHECK(sink.events.size() == events);
  CHECK(*none == broker->event_log().last());
}

TEST_CASE_FIXTURE(Fixture, "duplicates: apply() of the events rebuilds the same windows (a slave, a replay)") {
  policy.id_cache_size = 4;
  broker = make_broker();
  RecordingClient c, p;
  ConnId cid = attach(c), pid = attach(p);
  subscribe_ok(cid, "s", "/queue/q", AckMode::client_individual, 1000);
  subscribe_ok(cid, "t", "/topic/t");
  for (int i = 0; i < 10; ++i) {
    const std::string n = std::to_string(i);
    REQUIRE(send_id(*this, pid, "/queue/q", "q" + n, "q-" + n, i % 2 == 0).has_value());
    REQUIRE(send_id(*this, pid, "/topic/t", "t" + n, "t-" + n, i % 3 == 0).has_value());
    REQUIRE(send_id(*this, pid, "/queue/q", "dup", "q-" + n).has_value());
  }
  REQUIRE(broker->begin(pid, "tx").has_value());
  REQUIRE(send_id(*this, pid, "/queue/q", "tx", "q-tx", true, "tx").has_value());
  REQUIRE(send_id(*this, pid, "/queue/r", "tx", "r-tx", false, "tx").has_value());
  REQUIRE(broker->commit(pid, "tx").has_value());
  // Consumed messages keep their ids in the window.
  for (const Received& m : c.got)
    if (m.ack_tag != 0) REQUIRE(ack_tag(cid, m.ack_tag).has_value());
  const std::vector<std::string> dests = {"/queue/q", "/queue/r", "/topic/t"};
  const auto master = windows(*broker, dests);
  CHECK(master.at("/queue/q") == ids({"q-7", "q-8", "q-9", "q-tx"}));
  CHECK(master.at("/topic/t") == ids({"t-6", "t-7", "t-8", "t-9"}));

  // A slave with another idCacheSize applies the master's decisions: the same windows.
  policy.id_cache_size = 2;
  auto slave = make_broker(false);
  sink.replay_into(*slave);
  CHECK(windows(*slave, dests) == master);
  // And on the slave a re-send is a duplicate too.
  RecordingClient sp;
  ConnId spid = slave->attach(sp, {});
  const HeaderView h[] = {{kDuplicateIdHeader, "q-9"}};
  SendRequest r;
  r.destination = "/queue/q";
  r.body = "re-sent after a failover";
  r.headers = h;
  const Seq before = slave->event_log().last();
  REQUIRE(slave->send(spid, r).has_value());
  CHECK(slave->event_log().last() == before);
  CHECK(slave->duplicate_stats().dropped == 1);
  slave->detach(spid);
}

TEST_CASE_FIXTURE(Fixture, "duplicates: a snapshot carries the windows, ids of consumed messages included") {
  policy.id_cache_size = 5000;
  broker = make_broker();
  RecordingClient c, p;
  ConnId cid = attach(c), pid = attach(p);
  subscribe_ok(cid, "s", "/queue/q");  // auto-ack: every message is consumed at once
  // More ids than one event holds, so the window goes out in several chunks.
  for (std::size_t i = 0; i < kDuplicateIdsPerEvent + 100; ++i)
    REQUIRE(send_id(*this, pid, "/queue/q", "m", "id-" + std::to_string(i), i % 2 == 0).has_value());
  REQUIRE(send_id(*this, pid, "/queue/left", "live", "live-1", true).has_value());
  REQUIRE(send_id(*this, pid, "/topic/t", "gone", "t-1").has_value());
  const std::vector<std::string> dests = {"/queue/q", "/queue/left", "/topic/t"};
  const auto master = windows(*broker, dests);
  REQUIRE(master.at("/queue/q").size() == kDuplicateIdsPerEvent + 100);

  Snapshot s = broker->take_snapshot();
  CHECK(s.windows.size() == 3);
  RecordingSink copy;
  SnapshotCursor cursor(s);
  Event e;
  while (cursor.next(e)) copy.on_event(s.upto, e);
  CHECK(cursor.events_done() == s.event_count());
  CHECK(copy.count(duplicate_ids) == 4);  // /queue/q in two chunks, one each for the others
  // Windows come last (after the messages that enter their own ids on the way).
  CHECK(copy.events.back().type == duplicate_ids);
  auto slave = make_broker(false);
  copy.replay_into(*slave);
  CHECK(windows(*slave, dests) == master);
  // Persistence of each id travels too (a later checkpoint of the slave keeps only
  // the persistent ones).
  std::size_t persistent = 0;
  for (const RecordedEvent& r : copy.events)
    if (r.type == duplicate_ids)
      for (bool b : r.id_persistent) persistent += b ? 1 : 0;
  CHECK(persistent == (kDuplicateIdsPerEvent + 100) / 2 + 1);
}
