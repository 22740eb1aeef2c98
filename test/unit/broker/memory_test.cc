// Memory accounting and limits (broker/memory_usage.h, broker/limits.cc): every holder
// counts exactly what it holds, the total is the sum, releases bring both back to zero,
// limits refuse SENDs and COMMITs without changing anything, waiting producers hear of
// room, and apply() (recovery, the slave) counts without ever refusing.
#include "support.h"

#include <numeric>

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

namespace {

std::uint64_t sum_of_destinations(const Broker& b) {
  std::uint64_t sum = 0;
  for (const auto& s : b.stats()) sum += s.memory_used;
  return sum;
}

// The total equals the sum over holders: checked after every step of every test.
void check_consistent(const Broker& b) { CHECK(b.memory_stats().used == sum_of_destinations(b)); }

const std::string kBody(1000, 'x');

}  // namespace

TEST_CASE_FIXTURE(Fixture, "memory: a queued message costs its allocation plus an index entry, acked ones nothing") {
  RecordingClient p, c;
  ConnId pid = attach(p);
  send_ok(pid, "/queue/a", kBody);
  const std::uint64_t one = broker->memory_stats().used;
  CHECK(one > kBody.size());
  CHECK(one < kBody.size() + 512);
  send_ok(pid, "/queue/a", kBody);
  send_ok(pid, "/queue/a", kBody);
  CHECK(broker->memory_stats().used == 3 * one);
  CHECK(stat("/queue/a").memory_used == 3 * one);
  check_consistent(*broker);

  // Delivered but unacknowledged: still held for the consumer, still counted.
  ConnId cid = attach(c);
  subscribe_ok(cid, "s", "/queue/a", AckMode::client_individual, 10);
  REQUIRE(c.got.size() == 3);
  CHECK(broker->memory_stats().used == 3 * one);
  check_consistent(*broker);

  REQUIRE(ack_tag(cid, c.got[0].ack_tag).has_value());
  CHECK(broker->memory_stats().used == 2 * one);
  // NACK gives it back to the queue: still counted, once.
  REQUIRE(ack_tag(cid, c.got[1].ack_tag, true).has_value());
  CHECK(broker->memory_stats().used == 2 * one);
  check_consistent(*broker);
  // Detach gives back everything held.
  broker->detach(cid);
  CHECK(broker->memory_stats().used == 2 * one);
  check_consistent(*broker);

  RecordingClient auto_consumer;
  subscribe_ok(attach(auto_consumer), "s", "/queue/a");
  CHECK(auto_consumer.got.size() == 2);
  CHECK(broker->memory_stats().used == 0);
  CHECK(stat("/queue/a").memory_used == 0);
}

TEST_CASE_FIXTURE(Fixture, "memory: topic subscribers' pending and unacknowledged messages count against the topic") {
  RecordingClient p, slow, acker;
  ConnId pid = attach(p);
  ConnId sid = attach(slow);
  ConnId aid = attach(acker);
  subscribe_ok(sid, "s", "/topic/t");
  subscribe_ok(aid, "s", "/topic/t", AckMode::client, 100);
  slow.accept = false;
  send_ok(pid, "/topic/t", kBody);
  send_ok(pid, "/topic/t", kBody);
  const std::uint64_t two_pending_two_held = broker->memory_stats().used;
  CHECK(two_pending_two_held > 4 * kBody.size());
  CHECK(stat("/topic/t").memory_used == two_pending_two_held);
  check_consistent(*broker);

  slow.accept = true;
  broker->resume(sid);
  CHECK(slow.got.size() == 2);
  CHECK(broker->memory_stats().used == two_pending_two_held / 2);
  REQUIRE(ack_tag(aid, acker.got[1].ack_tag).has_value());  // client mode: cumulative
  CHECK(broker->memory_stats().used == 0);

  // Pending messages of a subscriber that goes away are released with it.
  slow.accept = false;
  send_ok(pid, "/topic/t", kBody);
  broker->detach(sid);
  broker->detach(aid);
  CHECK(broker->memory_stats().used == 0);
  check_consistent(*broker);
}

TEST_CASE_FIXTURE(Fixture, "memory: a durable backlog counts, and removing the subscription releases it") {
  RecordingClient p, d;
  ConnId pid = attach(p);
  ConnId did = attach(d, "client-1");
  subscribe_ok(did, "sub", "/topic/t", AckMode::client, 10, "durable-1");
  broker->detach(did);
  send_ok(pid, "/topic/t", kBody);
  send_ok(pid, "/topic/t", kBody);
  CHECK(broker->memory_stats().used > 2 * kBody.size());
  check_consistent(*broker);

  RecordingClient again;
  ConnId aid = attach(again, "client-1");
  REQUIRE(broker->unsubscribe(aid, "durable-1", true).has_value());
  CHECK(broker->memory_stats().used == 0);
  check_consistent(*broker);
}

