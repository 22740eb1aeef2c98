// Events: what is emitted, in which order, and that replaying them through apply()
// into a fresh broker rebuilds the same state (recovery and the slave).
#include "support.h"

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

namespace {

struct StoreState {
  std::string name;
  std::size_t depth;
  std::uint64_t enqueued, dequeued;
  bool operator==(const StoreState&) const = default;
};

// The mirrored part of stats(): queues and durable backlogs with nobody holding
// anything (inflight 0), and which topics exist.
std::vector<StoreState> mirrored(const Broker& b) {
  std::vector<StoreState> out;
  for (const auto& s : b.stats()) {
    if (s.name.starts_with("/topic/") || s.name.starts_with("/temp-topic/"))
      out.push_back(StoreState{s.name, 0, 0, 0});
    else
      out.push_back(StoreState{s.name, s.depth + s.inflight, s.enqueued, s.dequeued});
  }
  return out;
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "DestinationAdded comes before the MessageEnqueued that needed it") {
  RecordingClient p;
  ConnId pid = attach(p);
  auto s1 = send(pid, "/queue/a", "1");
  auto s2 = send(pid, "/queue/a", "2");
  REQUIRE(s1.has_value());
  REQUIRE(s2.has_value());
  CHECK(sink.types() == std::vector<std::size_t>{dest_added, enqueued, enqueued});
  CHECK(*s1 == Seq{2});  // the Seq of the last event of the call
  CHECK(*s2 == Seq{3});
  CHECK(sink.events[0].a == "/queue/a");
  CHECK(sink.events[1].message->body() == "1");
}

TEST_CASE_FIXTURE(Fixture, "auto-ack delivery removes the message with an event") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  auto sub = subscribe(cid, "s", "/queue/a");
  REQUIRE(sub.has_value());
  CHECK(*sub == Seq{1});  // DestinationAdded
  send_ok(pid, "/queue/a", "1");
  CHECK(sink.types() == std::vector<std::size_t>{dest_added, enqueued, removed});
  CHECK(sink.events[2].reason == RemovalReason::acked);
  CHECK(sink.events[2].a == "/queue/a");
  CHECK(sink.events[2].id == c.got[0].id);
}

TEST_CASE_FIXTURE(Fixture, "calls that change nothing return Seq 0") {
  RecordingClient c;
  ConnId cid = attach(c);
  subscribe_ok(cid, "s", "/queue/a");
  auto again = subscribe(cid, "t", "/queue/a");
  REQUIRE(again.has_value());
  CHECK(again->value == 0);
  CHECK(broker->begin(cid, "x")->value == 0);
  CHECK(broker->abort(cid, "x")->value == 0);
  CHECK(broker->unsubscribe(cid, "t")->value == 0);
}

