// Queues: validation, round-robin, prefetch window, priority, order, back-pressure.
#include "support.h"

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

TEST_CASE_FIXTURE(Fixture, "invalid destinations are refused with the accepted forms") {
  RecordingClient c;
  ConnId id = attach(c);
  for (const char* bad : {"", "/queue/", "queue/a", "/topic/", "/temp-queue/", "/foo/bar", "a"}) {
    auto r = send(id, bad, "x");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == static_cast<int>(Errc::invalid_destination));
    CHECK(r.error().message.find("/queue/<name>") != std::string::npos);
    auto s = subscribe(id, "s", bad);
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error().code == static_cast<int>(Errc::invalid_destination));
  }
  CHECK(sink.events.empty());
  CHECK(broker->stats().empty());
}

TEST_CASE_FIXTURE(Fixture, "temp destinations behave like queues and topics") {
  RecordingClient c;
  ConnId id = attach(c);
  subscribe_ok(id, "s", "/temp-queue/reply");
  send_ok(id, "/temp-queue/reply", "r1");
  CHECK(c.bodies() == strings({"r1"}));
  send_ok(id, "/temp-topic/none", "dropped");
  CHECK(stat("/temp-topic/none").enqueued == 1);
}

TEST_CASE_FIXTURE(Fixture, "send then subscribe delivers in order, auto ack empties the queue") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  for (int i = 0; i < 5; ++i) send_ok(pid, "/queue/a", std::to_string(i));
  CHECK(stat("/queue/a").depth == 5);
  subscribe_ok(cid, "s1", "/queue/a");
  CHECK(c.bodies() == strings({"0", "1", "2", "3", "4"}));
  for (const Received& r : c.got) {
    CHECK(r.ack_tag == 0);
    CHECK(r.subscription == "s1");
    CHECK_FALSE(r.redelivered);
    CHECK(r.destination == "/queue/a");
  }
  CHECK(c.got[0].id_text == "ID:test-1");
  auto s = stat("/queue/a");
  CHECK(s.depth == 0);
  CHECK(s.inflight == 0);
  CHECK(s.enqueued == 5);
  CHECK(s.dequeued == 5);
  CHECK(s.consumers == 1);
}

TEST_CASE_FIXTURE(Fixture, "round-robin among consumers") {
  RecordingClient p, a, b, c;
  ConnId pid = attach(p);
  subscribe_ok(attach(a), "s", "/queue/rr");
  subscribe_ok(attach(b), "s", "/queue/rr");
  subscribe_ok(attach(c), "s", "/queue/rr");
  for (int i = 0; i < 9; ++i) send_ok(pid, "/queue/rr", std::to_string(i));
  CHECK(a.bodies() == strings({"0", "3", "6"}));
  CHECK(b.bodies() == strings({"1", "4", "7"}));
  CHECK(c.bodies() == strings({"2", "5", "8"}));
}

TEST_CASE_FIXTURE(Fixture, "round-robin skips consumers without room") {
  RecordingClient p, a, b;
  ConnId pid = attach(p);
  ConnId aid = attach(a);
  subscribe_ok(aid, "s", "/queue/w", AckMode::client, 1);
  subscribe_ok(attach(b), "s", "/queue/w", AckMode::client, 10);
  for (int i = 0; i < 5; ++i) send_ok(pid, "/queue/w", std::to_string(i));
  CHECK(a.bodies() == strings({"0"}));
  CHECK(b.bodies() == strings({"1", "2", "3", "4"}));
}

TEST_CASE_FIXTURE(Fixture, "prefetch window limits deliveries and ACK refills it") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/pf", AckMode::client_individual, 3);
  for (int i = 0; i < 10; ++i) send_ok(pid, "/queue/pf", std::to_string(i));
  CHECK(c.got.size() == 3);
  auto s = stat("/queue/pf");
  CHECK(s.depth == 7);
  CHECK(s.inflight == 3);
  REQUIRE(ack_tag(cid, c.got[1].ack_tag).has_value());
  CHECK(c.got.size() == 4);
  CHECK(c.got[3].body == "3");
  REQUIRE(ack_tag(cid, c.got[0].ack_tag).has_value());
  REQUIRE(ack_tag(cid, c.got[2].ack_tag).has_value());
  CHECK(c.got.size() == 6);
  s = stat("/queue/pf");
  CHECK(s.depth == 4);
  CHECK(s.inflight == 3);
  CHECK(s.dequeued == 3);
}

