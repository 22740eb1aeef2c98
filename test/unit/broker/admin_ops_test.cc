// The operator's verbs (broker/admin_ops.cc): browse, purge, move, remove a destination.
// Each mutating verb is checked twice: on the deciding broker, and on a second broker
// that only replays the recorded events (what the slave and recovery do), which must
// end up the same.
#include "support.h"

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

namespace {

std::vector<std::string> browsed_bodies(Broker& b, std::string_view queue, std::size_t limit = 100) {
  auto r = b.browse(queue, limit, 1000);
  REQUIRE(r.has_value());
  std::vector<std::string> out;
  for (const BrowsedMessage& m : *r) out.push_back(m.body_preview);
  return out;
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "browse: the first N ready messages in dispatch order, bodies cut, nothing changes") {
  RecordingClient p;
  ConnId pid = attach(p);
  send_ok(pid, "/queue/b", "low-1", 1);
  send_ok(pid, "/queue/b", "high-one", 9);
  send_ok(pid, "/queue/b", "low-2", 1);
  const std::size_t events = sink.events.size();
  auto r = broker->browse("/queue/b", 2, 4);
  REQUIRE(r.has_value());
  REQUIRE(r->size() == 2);
  CHECK((*r)[0].body_preview == "high");
  CHECK((*r)[0].body_bytes == 8);
  CHECK((*r)[0].priority == 9);
  CHECK((*r)[0].id_text.starts_with("ID:test-"));
  CHECK((*r)[1].body_preview == "low-");
  CHECK(sink.events.size() == events);
  CHECK(stat("/queue/b").depth == 3);
  CHECK(browsed_bodies(*broker, "/queue/b") == strings({"high-one", "low-1", "low-2"}));
}

TEST_CASE_FIXTURE(Fixture, "browse and purge refuse a missing queue and a topic name, naming them") {
  auto b = broker->browse("/queue/none", 10, 10);
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error().code == static_cast<int>(Errc::unknown_destination));
  CHECK(b.error().message.find("/queue/none") != std::string::npos);
  auto p = broker->purge("/topic/t");
  REQUIRE_FALSE(p.has_value());
  CHECK(p.error().code == static_cast<int>(Errc::invalid_destination));
}

TEST_CASE_FIXTURE(Fixture, "purge removes every ready message with discard events; a replica replaying them agrees") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/p", AckMode::client_individual, 1);
  for (int i = 0; i < 5; ++i) send_ok(pid, "/queue/p", std::to_string(i));
  REQUIRE(c.got.size() == 1);  // "0" is held by the consumer
  auto r = broker->purge("/queue/p");
  REQUIRE(r.has_value());
  CHECK(r->messages == 4);
  CHECK(r->last == broker->event_log().last());
  CHECK(sink.events.back().type == removed);
  CHECK(sink.events.back().reason == RemovalReason::discarded);
  auto s = stat("/queue/p");
  CHECK(s.depth == 0);
  CHECK(s.inflight == 1);  // the held message stays with its consumer
  CHECK(s.dequeued == 4);
  // Its ACK still works, and nothing is delivered any more.
  REQUIRE(ack_tag(cid, c.got[0].ack_tag).has_value());
  CHECK(c.got.size() == 1);

  auto replica = make_broker(false);
  sink.replay_into(*replica);
  auto rb = replica->browse("/queue/p", 100, 100);
  REQUIRE(rb.has_value());
  CHECK(rb->empty());
}

TEST_CASE_FIXTURE(Fixture, "move: first N or all, new ids, original-destination header, replayed the same") {
  RecordingClient p;
  ConnId pid = attach(p);
  for (int i = 0; i < 5; ++i) send_ok(pid, "/queue/from", std::to_string(i));
  auto first = broker->move("/queue/from", "/queue/to", 2);
  REQUIRE(first.has_value());
  CHECK(first->messages == 2);
  CHECK(browsed_bodies(*broker, "/queue/from") == strings({"2", "3", "4"}));
  CHECK(browsed_bodies(*broker, "/queue/to") == strings({"0", "1"}));
  auto moved = broker->browse("/queue/to", 1, 10);
  REQUIRE(moved.has_value());
  bool has_original = false;
  for (const auto& [name, value] : (*moved)[0].headers)
    has_original = has_original || (name == "original-destination" && value == "/queue/from");
  CHECK(has_original);
  CHECK((*moved)[0].id > 5);  // a new id
  auto rest = broker->move("/queue/from", "/queue/to", 0);
  REQUIRE(rest.has_value());
  CHECK(rest->messages == 3);
  CHECK(stat("/queue/from").depth == 0);
  CHECK(stat("/queue/to").depth == 5);
  CHECK(stat("/queue/to").enqueued == 5);

  auto replica = make_broker(false);
  sink.replay_into(*replica);
  CHECK(browsed_bodies(*replica, "/queue/to") == strings({"0", "1", "2", "3", "4"}));
  CHECK(browsed_bodies(*replica, "/queue/from").empty());

  // A consumer of the target gets them, in order.
  RecordingClient c;
  subscribe_ok(attach(c), "s", "/queue/to");
  CHECK(c.bodies() == strings({"0", "1", "2", "3", "4"}));
}

TEST_CASE_FIXTURE(Fixture, "move refuses a queue onto itself and a missing source") {
  RecordingClient p;
  send_ok(attach(p), "/queue/a", "x");
  auto self = broker->move("/queue/a", "/queue/a", 0);
  REQUIRE_FALSE(self.has_value());
  CHECK(self.error().code == static_cast<int>(Errc::invalid_argument));
  auto missing = broker->move("/queue/none", "/queue/a", 0);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == static_cast<int>(Errc::unknown_destination));
}

TEST_CASE_FIXTURE(Fixture, "remove_destination: a queue goes with its messages; refused while consumed") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  send_ok(pid, "/queue/gone", "x");
  send_ok(pid, "/queue/gone", "y");
  subscribe_ok(cid, "s", "/queue/busy");
  auto busy = broker->remove_destination("/queue/busy");
  REQUIRE_FALSE(busy.has_value());
  CHECK(busy.error().code == static_cast<int>(Errc::destination_in_use));
  auto r = broker->remove_destination("/queue/gone");
  REQUIRE(r.has_value());
  CHECK(r->messages == 2);
  CHECK_FALSE(has_stat("/queue/gone"));
  CHECK_FALSE(broker->destination_exists("/queue/gone"));
  auto again = broker->remove_destination("/queue/gone");
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code == static_cast<int>(Errc::unknown_destination));

  auto replica = make_broker(false);
  sink.replay_into(*replica);
  CHECK_FALSE(replica->destination_exists("/queue/gone"));
  CHECK(replica->destination_exists("/queue/busy"));
}

TEST_CASE_FIXTURE(Fixture, "when_released runs at once without gate sources, and later with one") {
  int ran = 0;
  broker->when_released(broker->event_log().last(), [&] { ++ran; });
  CHECK(ran == 1);
  const auto source = broker->reply_gate().add_source(broker->event_log().last());
  RecordingClient p;
  send_ok(attach(p), "/queue/w", "x");
  const Seq seq = broker->event_log().last();
  broker->when_released(seq, [&] { ++ran; });
  CHECK(ran == 1);
  broker->reply_gate().advance(source, seq);
  broker->notify_released();
  CHECK(ran == 2);
  broker->reply_gate().remove_source(source);
}