TEST_CASE_FIXTURE(Fixture, "replaying the events into a fresh broker rebuilds the same state") {
  policy.maximum_redeliveries = 1;
  broker = make_broker();
  RecordingClient p, c1, c2, d;
  ConnId pid = attach(p), a = attach(c1), b = attach(c2), did = attach(d, "app");
  subscribe_ok(a, "s", "/queue/q", AckMode::client_individual, 5);
  subscribe_ok(b, "s", "/queue/q", AckMode::client, 5);
  subscribe_ok(did, "s", "/topic/t", AckMode::client, 2, "dur");
  for (int i = 0; i < 30; ++i) {
    send_ok(pid, "/queue/q", std::to_string(i), static_cast<std::uint8_t>(i % 10));
    send_ok(pid, "/topic/t", std::to_string(i));
  }
  send_ok(pid, "/queue/other", "x");
  REQUIRE(send(pid, "/queue/exp", "gone", 4, {}, true, now + 1).has_value());
  // Some acks, a NACK, a transaction with sends and acks.
  REQUIRE(ack_tag(a, c1.got[2].ack_tag).has_value());
  REQUIRE(ack_tag(b, c2.got[3].ack_tag).has_value());
  REQUIRE(ack_tag(a, c1.got[0].ack_tag, true).has_value());
  REQUIRE(broker->begin(a, "tx").has_value());
  REQUIRE(send(a, "/queue/q", "tx-send", 4, "tx").has_value());
  REQUIRE(send(a, "/queue/new", "tx-new", 4, "tx").has_value());
  REQUIRE(ack_tag(a, c1.got[1].ack_tag, false, "tx").has_value());
  REQUIRE(broker->commit(a, "tx").has_value());
  REQUIRE(ack_tag(did, d.got[1].ack_tag).has_value());
  // Dead-letter one message: NACK twice beyond a limit of 1.
  {
    RecordingClient x;
    ConnId xid = attach(x);
    subscribe_ok(xid, "s", "/queue/other", AckMode::client, 1);
    REQUIRE(ack_tag(xid, x.got[0].ack_tag, true).has_value());
    REQUIRE(ack_tag(xid, x.got[1].ack_tag, true).has_value());
    broker->detach(xid);
  }
  broker->tick(now + 1);
  // Nobody holds anything once the consumers are gone (what a failover does).
  broker->detach(a);
  broker->detach(b);
  broker->detach(did);
  CHECK(sink.count(dead_lettered) >= 1);
  CHECK(sink.count(committed) == 1);
  CHECK(sink.count(durable_added) == 1);

  auto replica = make_broker(false);
  sink.replay_into(*replica);
  CHECK(mirrored(*replica) == mirrored(*broker));
  for (const auto& s : replica->stats()) CHECK(s.inflight == 0);

  // The replica serves the same messages: a consumer there receives them all.
  RecordingClient r;
  ConnId rid = replica->attach(r, {});
  SubscribeRequest req;
  req.id = "s";
  req.destination = "/queue/q";
  REQUIRE(replica->subscribe(rid, req).has_value());
  CHECK(r.got.size() == stat("/queue/q").depth);
  CHECK(r.got.size() > 0);
  // And it numbers new messages after the ones it has seen.
  std::uint64_t max_seen = 0;
  for (const auto& e : sink.events) {
    if (e.message) max_seen = std::max(max_seen, e.message->id());
    for (const MessageRef& m : e.sends) max_seen = std::max(max_seen, m->id());
  }
  SendRequest sr;
  sr.destination = "/queue/q";
  sr.body = "after";
  REQUIRE(replica->send(rid, sr).has_value());
  CHECK(r.got.back().id == max_seen + 1);
  replica->detach(rid);
}

TEST_CASE_FIXTURE(Fixture, "apply of streamed events makes messages dispatchable and removable") {
  auto master = make_broker(true);
  RecordingClient p;
  ConnId pid = master->attach(p, {});
  SendRequest sr;
  sr.destination = "/queue/m";
  for (int i = 0; i < 200; ++i) {
    const std::string body = std::to_string(i);
    sr.body = body;
    REQUIRE(master->send(pid, sr).has_value());
  }
  sink.replay_into(*broker);  // `broker` plays the slave
  CHECK(stat("/queue/m").depth == 200);
  // The master's consumer acks out of order; the slave follows by id.
  RecordingClient mc;
  ConnId mcid = master->attach(mc, {});
  SubscribeRequest sub;
  sub.id = "s";
  sub.destination = "/queue/m";
  sub.ack = AckMode::client_individual;
  sub.prefetch = 50;
  REQUIRE(master->subscribe(mcid, sub).has_value());
  const std::size_t first = sink.events.size();
  for (std::size_t i = 0; i < mc.got.size(); i += 2) {
    const std::string tag = std::to_string(mc.got[i].ack_tag);
    AckRequest ar;
    ar.ack_id = tag;
    REQUIRE(master->ack(mcid, ar).has_value());
  }
  for (std::size_t i = first; i < sink.events.size(); ++i) broker->apply(sink.events[i].to_event());
  std::size_t master_depth = 0;
  for (const auto& s : master->stats())
    if (s.name == "/queue/m") master_depth = s.depth + s.inflight;
  CHECK(stat("/queue/m").depth == master_depth);
  master->detach(mcid);
  master->detach(pid);
}
