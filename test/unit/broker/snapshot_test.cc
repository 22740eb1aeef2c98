// Snapshot (a slave's initial sync): replaying a snapshot taken while consumers hold
// messages, then the events that followed it, rebuilds what replaying the whole event
// log rebuilds; and promotion flags every message redelivered.
#include "broker/snapshot.h"

#include <map>
#include <set>

#include "support.h"

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

namespace {

// An owned copy of a snapshot's events (the snapshot's views die with it).
RecordingSink copy_events(const Snapshot& s) {
  RecordingSink out;
  SnapshotCursor cursor(s);
  Event e;
  while (cursor.next(e)) out.on_event(s.upto, e);
  CHECK(cursor.events_done() == s.event_count());
  return out;
}

// Message ids per queue / durable backlog, read by draining each one with a consumer.
std::map<std::string, std::set<std::uint64_t>> contents(Broker& b, const std::vector<std::string>& queues,
                                                        const std::vector<std::pair<std::string, std::string>>& durables) {
  std::map<std::string, std::set<std::uint64_t>> out;
  for (const std::string& q : queues) {
    RecordingClient c;
    ConnId id = b.attach(c, {});
    SubscribeRequest r;
    r.id = "s";
    r.destination = q;
    r.prefetch = 100000;
    r.ack = AckMode::client_individual;
    REQUIRE(b.subscribe(id, r).has_value());
    for (const Received& m : c.got) out[q].insert(m.id);
    b.detach(id);
  }
  for (const auto& [client_id, name] : durables) {
    RecordingClient c;
    ConnId id = b.attach(c, client_id);
    SubscribeRequest r;
    r.id = "s";
    r.destination = "/topic/t";
    r.durable_name = name;
    r.prefetch = 100000;
    r.ack = AckMode::client_individual;
    REQUIRE(b.subscribe(id, r).has_value());
    for (const Received& m : c.got) out[client_id + "/" + name].insert(m.id);
    b.detach(id);
  }
  return out;
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "a snapshot plus the events after it rebuilds the replayed state") {
  policy.maximum_redeliveries = 1;
  broker = make_broker();
  RecordingClient p, c, d1, d2;
  ConnId pid = attach(p), cid = attach(c), a1 = attach(d1, "app1"), a2 = attach(d2, "app2");
  subscribe_ok(cid, "s", "/queue/q", AckMode::client_individual, 3);  // holds 3
  subscribe_ok(a1, "s", "/topic/t", AckMode::client_individual, 2, "dur");
  subscribe_ok(a2, "s", "/topic/t", AckMode::client_individual, 100, "dur");
  for (int i = 0; i < 10; ++i) {
    send_ok(pid, "/queue/q", "q" + std::to_string(i));
    REQUIRE(send(pid, "/topic/t", "t" + std::to_string(i), 4, {}, i % 2 == 0).has_value());
  }
  // app2 acknowledges some topic messages: they stay only in app1's backlog.
  REQUIRE(ack_tag(a2, d2.got[0].ack_tag).has_value());
  REQUIRE(ack_tag(a2, d2.got[3].ack_tag).has_value());
  // A dead-lettered message, and an ack inside an open transaction (still in the store).
  {
    RecordingClient x;
    ConnId xid = attach(x);
    send_ok(pid, "/queue/poison", "p");
    subscribe_ok(xid, "s", "/queue/poison", AckMode::client, 1);
    REQUIRE(ack_tag(xid, x.got[0].ack_tag, true).has_value());
    REQUIRE(ack_tag(xid, x.got[1].ack_tag, true).has_value());
    broker->detach(xid);
  }
  REQUIRE(broker->begin(cid, "tx").has_value());
  REQUIRE(ack_tag(cid, c.got[0].ack_tag, false, "tx").has_value());
  REQUIRE(send(cid, "/queue/q", "in-tx", 4, "tx").has_value());

  const Snapshot snap = broker->take_snapshot();
  CHECK(snap.upto == broker->event_log().last());
  CHECK(snap.next_message_id == broker->next_message_id());
  CHECK(snap.durables.size() == 2);
  CHECK(snap.absent.size() == 2);  // the two topic messages app2 acknowledged
  RecordingSink snap_events = copy_events(snap);
  const std::size_t before = sink.events.size();

  // Life goes on after the cut: the transaction commits, consumers ack, more sends.
  REQUIRE(broker->commit(cid, "tx").has_value());
  REQUIRE(ack_tag(cid, c.got[1].ack_tag).has_value());
  REQUIRE(ack_tag(a1, d1.got[0].ack_tag).has_value());
  send_ok(pid, "/queue/q", "after");
  send_ok(pid, "/topic/t", "after");
  broker->detach(cid);
  broker->detach(a1);
  broker->detach(a2);

  // Slave: snapshot, then the events after it. Reference: every event from the start.
  auto slave = make_broker(false);
  snap_events.replay_into(*slave);
  CHECK(slave->event_log().last() == Seq{0});  // apply() does not number events
  for (std::size_t i = before; i < sink.events.size(); ++i) slave->apply(sink.events[i].to_event());
  auto reference = make_broker(false);
  sink.replay_into(*reference);

  const std::vector<std::string> queues = {"/queue/q", "/queue/poison", "/queue/DLQ"};
  const std::vector<std::pair<std::string, std::string>> durables = {{"app1", "dur"}, {"app2", "dur"}};
  auto got = contents(*slave, queues, durables);
  auto want = contents(*reference, queues, durables);
  CHECK(got == want);
  CHECK(want["/queue/DLQ"].size() == 1);
  CHECK(want["app1/dur"].size() == 10);  // 11 published, one acked after the cut
  CHECK(want["app2/dur"].size() == 9);   // 11 published, two acked before the cut
}

TEST_CASE_FIXTURE(Fixture, "snapshot of an empty broker is empty; cursor order is structure first") {
  Snapshot empty = broker->take_snapshot();
  CHECK(empty.event_count() == 0);
  Event e;
  SnapshotCursor none(empty);
  CHECK_FALSE(none.next(e));

  RecordingClient p;
  ConnId pid = attach(p);
  send_ok(pid, "/queue/b", "1");
  send_ok(pid, "/queue/a", "2");
  Snapshot s = broker->take_snapshot();
  RecordingSink events = copy_events(s);
  CHECK(events.types() == std::vector<std::size_t>{dest_added, dest_added, enqueued, enqueued});
  CHECK(events.events[0].a == "/queue/a");
  CHECK(events.events[2].message->body() == "1");  // id order
  CHECK(s.body_bytes == 2);
}

TEST_CASE_FIXTURE(Fixture, "mark_all_redelivered flags every ready message") {
  RecordingClient p;
  ConnId pid = attach(p);
  for (int i = 0; i < 5; ++i) send_ok(pid, "/queue/q", std::to_string(i));
  CHECK(broker->mark_all_redelivered() == 5);
  RecordingClient c;
  ConnId cid = attach(c);
  subscribe_ok(cid, "s", "/queue/q");
  REQUIRE(c.got.size() == 5);
  for (const Received& r : c.got) CHECK(r.redelivered);
}
