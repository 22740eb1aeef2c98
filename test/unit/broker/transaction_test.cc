// Transactions: invisible sends, one atomic event, acks held until commit, abort.
#include "support.h"

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

TEST_CASE_FIXTURE(Fixture, "transacted sends are invisible until commit, then one event") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/q");
  REQUIRE(broker->begin(pid, "tx1").has_value());
  REQUIRE(send(pid, "/queue/q", "1", 4, "tx1").has_value());
  REQUIRE(send(pid, "/queue/q", "2", 4, "tx1").has_value());
  send_ok(pid, "/queue/q", "outside");
  CHECK(c.bodies() == strings({"outside"}));
  const std::size_t before = sink.events.size();
  auto r = broker->commit(pid, "tx1");
  REQUIRE(r.has_value());
  CHECK(c.bodies() == strings({"outside", "1", "2"}));
  // The TransactionCommitted, then the auto-ack removals of the delivery.
  REQUIRE(sink.events.size() > before);
  const RecordedEvent& e = sink.events[before];
  CHECK(e.type == committed);
  CHECK(e.sends.size() == 2);
  CHECK(e.acks.empty());
  CHECK(r->value >= e.seq.value);
  // Ids are given at commit, after the ones already used.
  CHECK(c.got[1].id > c.got[0].id);
  CHECK(c.got[2].id == c.got[1].id + 1);
}

TEST_CASE_FIXTURE(Fixture, "commit creates missing destinations first") {
  RecordingClient p;
  ConnId pid = attach(p);
  REQUIRE(broker->begin(pid, "t").has_value());
  REQUIRE(send(pid, "/queue/new", "1", 4, "t").has_value());
  CHECK(sink.events.empty());
  CHECK_FALSE(has_stat("/queue/new"));
  REQUIRE(broker->commit(pid, "t").has_value());
  CHECK(sink.types() == std::vector<std::size_t>{dest_added, committed});
  CHECK(stat("/queue/new").depth == 1);
}

TEST_CASE_FIXTURE(Fixture, "abort drops transacted sends") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/q");
  REQUIRE(broker->begin(pid, "t").has_value());
  REQUIRE(send(pid, "/queue/q", "1", 4, "t").has_value());
  REQUIRE(broker->abort(pid, "t").has_value());
  CHECK(c.got.empty());
  CHECK(broker->commit(pid, "t").error().code == static_cast<int>(Errc::unknown_transaction));
}

TEST_CASE_FIXTURE(Fixture, "acks in a transaction stay in the window until commit") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/q", AckMode::client, 2);
  for (int i = 0; i < 4; ++i) send_ok(pid, "/queue/q", std::to_string(i));
  REQUIRE(broker->begin(cid, "t").has_value());
  REQUIRE(ack_tag(cid, c.got[1].ack_tag, false, "t").has_value());
  CHECK(c.got.size() == 2);  // window still full
  CHECK(stat("/queue/q").inflight == 2);
  // Acked-in-tx deliveries cannot be acked again outside it.
  CHECK_FALSE(ack_tag(cid, c.got[0].ack_tag).has_value());
  const std::size_t before = sink.events.size();
  REQUIRE(broker->commit(cid, "t").has_value());
  REQUIRE(sink.events.size() == before + 1);
  CHECK(sink.events[before].type == committed);
  CHECK(sink.events[before].acks.size() == 2);
  CHECK(sink.events[before].ack_queues[0] == "/queue/q");
  CHECK(c.got.size() == 4);
  auto s = stat("/queue/q");
  CHECK(s.dequeued == 2);
  CHECK(s.inflight == 2);
}

TEST_CASE_FIXTURE(Fixture, "abort undoes acks: the messages are unacked again, redelivered on detach") {
  RecordingClient p, c, d;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/q", AckMode::client_individual, 10);
  send_ok(pid, "/queue/q", "1");
  REQUIRE(broker->begin(cid, "t").has_value());
  REQUIRE(ack_tag(cid, c.got[0].ack_tag, false, "t").has_value());
  REQUIRE(broker->abort(cid, "t").has_value());
  CHECK(stat("/queue/q").inflight == 1);
  // Plain ACK works again after the abort.
  REQUIRE(ack_tag(cid, c.got[0].ack_tag).has_value());
  send_ok(pid, "/queue/q", "2");
  REQUIRE(broker->begin(cid, "t2").has_value());
  REQUIRE(ack_tag(cid, c.got[1].ack_tag, false, "t2").has_value());
  broker->detach(cid);  // aborts t2: message 2 goes back
  subscribe_ok(attach(d), "s", "/queue/q");
  REQUIRE(d.got.size() == 1);
  CHECK(d.got[0].body == "2");
  CHECK(d.got[0].redelivered);
}

TEST_CASE_FIXTURE(Fixture, "unknown and duplicate transactions") {
  RecordingClient c;
  ConnId cid = attach(c);
  auto e1 = send(cid, "/queue/q", "x", 4, "nope");
  REQUIRE_FALSE(e1.has_value());
  CHECK(e1.error().code == static_cast<int>(Errc::unknown_transaction));
  CHECK(e1.error().message.find("'nope'") != std::string::npos);
  CHECK(broker->commit(cid, "nope").error().code == static_cast<int>(Errc::unknown_transaction));
  CHECK(broker->abort(cid, "nope").error().code == static_cast<int>(Errc::unknown_transaction));
  CHECK(ack_tag(cid, 1, false, "nope").error().code == static_cast<int>(Errc::unknown_transaction));
  REQUIRE(broker->begin(cid, "t").has_value());
  CHECK(broker->begin(cid, "t").error().code == static_cast<int>(Errc::duplicate_transaction));
  // Transaction names are per connection.
  RecordingClient other;
  CHECK(broker->begin(attach(other), "t").has_value());
  CHECK(send(cid, "bad", "x", 4, "t").error().code == static_cast<int>(Errc::invalid_destination));
}

