// Topics: fan-out, no-subscriber drop, slow subscribers, client acks on topics.
#include "support.h"

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

TEST_CASE_FIXTURE(Fixture, "topic fans out the same message to every subscriber") {
  RecordingClient p, a, b, c;
  ConnId pid = attach(p);
  subscribe_ok(attach(a), "s", "/topic/t");
  subscribe_ok(attach(b), "s", "/topic/t", AckMode::client, 10);
  subscribe_ok(attach(c), "s", "/topic/t");
  send_ok(pid, "/topic/t", "hello");
  REQUIRE(a.got.size() == 1);
  REQUIRE(b.got.size() == 1);
  REQUIRE(c.got.size() == 1);
  CHECK(a.got[0].message == b.got[0].message);  // shared, not copied
  CHECK(b.got[0].ack_tag != 0);
  auto s = stat("/topic/t");
  CHECK(s.consumers == 3);
  CHECK(s.enqueued == 1);
  CHECK(s.inflight == 1);
}

TEST_CASE_FIXTURE(Fixture, "topic message without subscribers is dropped, no message event") {
  RecordingClient p, late;
  ConnId pid = attach(p);
  auto r = send(pid, "/topic/empty", "lost");
  REQUIRE(r.has_value());
  REQUIRE(sink.events.size() == 1);
  CHECK(sink.events[0].type == dest_added);
  CHECK(r->value == sink.events[0].seq.value);
  auto again = send(pid, "/topic/empty", "lost");
  REQUIRE(again.has_value());
  CHECK(again->value == 0);  // changed nothing
  subscribe_ok(attach(late), "s", "/topic/empty");
  CHECK(late.got.empty());
  CHECK(sink.events.size() == 1);
}

TEST_CASE_FIXTURE(Fixture, "slow topic subscriber gets a bounded pending list, oldest dropped") {
  policy.topic_pending_limit = 3;
  broker = make_broker();
  RecordingClient p, fast, slow;
  ConnId pid = attach(p), sid = attach(slow);
  subscribe_ok(attach(fast), "s", "/topic/t");
  subscribe_ok(sid, "s", "/topic/t");
  slow.accept = false;
  for (int i = 0; i < 6; ++i) send_ok(pid, "/topic/t", std::to_string(i));
  CHECK(fast.got.size() == 6);
  CHECK(slow.got.empty());
  CHECK(stat("/topic/t").depth == 3);
  slow.accept = true;
  broker->resume(sid);
  CHECK(slow.bodies() == strings({"3", "4", "5"}));
  CHECK(stat("/topic/t").depth == 0);
}

TEST_CASE_FIXTURE(Fixture, "topic window: pending drains on ACK, in order") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/topic/t", AckMode::client, 2);
  for (int i = 0; i < 5; ++i) send_ok(pid, "/topic/t", std::to_string(i));
  CHECK(c.got.size() == 2);
  REQUIRE(ack_tag(cid, c.got[1].ack_tag).has_value());
  CHECK(c.bodies() == strings({"0", "1", "2", "3"}));
  REQUIRE(ack_tag(cid, c.got[3].ack_tag).has_value());
  CHECK(c.bodies() == strings({"0", "1", "2", "3", "4"}));
}

TEST_CASE_FIXTURE(Fixture, "NACK or detach of non-durable topic deliveries drops them") {
  RecordingClient p, c, d;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/topic/t", AckMode::client_individual, 10);
  subscribe_ok(attach(d), "s", "/topic/t");
  send_ok(pid, "/topic/t", "1");
  send_ok(pid, "/topic/t", "2");
  REQUIRE(ack_tag(cid, c.got[0].ack_tag, true).has_value());
  CHECK(c.got.size() == 2);  // not redelivered
  broker->detach(cid);
  CHECK(d.got.size() == 2);  // nothing extra for the other subscriber
  CHECK(stat("/topic/t").consumers == 1);
  CHECK(sink.count(enqueued) == 0);
}

TEST_CASE_FIXTURE(Fixture, "topic subscriber blocked by back-pressure resumes in order") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/topic/t");
  c.budget = 1;
  for (int i = 0; i < 4; ++i) send_ok(pid, "/topic/t", std::to_string(i));
  CHECK(c.got.size() == 1);
  c.budget.reset();
  send_ok(pid, "/topic/t", "4");  // still parked behind the older pending ones
  CHECK(c.got.size() == 1);
  broker->resume(cid);
  CHECK(c.bodies() == strings({"0", "1", "2", "3", "4"}));
}
