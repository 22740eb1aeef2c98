// Expiry: never delivered, removed at dispatch and by tick's bounded sweep.
#include "support.h"

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

TEST_CASE_FIXTURE(Fixture, "expired messages are removed at dispatch, never delivered") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  REQUIRE(send(pid, "/queue/e", "short", 4, {}, false, now + 10).has_value());
  REQUIRE(send(pid, "/queue/e", "long", 4, {}, false, now + 100000).has_value());
  REQUIRE(send(pid, "/queue/e", "never", 4, {}, false, 0).has_value());
  REQUIRE(send(pid, "/queue/e", "already", 4, {}, false, now - 1).has_value());
  now += 10;
  subscribe_ok(cid, "s", "/queue/e");
  CHECK(c.bodies() == strings({"long", "never"}));
  auto s = stat("/queue/e");
  CHECK(s.depth == 0);
  CHECK(s.dequeued == 4);
  std::size_t expired = 0;
  for (const RecordedEvent& e : sink.events)
    if (e.type == removed && e.reason == RemovalReason::expired) ++expired;
  CHECK(expired == 2);
}

TEST_CASE_FIXTURE(Fixture, "tick sweeps expired messages from unconsumed queues") {
  RecordingClient p;
  ConnId pid = attach(p);
  for (int i = 0; i < 100; ++i)
    REQUIRE(send(pid, "/queue/e", "m", static_cast<std::uint8_t>(i % 10), {}, false,
                 i % 2 == 0 ? now + 50 : 0).has_value());
  broker->tick(now + 49);
  CHECK(stat("/queue/e").depth == 100);
  broker->tick(now + 50);
  CHECK(stat("/queue/e").depth == 50);
  CHECK(stat("/queue/e").dequeued == 50);
  const std::size_t events = sink.events.size();
  broker->tick(now + 1'000'000);  // nothing left that expires: no work, no events
  CHECK(sink.events.size() == events);
}

TEST_CASE_FIXTURE(Fixture, "tick sweeps huge queues over several ticks, and durable backlogs") {
  RecordingClient p, d;
  ConnId pid = attach(p), did = attach(d, "c");
  subscribe_ok(did, "s", "/topic/t", AckMode::auto_ack, 0, "n");
  REQUIRE(broker->unsubscribe(did, "s").has_value());
  const int n = 100'000;  // more than one tick's budget
  int refused = 0;
  for (int i = 0; i < n; ++i)
    if (!send(pid, "/queue/big", "", 4, {}, false, now + 5)) ++refused;
  REQUIRE(refused == 0);
  REQUIRE(send(pid, "/topic/t", "t", 4, {}, false, now + 5).has_value());
  int ticks = 0;
  while ((stat("/queue/big").depth > 0 || stat(durable_key("c", "n")).depth > 0) && ticks < 10) {
    broker->tick(now + 5);
    ++ticks;
  }
  CHECK(ticks > 1);
  CHECK(ticks < 10);
  CHECK(stat("/queue/big").depth == 0);
  CHECK(stat(durable_key("c", "n")).depth == 0);
}

TEST_CASE_FIXTURE(Fixture, "expired topic messages are not delivered from a pending list") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/topic/t");
  c.accept = false;
  REQUIRE(send(pid, "/topic/t", "old", 4, {}, false, now + 5).has_value());
  REQUIRE(send(pid, "/topic/t", "fresh", 4, {}, false, 0).has_value());
  now += 5;
  c.accept = true;
  broker->resume(cid);
  CHECK(c.bodies() == strings({"fresh"}));
  REQUIRE(send(pid, "/topic/t", "dead-on-arrival", 4, {}, false, now - 1).has_value());
  CHECK(c.got.size() == 1);
}

TEST_CASE_FIXTURE(Fixture, "returned messages that expired meanwhile are not redelivered") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/e", AckMode::client, 10);
  REQUIRE(send(pid, "/queue/e", "m", 4, {}, false, now + 5).has_value());
  REQUIRE(c.got.size() == 1);
  now += 10;
  REQUIRE(ack_tag(cid, c.got[0].ack_tag, true).has_value());
  CHECK(c.got.size() == 1);
  CHECK(stat("/queue/e").depth == 0);
}