TEST_CASE_FIXTURE(Fixture, "memory: expiry and dead-lettering move or release exactly what they take") {
  RecordingClient p, c;
  ConnId pid = attach(p);
  REQUIRE(send(pid, "/queue/a", kBody, 4, {}, false, now + 10).has_value());
  send_ok(pid, "/queue/b", kBody);
  const std::uint64_t two = broker->memory_stats().used;
  now += 20;
  broker->tick(now);
  CHECK(broker->memory_stats().used == two / 2);

  // maximumRedeliveries 0: one NACK sends it to the DLQ, which now holds it.
  policy.maximum_redeliveries = 0;
  RecordingClient n;
  ConnId nid = attach(n);
  subscribe_ok(nid, "s", "/queue/c", AckMode::client_individual, 10);
  send_ok(pid, "/queue/c", kBody);
  REQUIRE(n.got.size() == 1);
  REQUIRE(ack_tag(nid, n.got[0].ack_tag, true).has_value());
  CHECK(stat("/queue/c").memory_used == 0);
  CHECK(stat("/queue/DLQ").memory_used > kBody.size());
  check_consistent(*broker);
}

TEST_CASE("memory: a destination's memoryLimit refuses SENDs to it only, and a waiting producer hears of room") {
  Fixture f;
  f.policy.memory_limit = 4000;  // about three 1000-byte messages
  f.broker = f.make_broker();
  RecordingClient p, other, c;
  ConnId pid = f.attach(p);
  ConnId oid = f.attach(other);
  int accepted = 0;
  Result<Seq> r;
  while ((r = f.send(pid, "/queue/full", kBody)).has_value()) ++accepted;
  CHECK(accepted == 4);  // checked before adding: the limit is passed by at most one message
  CHECK(r.error().code == static_cast<int>(Errc::memory_full));
  CHECK(r.error().message.find("/queue/full has reached its memoryLimit") != std::string::npos);
  CHECK(r.error().message.find("MiB used of 0.0 MiB") != std::string::npos);
  const std::size_t events = f.sink.events.size();
  CHECK_FALSE(f.send(pid, "/queue/full", kBody).has_value());
  CHECK(f.sink.events.size() == events);  // a refusal changes nothing

  f.send_ok(oid, "/queue/other", kBody);  // another destination carries on

  f.broker->wait_for_room(pid);
  CHECK(f.broker->memory_stats().waiting_producers == 1);
  ConnId cid = f.attach(c);
  f.subscribe_ok(cid, "s", "/queue/full", AckMode::client_individual, 10);
  CHECK(p.rooms == 0);  // delivered, not yet acknowledged: nothing released
  REQUIRE(f.ack_tag(cid, c.got[0].ack_tag).has_value());
  CHECK(p.rooms == 1);
  CHECK(other.rooms == 0);
  CHECK(f.broker->memory_stats().waiting_producers == 0);
  f.send_ok(pid, "/queue/full", kBody);
  REQUIRE(f.ack_tag(cid, c.got[1].ack_tag).has_value());
  CHECK(p.rooms == 1);  // one wait, one notification
}

TEST_CASE("memory: the broker's memoryUsage refuses every SEND and COMMIT; producerFlowControl=false skips only the destination's own limit") {
  Fixture f;
  f.memory_limit = 3000;
  f.policy.memory_limit = 1000;
  f.policy.producer_flow_control = false;
  f.broker = f.make_broker();
  RecordingClient p;
  ConnId pid = f.attach(p);
  f.send_ok(pid, "/queue/a", kBody);
  f.send_ok(pid, "/queue/a", kBody);  // past its own limit: producerFlowControl is off
  f.send_ok(pid, "/queue/b", kBody);
  auto r = f.send(pid, "/queue/c", kBody);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(Errc::memory_full));
  CHECK(r.error().message.find("the broker's memory limit is reached (systemUsage memoryUsage)") !=
        std::string::npos);

  // An open transaction's sends are memory too: a full broker refuses them (the session
  // makes the producer wait), and counts them from the SEND on.
  REQUIRE(f.broker->begin(pid, "tx").has_value());
  auto in_tx = f.send(pid, "/queue/c", kBody, 4, "tx");
  REQUIRE_FALSE(in_tx.has_value());
  CHECK(in_tx.error().code == static_cast<int>(Errc::memory_full));
  CHECK(in_tx.error().message.find("counting open transactions") != std::string::npos);
  RecordingClient c;
  f.subscribe_ok(f.attach(c), "s", "/queue/a");  // two messages go
  const std::uint64_t before = f.broker->memory_stats().used;
  REQUIRE(f.send(pid, "/queue/c", kBody, 4, "tx").has_value());
  const std::uint64_t one = f.broker->memory_stats().used - before;
  CHECK(one > kBody.size());
  CHECK(sum_of_destinations(*f.broker) == before);  // held by the transaction, not yet by /queue/c
  REQUIRE(f.broker->commit(pid, "tx").has_value());
  CHECK(f.broker->memory_stats().used == before + one);  // now /queue/c holds it
  check_consistent(*f.broker);
}

