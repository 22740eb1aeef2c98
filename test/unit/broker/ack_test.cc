// ACK / NACK: naming by version, cumulative vs individual, unknown ids.
#include "support.h"

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

namespace {
struct AckFixture : Fixture {
  RecordingClient p, c;
  ConnId pid = attach(p);
  ConnId cid = attach(c);
  void fill(std::string_view dest, int n) {
    for (int i = 0; i < n; ++i) send_ok(pid, dest, std::to_string(i));
  }
};
}  // namespace

TEST_CASE_FIXTURE(AckFixture, "client mode ACK is cumulative") {
  subscribe_ok(cid, "s", "/queue/a", AckMode::client, 100);
  fill("/queue/a", 5);
  REQUIRE(c.got.size() == 5);
  auto r = ack_tag(cid, c.got[2].ack_tag);
  REQUIRE(r.has_value());
  CHECK(r->value > 0);
  auto s = stat("/queue/a");
  CHECK(s.inflight == 2);
  CHECK(s.dequeued == 3);
  // The earlier ones are gone: acking them again is an unknown id.
  auto again = ack_tag(cid, c.got[0].ack_tag);
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code == static_cast<int>(Errc::unknown_ack_id));
  CHECK(again.error().message ==
        "no unacknowledged message with ack id '" + c.tag(0) + "' on this connection");
}

TEST_CASE_FIXTURE(AckFixture, "client-individual ACK settles only that delivery") {
  subscribe_ok(cid, "s", "/queue/a", AckMode::client_individual, 100);
  fill("/queue/a", 5);
  REQUIRE(ack_tag(cid, c.got[2].ack_tag).has_value());
  CHECK(stat("/queue/a").inflight == 4);
  REQUIRE(ack_tag(cid, c.got[0].ack_tag).has_value());
  REQUIRE(ack_tag(cid, c.got[4].ack_tag).has_value());
  CHECK(stat("/queue/a").inflight == 2);
  CHECK_FALSE(ack_tag(cid, c.got[2].ack_tag).has_value());
}

TEST_CASE_FIXTURE(AckFixture, "ack tags are unique per connection across subscriptions, 0 for auto") {
  subscribe_ok(cid, "s1", "/queue/a", AckMode::client, 100);
  subscribe_ok(cid, "s2", "/queue/b", AckMode::client_individual, 100);
  subscribe_ok(cid, "s3", "/queue/c");
  fill("/queue/a", 3);
  fill("/queue/b", 3);
  fill("/queue/c", 3);
  std::vector<std::uint64_t> tags;
  for (const Received& r : c.got) {
    if (r.subscription == "s3") {
      CHECK(r.ack_tag == 0);
    } else {
      tags.push_back(r.ack_tag);
    }
  }
  CHECK(std::is_sorted(tags.begin(), tags.end()));
  CHECK(std::adjacent_find(tags.begin(), tags.end()) == tags.end());
  CHECK(tags.size() == 6);
  // A 1.2 ack id resolves to the right subscription.
  REQUIRE(ack_tag(cid, c.got[4].ack_tag).has_value());
  CHECK(stat("/queue/b").inflight == 2);
  CHECK(stat("/queue/a").inflight == 3);
}

TEST_CASE_FIXTURE(AckFixture, "STOMP 1.1 acks by message-id + subscription, 1.0 by message-id") {
  subscribe_ok(cid, "s1", "/queue/a", AckMode::client_individual, 100);
  subscribe_ok(cid, "s2", "/queue/b", AckMode::client_individual, 100);
  fill("/queue/a", 2);
  fill("/queue/b", 2);
  REQUIRE(c.got.size() == 4);
  AckRequest r11;
  r11.message_id = c.got[1].id_text;
  r11.subscription = "s1";
  REQUIRE(broker->ack(cid, r11).has_value());
  CHECK(stat("/queue/a").inflight == 1);
  // Wrong subscription for that message id.
  AckRequest wrong;
  wrong.message_id = c.got[0].id_text;
  wrong.subscription = "s2";
  auto w = broker->ack(cid, wrong);
  REQUIRE_FALSE(w.has_value());
  CHECK(w.error().code == static_cast<int>(Errc::unknown_ack_id));
  AckRequest nosub;
  nosub.message_id = c.got[0].id_text;
  nosub.subscription = "zz";
  auto ns = broker->ack(cid, nosub);
  REQUIRE_FALSE(ns.has_value());
  CHECK(ns.error().code == static_cast<int>(Errc::unknown_subscription));
  AckRequest r10;
  r10.message_id = c.got[3].id_text;
  REQUIRE(broker->ack(cid, r10).has_value());
  CHECK(stat("/queue/b").inflight == 1);
  AckRequest bogus;
  bogus.message_id = "ID:other-3";
  auto b = broker->ack(cid, bogus);
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error().message == "no unacknowledged message with message id 'ID:other-3' on this connection");
}

TEST_CASE_FIXTURE(AckFixture, "unknown ack ids: garbage, other connection's tag, auto subscription") {
  RecordingClient other;
  ConnId oid = attach(other);
  subscribe_ok(cid, "s", "/queue/a", AckMode::client, 100);
  subscribe_ok(oid, "auto", "/queue/b");
  fill("/queue/a", 1);
  fill("/queue/b", 1);
  AckRequest garbage;
  garbage.ack_id = "12x";
  CHECK(broker->ack(cid, garbage).error().code == static_cast<int>(Errc::unknown_ack_id));
  CHECK_FALSE(ack_tag(oid, c.got[0].ack_tag).has_value());
  CHECK_FALSE(ack_tag(oid, 0).has_value());
  CHECK(stat("/queue/a").inflight == 1);
}

TEST_CASE_FIXTURE(AckFixture, "NACK in client mode is cumulative, individual otherwise") {
  subscribe_ok(cid, "s", "/queue/a", AckMode::client, 3);
  fill("/queue/a", 3);
  REQUIRE(ack_tag(cid, c.got[1].ack_tag, true).has_value());
  // Two came back and were redelivered at once (window had room), ahead of nothing else.
  REQUIRE(c.got.size() == 5);
  CHECK(c.got[3].body == "0");
  CHECK(c.got[4].body == "1");
  CHECK(c.got[3].redelivered);
  CHECK(c.got[3].redelivery_count == 1);
  CHECK(stat("/queue/a").inflight == 3);
}

TEST_CASE_FIXTURE(AckFixture, "ACK opens the window for the subscription that acked") {
  subscribe_ok(cid, "s", "/queue/a", AckMode::client, 2);
  fill("/queue/a", 6);
  CHECK(c.got.size() == 2);
  REQUIRE(ack_tag(cid, c.got[1].ack_tag).has_value());
  CHECK(c.got.size() == 4);
  REQUIRE(ack_tag(cid, c.got[3].ack_tag).has_value());
  CHECK(c.bodies() == strings({"0", "1", "2", "3", "4", "5"}));
}
