// 04 — BEGIN / COMMIT / ABORT: transacted sends are invisible until COMMIT and
// discarded by ABORT; transacted acks are undone by ABORT; a connection that goes
// away aborts its open transactions.
#include "common.h"

using namespace twinmq::test;

TEST_CASE("04 transactions: sends are invisible until COMMIT, then delivered in order") {
  BrokerProcess broker;
  auto consumer = client(broker, "1.2");
  consumer->subscribe("/queue/tx", "s");
  auto p = client(broker, "1.2");
  p->request("BEGIN", {{"transaction", "tx-1"}});
  p->send("/queue/tx", "tx-a", {{"transaction", "tx-1"}});
  p->send("/queue/tx", "tx-b", {{"transaction", "tx-1"}});
  p->send("/queue/tx", "plain");  // outside the transaction: visible at once
  CHECK(consumer->message().body == "plain");
  CHECK_MESSAGE(consumer->sync().empty(), "transacted sends must stay invisible before COMMIT");
  p->request("COMMIT", {{"transaction", "tx-1"}});
  CHECK(bodies(consumer->messages(2)) == std::vector<std::string>{"tx-a", "tx-b"});
  CHECK(consumer->sync().empty());
}

TEST_CASE("04 transactions: ABORT discards the transaction's sends") {
  BrokerProcess broker;
  auto consumer = client(broker, "1.2");
  consumer->subscribe("/queue/txa", "s");
  consumer->subscribe("/topic/txa", "t");
  auto p = client(broker, "1.1");
  p->request("BEGIN", {{"transaction", "tx-abort"}});
  p->send("/queue/txa", "never-q", {{"transaction", "tx-abort"}});
  p->send("/topic/txa", "never-t", {{"transaction", "tx-abort"}});
  p->request("ABORT", {{"transaction", "tx-abort"}});
  p->send("/queue/txa", "marker");
  CHECK(consumer->message().body == "marker");
  CHECK(consumer->sync().empty());
}

TEST_CASE("04 transactions: topic sends in a transaction fan out at COMMIT") {
  BrokerProcess broker;
  auto a = client(broker, "1.2");
  auto b = client(broker, "1.2");
  a->subscribe("/topic/txt", "s");
  b->subscribe("/topic/txt", "s");
  auto p = client(broker, "1.2");
  p->request("BEGIN", {{"transaction", "t"}});
  p->send("/topic/txt", "t1", {{"transaction", "t"}});
  CHECK(a->sync().empty());
  p->request("COMMIT", {{"transaction", "t"}});
  CHECK(a->message().body == "t1");
  CHECK(b->message().body == "t1");
}

TEST_CASE("04 transactions: two transactions on one connection are independent") {
  BrokerProcess broker;
  auto consumer = client(broker, "1.2");
  consumer->subscribe("/queue/tx2", "s");
  auto p = client(broker, "1.2");
  p->request("BEGIN", {{"transaction", "keep"}});
  p->request("BEGIN", {{"transaction", "drop"}});
  p->send("/queue/tx2", "kept", {{"transaction", "keep"}});
  p->send("/queue/tx2", "dropped", {{"transaction", "drop"}});
  p->request("ABORT", {{"transaction", "drop"}});
  CHECK(consumer->sync().empty());
  p->request("COMMIT", {{"transaction", "keep"}});
  CHECK(consumer->message().body == "kept");
  CHECK(consumer->sync().empty());
}

TEST_CASE("04 transactions: an ACK inside an aborted transaction is undone") {
  BrokerProcess broker;
  {
    auto p = client(broker, "1.2");
    p->send("/queue/txack", "m0");
    p->send("/queue/txack", "m1");
  }
  {
    auto c = client(broker, "1.2");
    c->subscribe("/queue/txack", "s", "client-individual");
    auto ms = c->messages(2);
    c->request("BEGIN", {{"transaction", "acks"}});
    c->request("ACK", {{"id", ms[0]["ack"]}, {"transaction", "acks"}});
    c->request("ABORT", {{"transaction", "acks"}});
    c->request("BEGIN", {{"transaction", "acks2"}});
    c->request("ACK", {{"id", ms[1]["ack"]}, {"transaction", "acks2"}});
    c->request("COMMIT", {{"transaction", "acks2"}});
    c->send_frame("DISCONNECT", {{"receipt", "bye"}});
    c->expect("RECEIPT");
  }
  // m0's ack was aborted: it comes back; m1's was committed: it does not.
  auto c = client(broker, "1.2");
  c->subscribe("/queue/txack", "s", "client-individual");
  auto m = c->message();
  CHECK(m.body == "m0");
  CHECK(m["redelivered"] == "true");
  CHECK(c->sync().empty());
}

TEST_CASE("04 transactions: an ACK in an aborted transaction can be acked again afterwards") {
  BrokerProcess broker;
  auto p = client(broker, "1.2");
  p->send("/queue/txack2", "only");
  auto c = client(broker, "1.2");
  c->subscribe("/queue/txack2", "s", "client-individual");
  auto m = c->message();
  c->request("BEGIN", {{"transaction", "t"}});
  c->request("ACK", {{"id", m["ack"]}, {"transaction", "t"}});
  c->request("ABORT", {{"transaction", "t"}});
  // The message is unacked again (it is still with this consumer, or redelivered to it).
  auto f = c->sync();
  std::string ack_id = m["ack"];
  if (!f.empty()) {
    REQUIRE(f[0].command == "MESSAGE");
    CHECK(f[0].body == "only");
    ack_id = f[0]["ack"];
  }
  c->request("ACK", {{"id", ack_id}});
  c->send_frame("DISCONNECT", {{"receipt", "bye"}});
  c->expect("RECEIPT");
  auto d = client(broker, "1.2");
  d->subscribe("/queue/txack2", "s", "client-individual");
  CHECK(d->sync().empty());
}

TEST_CASE("04 transactions: DISCONNECT and connection loss abort open transactions") {
  BrokerProcess broker;
  auto consumer = client(broker, "1.2");
  consumer->subscribe("/queue/txgone", "s");
  {
    auto p = client(broker, "1.2");
    p->request("BEGIN", {{"transaction", "open"}});
    p->send("/queue/txgone", "uncommitted-1", {{"transaction", "open"}});
    p->send_frame("DISCONNECT", {{"receipt", "bye"}});
    p->expect("RECEIPT");
  }
  {
    auto p = client(broker, "1.2");
    p->request("BEGIN", {{"transaction", "open"}});
    p->send("/queue/txgone", "uncommitted-2", {{"transaction", "open"}});
  }  // socket closed abruptly
  auto p = client(broker, "1.2");
  // A new connection may reuse the transaction name: ids are per connection.
  p->request("BEGIN", {{"transaction", "open"}});
  p->send("/queue/txgone", "committed", {{"transaction", "open"}});
  p->request("COMMIT", {{"transaction", "open"}});
  CHECK(consumer->message().body == "committed");
  CHECK(consumer->sync().empty());
}
