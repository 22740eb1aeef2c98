// Inactive destinations (broker/inactive_gc.cc): removed after inactiveTimoutBeforeGC
// with a DestinationRemoved event, only when the policy says so, never while they hold
// messages, consumers or subscribers, and the clock restarts with every message sent.
#include "support.h"

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

namespace {

std::size_t removals(const RecordingSink& sink, std::string_view name) {
  std::size_t n = 0;
  for (const auto& e : sink.events)
    if (e.type == 5 && e.a == name) ++n;  // DestinationRemoved
  return n;
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "gc: an empty, unconsumed queue goes after inactiveTimoutBeforeGC; a SEND brings it back") {
  policy.gc_inactive = true;
  policy.inactive_timeout_before_gc_ms = 5000;
  broker = make_broker();
  RecordingClient p, c;
  ConnId pid = attach(p);
  send_ok(pid, "/temp-queue/reply-1", "x");
  ConnId cid = attach(c);
  subscribe_ok(cid, "s", "/temp-queue/reply-1");
  REQUIRE(c.got.size() == 1);
  // A consumer keeps it, however long.
  broker->tick(now + 1000);
  broker->tick(now + 60'000);
  CHECK(has_stat("/temp-queue/reply-1"));
  REQUIRE(broker->unsubscribe(cid, "s").has_value());
  broker->tick(now + 61'000);  // inactive from here
  broker->tick(now + 65'000);
  CHECK(has_stat("/temp-queue/reply-1"));
  broker->tick(now + 66'000);
  CHECK_FALSE(has_stat("/temp-queue/reply-1"));
  CHECK(removals(sink, "/temp-queue/reply-1") == 1);
  send_ok(pid, "/temp-queue/reply-1", "again");
  CHECK(stat("/temp-queue/reply-1").depth == 1);
}

TEST_CASE_FIXTURE(Fixture, "gc: a queue with messages stays; activity restarts the clock; without the policy nothing goes") {
  policy.gc_inactive = true;
  policy.inactive_timeout_before_gc_ms = 5000;
  broker = make_broker();
  RecordingClient p, c;
  ConnId pid = attach(p);
  send_ok(pid, "/queue/backlog", "kept");
  broker->tick(now + 1000);
  broker->tick(now + 100'000);
  CHECK(stat("/queue/backlog").depth == 1);

  // Sent and consumed between two ticks: inactive at every tick, yet active.
  ConnId cid = attach(c);
  subscribe_ok(cid, "s", "/queue/busy");
  REQUIRE(broker->unsubscribe(cid, "s").has_value());
  broker->tick(now + 101'000);  // inactive from here
  broker->tick(now + 105'000);
  subscribe_ok(cid, "s2", "/queue/busy");
  send_ok(pid, "/queue/busy", "m");
  REQUIRE(broker->unsubscribe(cid, "s2").has_value());
  broker->tick(now + 106'500);  // 5.5 s after the first mark, but a message went through
  CHECK(has_stat("/queue/busy"));
  broker->tick(now + 111'500);
  CHECK_FALSE(has_stat("/queue/busy"));

  policy.gc_inactive = false;
  auto plain = make_broker();
  broker.swap(plain);
  RecordingClient q;
  ConnId qid = attach(q);
  subscribe_ok(qid, "s", "/queue/forever");
  REQUIRE(broker->unsubscribe(qid, "s").has_value());
  broker->tick(now + 1000);
  broker->tick(now + 10'000'000);
  CHECK(has_stat("/queue/forever"));
}

TEST_CASE_FIXTURE(Fixture, "gc: a topic goes once it has no subscriber and no durable subscription") {
  policy.gc_inactive = true;
  policy.inactive_timeout_before_gc_ms = 1000;
  broker = make_broker();
  RecordingClient s;
  ConnId sid = attach(s, "client-1");
  subscribe_ok(sid, "d", "/topic/news", AckMode::auto_ack, 0, "durable-1");
  subscribe_ok(sid, "n", "/topic/live");
  broker->detach(sid);  // the durable subscription stays; the live one goes
  broker->tick(now + 1000);
  broker->tick(now + 5000);
  CHECK(removals(sink, "/topic/news") == 0);
  CHECK(removals(sink, "/topic/live") == 1);
}