TEST_CASE("memory: a transaction's own sends never keep its COMMIT out; ABORT and a closed connection give them back") {
  Fixture f;
  f.memory_limit = 3000;
  f.broker = f.make_broker();
  RecordingClient p;
  ConnId pid = f.attach(p);
  REQUIRE(f.broker->begin(pid, "big").has_value());
  REQUIRE(f.send(pid, "/queue/a", kBody, 4, "big").has_value());
  REQUIRE(f.send(pid, "/queue/a", kBody, 4, "big").has_value());
  REQUIRE(f.send(pid, "/queue/a", kBody, 4, "big").has_value());  // the broker is full of this transaction
  CHECK(f.broker->memory_stats().used >= 3000);
  CHECK(sum_of_destinations(*f.broker) == 0);
  auto fourth = f.send(pid, "/queue/a", kBody, 4, "big");
  REQUIRE_FALSE(fourth.has_value());
  CHECK(fourth.error().code == static_cast<int>(Errc::memory_full));
  REQUIRE(f.broker->commit(pid, "big").has_value());  // its own bytes move to /queue/a
  check_consistent(*f.broker);
  CHECK(f.stat("/queue/a").depth == 3);

  RecordingClient drain;
  f.subscribe_ok(f.attach(drain), "s", "/queue/a");
  REQUIRE(f.broker->memory_stats().used == 0);
  REQUIRE(f.broker->begin(pid, "gone").has_value());
  REQUIRE(f.send(pid, "/queue/b", kBody, 4, "gone").has_value());
  CHECK(f.broker->memory_stats().used > 0);
  REQUIRE(f.broker->abort(pid, "gone").has_value());
  CHECK(f.broker->memory_stats().used == 0);
  REQUIRE(f.broker->begin(pid, "left").has_value());
  REQUIRE(f.send(pid, "/queue/b", kBody, 4, "left").has_value());
  CHECK(f.broker->memory_stats().used > 0);
  f.broker->detach(pid);
  CHECK(f.broker->memory_stats().used == 0);
}

TEST_CASE("memory: a slow topic subscriber drops its oldest pending message when memory is full, and producers carry on") {
  Fixture f;
  f.policy.memory_limit = 3000;
  f.broker = f.make_broker();
  RecordingClient p, slow;
  ConnId pid = f.attach(p);
  ConnId sid = f.attach(slow);
  f.subscribe_ok(sid, "s", "/topic/t");
  slow.accept = false;
  for (int i = 0; i < 10; ++i) f.send_ok(pid, "/topic/t", kBody + std::to_string(i));
  CHECK(f.stat("/topic/t").memory_used <= 4000);
  slow.accept = true;
  f.broker->resume(sid);
  REQUIRE_FALSE(slow.got.empty());
  CHECK(slow.got.back().body == kBody + "9");
}

TEST_CASE("memory: apply() counts what it is given and never refuses (recovery and the slave)") {
  Fixture master;
  RecordingClient p;
  ConnId pid = master.attach(p);
  for (int i = 0; i < 10; ++i) master.send_ok(pid, "/queue/a", kBody);

  Fixture slave;
  slave.memory_limit = 2000;
  slave.policy.memory_limit = 1000;
  slave.broker = slave.make_broker(false);
  master.sink.replay_into(*slave.broker);
  CHECK(slave.stat("/queue/a").depth == 10);
  CHECK(slave.broker->memory_stats().used == master.broker->memory_stats().used);
  check_consistent(*slave.broker);
}

TEST_CASE("memory: storeUsage refuses persistent SENDs only, and a store that shrinks wakes the producer") {
  Fixture f;
  f.store_limit = 1 << 20;
  f.broker = f.make_broker();
  RecordingClient p;
  ConnId pid = f.attach(p);
  f.broker->set_store_usage(1 << 20);
  auto r = f.send(pid, "/queue/a", kBody, 4, {}, true);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(Errc::store_full));
  CHECK(r.error().message.find("storeUsage") != std::string::npos);
  f.send_ok(pid, "/queue/a", kBody);  // non-persistent: not stored

  f.broker->wait_for_room(pid);
  f.broker->set_store_usage((1 << 20) - 1);
  RecordingClient c;
  f.subscribe_ok(f.attach(c), "s", "/queue/a");  // any broker call delivers the news
  CHECK(p.rooms == 1);
  CHECK(f.send(pid, "/queue/a", kBody, 4, {}, true).has_value());
}
