// Redelivery after NACK / detach / unsubscribe, and dead-lettering.
#include "support.h"

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

TEST_CASE_FIXTURE(Fixture, "NACKed message goes to the front, flagged, count raised") {
  RecordingClient p, c, d;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/r", AckMode::client_individual, 2);
  for (int i = 0; i < 4; ++i) send_ok(pid, "/queue/r", std::to_string(i));
  REQUIRE(c.got.size() == 2);
  c.accept = false;  // NACKed message must wait in the queue
  REQUIRE(ack_tag(cid, c.got[1].ack_tag, true).has_value());
  CHECK(stat("/queue/r").depth == 3);
  ConnId did = attach(d);
  subscribe_ok(did, "s", "/queue/r");
  CHECK(d.bodies() == strings({"1", "2", "3"}));
  CHECK(d.got[0].redelivered);
  CHECK(d.got[0].redelivery_count == 1);
  CHECK_FALSE(d.got[1].redelivered);
  CHECK(d.got[0].id == c.got[1].id);  // same message, same id
}

TEST_CASE_FIXTURE(Fixture, "detach returns unacked messages in original order ahead of new ones") {
  RecordingClient p, c, d;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/r", AckMode::client, 3);
  for (int i = 0; i < 6; ++i) send_ok(pid, "/queue/r", std::to_string(i));
  REQUIRE(c.got.size() == 3);
  broker->detach(cid);
  auto s = stat("/queue/r");
  CHECK(s.depth == 6);
  CHECK(s.inflight == 0);
  subscribe_ok(attach(d), "s", "/queue/r");
  CHECK(d.bodies() == strings({"0", "1", "2", "3", "4", "5"}));
  CHECK(d.got[2].redelivered);
  CHECK_FALSE(d.got[3].redelivered);
}

TEST_CASE_FIXTURE(Fixture, "returned messages respect priority and arrival order among returned") {
  RecordingClient p, c, d;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/r", AckMode::client_individual, 100);
  send_ok(pid, "/queue/r", "a4", 4);
  send_ok(pid, "/queue/r", "b4", 4);
  send_ok(pid, "/queue/r", "c9", 9);
  // Order delivered: a4, b4, c9 (each sent while the consumer had room).
  c.accept = false;
  send_ok(pid, "/queue/r", "d4", 4);
  send_ok(pid, "/queue/r", "e1", 1);
  // Return b4 first, then a4: a4 still goes ahead (original order).
  REQUIRE(ack_tag(cid, c.got[1].ack_tag, true).has_value());
  REQUIRE(ack_tag(cid, c.got[0].ack_tag, true).has_value());
  REQUIRE(ack_tag(cid, c.got[2].ack_tag, true).has_value());
  subscribe_ok(attach(d), "s", "/queue/r");
  CHECK(d.bodies() == strings({"c9", "a4", "b4", "d4", "e1"}));
}

TEST_CASE_FIXTURE(Fixture, "unsubscribe returns held messages") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/r", AckMode::client, 10);
  send_ok(pid, "/queue/r", "x");
  REQUIRE(broker->unsubscribe(cid, "s").has_value());
  CHECK(stat("/queue/r").depth == 1);
  subscribe_ok(cid, "t", "/queue/r");
  REQUIRE(c.got.size() == 2);
  CHECK(c.got[1].redelivered);
  CHECK(c.got[1].redelivery_count == 1);
}

TEST_CASE_FIXTURE(Fixture, "after maximumRedeliveries the message moves to the DLQ keeping its id") {
  policy.maximum_redeliveries = 2;
  policy.dead_letter_queue = "/queue/DLQ.test";
  broker = make_broker();
  RecordingClient p, c, dl;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/poison", AckMode::client_individual, 1);
  send_ok(pid, "/queue/poison", "bad");
  // Delivery 1 + 2 redeliveries; the third NACK exceeds the limit.
  for (int round = 0; round < 3; ++round) {
    REQUIRE(c.got.size() == static_cast<std::size_t>(round + 1));
    CHECK(c.got.back().redelivery_count == static_cast<std::uint32_t>(round));
    REQUIRE(ack_tag(cid, c.got.back().ack_tag, true).has_value());
  }
  CHECK(c.got.size() == 3);
  auto q = stat("/queue/poison");
  CHECK(q.depth == 0);
  CHECK(q.inflight == 0);
  CHECK(q.dequeued == 1);
  auto dlq = stat("/queue/DLQ.test");
  CHECK(dlq.depth == 1);
  CHECK(dlq.enqueued == 1);
  // Events: DestinationAdded for the DLQ, then MessageDeadLettered.
  REQUIRE(sink.events.size() >= 2);
  const RecordedEvent& last = sink.events.back();
  CHECK(last.type == dead_lettered);
  CHECK(last.a == "/queue/poison");
  CHECK(last.b == "/queue/DLQ.test");
  CHECK(sink.events[sink.events.size() - 2].type == dest_added);
  subscribe_ok(attach(dl), "s", "/queue/DLQ.test");
  REQUIRE(dl.got.size() == 1);
  CHECK(dl.got[0].id == c.got[0].id);
  CHECK(dl.got[0].id_text == c.got[0].id_text);
  CHECK(dl.got[0].destination == "/queue/DLQ.test");
  CHECK(dl.got[0].body == "bad");
  CHECK_FALSE(dl.got[0].redelivered);
}

TEST_CASE_FIXTURE(Fixture, "dead-letter queue carries original-destination") {
  policy.maximum_redeliveries = 0;
  broker = make_broker();
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/src", AckMode::client, 1);
  send_ok(pid, "/queue/src", "m");
  REQUIRE(ack_tag(cid, c.got[0].ack_tag, true).has_value());
  subscribe_ok(cid, "d", "/queue/DLQ", AckMode::client, 1);
  REQUIRE(c.got.size() == 2);
  const Message& m = *c.got[1].message;
  bool found = false;
  for (const HeaderView& h : m.headers())
    if (h.name == "original-destination") found = h.value == "/queue/src";
  CHECK(found);
  // Failing again in the DLQ (its own DLQ is itself) discards instead of looping.
  REQUIRE(ack_tag(cid, c.got[1].ack_tag, true).has_value());
  CHECK(stat("/queue/DLQ").depth == 0);
  CHECK(sink.events.back().type == removed);
  CHECK(sink.events.back().reason == RemovalReason::discarded);
}

TEST_CASE_FIXTURE(Fixture, "detach beyond the limit dead-letters") {
  policy.maximum_redeliveries = 1;
  broker = make_broker();
  RecordingClient p;
  ConnId pid = attach(p);
  send_ok(pid, "/queue/d", "m");
  for (int i = 0; i < 2; ++i) {
    RecordingClient c;
    ConnId cid = attach(c);
    subscribe_ok(cid, "s", "/queue/d", AckMode::client, 1);
    REQUIRE(c.got.size() == 1);
    broker->detach(cid);
  }
  CHECK(stat("/queue/d").depth == 0);
  CHECK(stat("/queue/DLQ").depth == 1);
}