TEST_CASE_FIXTURE(Fixture, "policy default prefetch applies when SUBSCRIBE gives none") {
  policy.queue_prefetch = 2;
  broker = make_broker();
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/d", AckMode::client);
  for (int i = 0; i < 5; ++i) send_ok(pid, "/queue/d", std::to_string(i));
  CHECK(c.got.size() == 2);
}

TEST_CASE_FIXTURE(Fixture, "priority: higher first, FIFO within a priority") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  send_ok(pid, "/queue/p", "low-1", 1);
  send_ok(pid, "/queue/p", "mid-1", 4);
  send_ok(pid, "/queue/p", "high-1", 9);
  send_ok(pid, "/queue/p", "low-2", 1);
  send_ok(pid, "/queue/p", "high-2", 9);
  send_ok(pid, "/queue/p", "mid-2", 4);
  send_ok(pid, "/queue/p", "zero", 0);
  subscribe_ok(cid, "s", "/queue/p");
  CHECK(c.bodies() == strings({"high-1", "high-2", "mid-1", "mid-2", "low-1", "low-2", "zero"}));
  CHECK(c.got[0].priority == 9);
}

TEST_CASE_FIXTURE(Fixture, "per-producer order is kept with interleaved producers") {
  RecordingClient p1, p2, c;
  ConnId a = attach(p1), b = attach(p2), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/o", AckMode::client, 1000);
  for (int i = 0; i < 50; ++i) {
    send_ok(a, "/queue/o", "a" + std::to_string(i));
    if (i % 3 == 0) send_ok(b, "/queue/o", "b" + std::to_string(i));
  }
  int next_a = 0, next_b = 0;
  for (const Received& r : c.got) {
    const int n = std::stoi(r.body.substr(1));
    if (r.body[0] == 'a') {
      CHECK(n == next_a);
      next_a = n + 1;
    } else {
      CHECK(n >= next_b);
      next_b = n + 1;
    }
  }
  CHECK(next_a == 50);
}

TEST_CASE_FIXTURE(Fixture, "back-pressure: can_accept false stops dispatch, resume continues") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/bp");
  c.budget = 2;
  for (int i = 0; i < 6; ++i) send_ok(pid, "/queue/bp", std::to_string(i));
  CHECK(c.got.size() == 2);
  CHECK(stat("/queue/bp").depth == 4);
  broker->resume(cid);  // still full: nothing happens
  CHECK(c.got.size() == 2);
  c.budget.reset();
  broker->resume(cid);
  CHECK(c.bodies() == strings({"0", "1", "2", "3", "4", "5"}));
}

TEST_CASE_FIXTURE(Fixture, "a blocked consumer's share goes to the others") {
  RecordingClient p, a, b;
  ConnId pid = attach(p);
  subscribe_ok(attach(a), "s", "/queue/x");
  subscribe_ok(attach(b), "s", "/queue/x");
  a.accept = false;
  for (int i = 0; i < 4; ++i) send_ok(pid, "/queue/x", std::to_string(i));
  CHECK(a.got.empty());
  CHECK(b.got.size() == 4);
}

TEST_CASE_FIXTURE(Fixture, "duplicate subscription id on one connection is refused") {
  RecordingClient c;
  ConnId id = attach(c);
  subscribe_ok(id, "s", "/queue/a");
  auto r = subscribe(id, "s", "/queue/b");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(Errc::duplicate_subscription));
  CHECK(r.error().message.find("'s'") != std::string::npos);
  CHECK_FALSE(has_stat("/queue/b"));  // a refused SUBSCRIBE creates nothing
  auto u = broker->unsubscribe(id, "nope");
  REQUIRE_FALSE(u.has_value());
  CHECK(u.error().code == static_cast<int>(Errc::unknown_subscription));
}

TEST_CASE_FIXTURE(Fixture, "unsubscribe stops delivery and detach forgets the connection") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/u");
  send_ok(pid, "/queue/u", "1");
  REQUIRE(broker->unsubscribe(cid, "s").has_value());
  send_ok(pid, "/queue/u", "2");
  CHECK(c.bodies() == strings({"1"}));
  CHECK(stat("/queue/u").consumers == 0);
  CHECK(broker->connection_count() == 2);
  broker->detach(cid);
  broker->detach(cid);  // idempotent
  CHECK(broker->connection_count() == 1);
}

TEST_CASE_FIXTURE(Fixture, "message ids count up and continue after set_next_message_id") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/ids");
  send_ok(pid, "/queue/ids", "a");
  broker->set_next_message_id(1000);
  send_ok(pid, "/queue/ids", "b");
  REQUIRE(c.got.size() == 2);
  CHECK(c.got[0].id == 1);
  CHECK(c.got[1].id == 1000);
  CHECK(c.got[1].id_text == "ID:test-1000");
}
