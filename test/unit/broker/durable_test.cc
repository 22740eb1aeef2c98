// Durable topic subscriptions: offline backlog, return, exclusivity, removal.
#include "support.h"

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

TEST_CASE("durable keys are unambiguous and never look like destinations") {
  CHECK(durable_key("app", "orders") == "durable:app:orders");
  CHECK(durable_key("a:b", "c") != durable_key("a", "b:c"));
  CHECK(durable_key("a\\", "b") != durable_key("a", "\\b"));
  CHECK_FALSE(durable_key("/queue/x", "y").starts_with("/"));
}

TEST_CASE_FIXTURE(Fixture, "durable subscription needs a client-id and a /topic/") {
  RecordingClient anon, named;
  ConnId a = attach(anon), n = attach(named, "cid");
  auto r = subscribe(a, "s", "/topic/t", AckMode::auto_ack, 0, "sub");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(Errc::invalid_subscription));
  CHECK(r.error().message.find("client-id") != std::string::npos);
  auto q = subscribe(n, "s", "/queue/q", AckMode::auto_ack, 0, "sub");
  REQUIRE_FALSE(q.has_value());
  CHECK(q.error().code == static_cast<int>(Errc::invalid_subscription));
  CHECK(sink.events.empty());
}

TEST_CASE_FIXTURE(Fixture, "offline durable subscriber keeps a backlog and gets it on return") {
  RecordingClient p;
  ConnId pid = attach(p);
  {
    RecordingClient c1;
    ConnId c = attach(c1, "app");
    subscribe_ok(c, "s", "/topic/news", AckMode::client, 100, "feed");
    send_ok(pid, "/topic/news", "1");
    REQUIRE(c1.got.size() == 1);
    REQUIRE(ack_tag(c, c1.got[0].ack_tag).has_value());
    send_ok(pid, "/topic/news", "2");  // delivered, not acked
    broker->detach(c);
  }
  send_ok(pid, "/topic/news", "3");
  send_ok(pid, "/topic/news", "4");
  const std::string key = durable_key("app", "feed");
  auto s = stat(key);
  CHECK(s.depth == 3);
  CHECK(s.consumers == 0);
  RecordingClient c2;
  ConnId c = attach(c2, "app");
  subscribe_ok(c, "s2", "/topic/news", AckMode::auto_ack, 0, "feed");
  CHECK(c2.bodies() == strings({"2", "3", "4"}));
  CHECK(c2.got[0].redelivered);
  CHECK(c2.got[0].destination == "/topic/news");
  CHECK(stat(key).depth == 0);
  // Only one DurableSubscriptionAdded: the second SUBSCRIBE reattached.
  CHECK(sink.count(durable_added) == 1);
}

TEST_CASE_FIXTURE(Fixture, "durable and non-durable subscribers on one topic") {
  RecordingClient p, live, dur;
  ConnId pid = attach(p), d = attach(dur, "c");
  subscribe_ok(attach(live), "s", "/topic/t");
  subscribe_ok(d, "s", "/topic/t", AckMode::auto_ack, 0, "n");
  send_ok(pid, "/topic/t", "x");
  CHECK(live.got.size() == 1);
  CHECK(dur.got.size() == 1);
  CHECK(stat("/topic/t").consumers == 2);
  CHECK(sink.count(enqueued) == 1);
}

TEST_CASE_FIXTURE(Fixture, "a durable subscription is active on one connection only") {
  RecordingClient a, b;
  ConnId x = attach(a, "same"), y = attach(b, "same");  // a stale session and its successor
  subscribe_ok(x, "s", "/topic/t", AckMode::auto_ack, 0, "d");
  auto r = subscribe(y, "s", "/topic/t", AckMode::auto_ack, 0, "d");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(Errc::duplicate_subscription));
  CHECK(r.error().message.find("already active") != std::string::npos);
  broker->detach(x);
  subscribe_ok(y, "s", "/topic/t", AckMode::auto_ack, 0, "d");
}

TEST_CASE_FIXTURE(Fixture, "unsubscribe with durable_remove deletes the subscription and backlog") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c, "app");
  subscribe_ok(cid, "s", "/topic/t", AckMode::client, 1, "d");
  send_ok(pid, "/topic/t", "1");
  send_ok(pid, "/topic/t", "2");
  auto r = broker->unsubscribe(cid, "s", true);
  REQUIRE(r.has_value());
  CHECK(sink.events.back().type == durable_removed);
  CHECK(r->value == sink.events.back().seq.value);
  CHECK_FALSE(has_stat(durable_key("app", "d")));
  send_ok(pid, "/topic/t", "3");
  subscribe_ok(cid, "s", "/topic/t", AckMode::auto_ack, 0, "d");
  CHECK(c.bodies() == strings({"1"}));  // nothing old came back: a fresh subscription
  CHECK(sink.count(durable_added) == 2);
}

TEST_CASE_FIXTURE(Fixture, "an offline durable subscription is removed by name") {
  RecordingClient c;
  ConnId cid = attach(c, "app");
  subscribe_ok(cid, "s", "/topic/t", AckMode::auto_ack, 0, "d");
  REQUIRE(broker->unsubscribe(cid, "s").has_value());  // plain UNSUBSCRIBE: stays, offline
  CHECK(has_stat(durable_key("app", "d")));
  REQUIRE(broker->unsubscribe(cid, "d", true).has_value());
  CHECK_FALSE(has_stat(durable_key("app", "d")));
  CHECK(broker->unsubscribe(cid, "d", true).error().code ==
        static_cast<int>(Errc::unknown_subscription));
}

TEST_CASE_FIXTURE(Fixture, "a durable subscription re-pointed at another topic starts over") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c, "app");
  subscribe_ok(cid, "s", "/topic/a", AckMode::auto_ack, 0, "d");
  REQUIRE(broker->unsubscribe(cid, "s").has_value());
  send_ok(pid, "/topic/a", "old");
  subscribe_ok(cid, "s", "/topic/b", AckMode::auto_ack, 0, "d");
  CHECK(c.got.empty());
  send_ok(pid, "/topic/b", "new");
  CHECK(c.bodies() == strings({"new"}));
}