TEST_CASE_FIXTURE(Fixture, "transacted topic sends reach subscribers and durable backlogs at commit") {
  RecordingClient p, live, dur;
  ConnId pid = attach(p), did = attach(dur, "c");
  subscribe_ok(attach(live), "s", "/topic/t");
  subscribe_ok(did, "s", "/topic/t", AckMode::auto_ack, 0, "d");
  REQUIRE(broker->unsubscribe(did, "s").has_value());
  REQUIRE(broker->begin(pid, "t").has_value());
  REQUIRE(send(pid, "/topic/t", "1", 4, "t").has_value());
  CHECK(live.got.empty());
  REQUIRE(broker->commit(pid, "t").has_value());
  CHECK(live.bodies() == strings({"1"}));
  CHECK(stat(durable_key("c", "d")).depth == 1);
}

TEST_CASE_FIXTURE(Fixture, "NACK in a transaction takes effect at commit") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/q", AckMode::client_individual, 10);
  send_ok(pid, "/queue/q", "1");
  REQUIRE(broker->begin(cid, "t").has_value());
  REQUIRE(ack_tag(cid, c.got[0].ack_tag, true, "t").has_value());
  CHECK(c.got.size() == 1);
  REQUIRE(broker->commit(cid, "t").has_value());
  REQUIRE(c.got.size() == 2);
  CHECK(c.got[1].redelivered);
}

TEST_CASE_FIXTURE(Fixture, "persistence refusal fails persistent sends and commits, not others") {
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/q");
  REQUIRE(broker->begin(pid, "t").has_value());
  REQUIRE(send(pid, "/queue/q", "p", 4, "t", true).has_value());
  broker->set_persistence_refusal("the journal's disk is full (/data: No space left on device)");
  auto r = send(pid, "/queue/q", "x", 4, {}, true);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(Errc::persistence_unavailable));
  CHECK(r.error().message == "the journal's disk is full (/data: No space left on device)");
  auto cm = broker->commit(pid, "t");
  REQUIRE_FALSE(cm.has_value());
  CHECK(cm.error().code == static_cast<int>(Errc::persistence_unavailable));
  send_ok(pid, "/queue/q", "non-persistent");
  CHECK(c.bodies() == strings({"non-persistent"}));
  broker->set_persistence_refusal("");
  REQUIRE(broker->commit(pid, "t").has_value());  // the refused commit left the tx open
  CHECK(c.bodies() == strings({"non-persistent", "p"}));
}

TEST_CASE_FIXTURE(Fixture, "a SEND that would take a transaction past maxTransactionSize is refused") {
  max_transaction_bytes = 4096;
  broker = make_broker();
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/q");
  REQUIRE(broker->begin(pid, "t").has_value());
  const std::string body(1000, 'x');
  int accepted = 0;
  Result<Seq> r;
  while ((r = send(pid, "/queue/q", body, 4, "t", true)).has_value()) ++accepted;
  // Each SEND counts its encoded size (body plus overhead), so three fit and the fourth does not.
  CHECK(accepted == 3);
  CHECK(r.error().code == static_cast<int>(Errc::transaction_too_large));
  CHECK(r.error().message.find("transaction 't'") != std::string::npos);
  CHECK(r.error().message.find("maxTransactionSize") != std::string::npos);
  CHECK(r.error().message.find("3 messages") != std::string::npos);
  // The refused SEND changed nothing: the three accepted ones still commit.
  REQUIRE(broker->commit(pid, "t").has_value());
  CHECK(c.bodies().size() == 3);
  // A new transaction starts from zero.
  REQUIRE(broker->begin(pid, "t2").has_value());
  CHECK(send(pid, "/queue/q", body, 4, "t2", true).has_value());
  REQUIRE(broker->abort(pid, "t2").has_value());
}

TEST_CASE_FIXTURE(Fixture, "ACKs count against maxTransactionSize too") {
  max_transaction_bytes = 1024;
  broker = make_broker();
  RecordingClient p, c;
  ConnId pid = attach(p), cid = attach(c);
  subscribe_ok(cid, "s", "/queue/q", AckMode::client_individual, 100);
  for (int i = 0; i < 20; ++i) send_ok(pid, "/queue/q", std::to_string(i));
  REQUIRE(c.got.size() == 20);
  REQUIRE(broker->begin(cid, "t").has_value());
  int acked = 0;
  Result<Seq> r;
  for (std::size_t i = 0; i < c.got.size(); ++i) {
    r = ack_tag(cid, c.got[i].ack_tag, false, "t");
    if (!r) break;
    ++acked;
  }
  // kAckedMessageBound (96) + the queue name (8) per ack: 9 fit in 1024 bytes.
  CHECK(acked == 9);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(Errc::transaction_too_large));
  CHECK(r.error().message.find("ACK") != std::string::npos);
  REQUIRE(broker->commit(cid, "t").has_value());
  CHECK(stat("/queue/q").dequeued == 9);
}
