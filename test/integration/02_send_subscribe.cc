// 02 — SEND, SUBSCRIBE, UNSUBSCRIBE per protocol version; what a MESSAGE carries;
// RECEIPT for every client frame.
#include <set>

#include "common.h"

using namespace twinmq::test;

TEST_CASE("02 send/subscribe: MESSAGE carries subscription, message-id, destination, user headers, content-length") {
  BrokerProcess broker;
  auto consumer = client(broker, "1.2");
  consumer->subscribe("/queue/orders", "sub-7");
  auto producer = client(broker, "1.2");
  producer->send("/queue/orders", "order #1",
                 {{"x-customer", "acme"}, {"correlation-id", "c-42"}, {"content-type", "text/plain"}});
  auto m = consumer->message();
  INFO(m.describe());
  CHECK(m["subscription"] == "sub-7");
  CHECK(m["message-id"].starts_with("ID:"));
  CHECK(m["destination"] == "/queue/orders");
  CHECK(m["x-customer"] == "acme");
  CHECK(m["correlation-id"] == "c-42");
  CHECK(m["content-type"] == "text/plain");
  CHECK(m["content-length"] == "8");
  CHECK(m.body == "order #1");
  // auto subscriptions need no ack, so the MESSAGE has no ack header; no redelivered flag on a first delivery.
  CHECK_FALSE(m.has("ack"));
  CHECK(m["redelivered"] != "true");
  // The SEND's receipt header is not passed on.
  CHECK_FALSE(m.has("receipt"));
}

TEST_CASE("02 send/subscribe: STOMP 1.0 — SUBSCRIBE without id, UNSUBSCRIBE by destination") {
  BrokerProcess broker;
  RawStomp c(broker.port());
  c.connect("");
  c.request("SUBSCRIBE", {{"destination", "/queue/v10.a"}});
  auto p = client(broker, "1.2");
  p->send("/queue/v10.a", "first");
  auto m = c.message();
  CHECK(m.body == "first");
  CHECK(m["destination"] == "/queue/v10.a");
  c.request("UNSUBSCRIBE", {{"destination", "/queue/v10.a"}});
  p->send("/queue/v10.a", "after unsubscribe");
  CHECK_MESSAGE(c.sync().empty(), "nothing may arrive after UNSUBSCRIBE");
  // The message stayed on the queue for the next consumer.
  auto d = client(broker, "1.2");
  d->subscribe("/queue/v10.a", "s");
  CHECK(d->message().body == "after unsubscribe");
}

TEST_CASE("02 send/subscribe: STOMP 1.0 — SUBSCRIBE with an id, UNSUBSCRIBE by id") {
  BrokerProcess broker;
  RawStomp c(broker.port());
  c.connect("");
  c.subscribe("/topic/v10.t", "my-id", "");
  c.send("/topic/v10.t", "x");
  auto m = c.message();
  CHECK(m.body == "x");
  c.request("UNSUBSCRIBE", {{"id", "my-id"}});
  c.send("/topic/v10.t", "y");
  CHECK(c.sync().empty());
}

TEST_CASE("02 send/subscribe: STOMP 1.1 and 1.2 — SUBSCRIBE id is echoed, UNSUBSCRIBE id stops delivery") {
  BrokerProcess broker;
  for (std::string version : {"1.1", "1.2"}) {
    INFO("version " << version);
    const std::string q = "/queue/unsub." + version;
    auto c = client(broker, version);
    c->subscribe(q, "a");
    c->subscribe("/topic/unsub." + version, "b");
    auto p = client(broker, version);
    p->send(q, "to a");
    p->send("/topic/unsub." + version, "to b");
    auto m1 = c->message();
    auto m2 = c->message();
    CHECK(m1["subscription"] == "a");
    CHECK(m1.body == "to a");
    CHECK(m2["subscription"] == "b");
    CHECK(m2.body == "to b");
    c->request("UNSUBSCRIBE", {{"id", "a"}});
    p->send(q, "nobody");
    p->send("/topic/unsub." + version, "to b again");
    auto m3 = c->message();
    CHECK(m3["subscription"] == "b");
    CHECK(m3.body == "to b again");
    CHECK(c->sync().empty());
  }
}

TEST_CASE("02 send/subscribe: two subscriptions on one connection are told apart by subscription header") {
  BrokerProcess broker;
  auto c = client(broker, "1.2");
  c->subscribe("/topic/news", "first");
  c->subscribe("/topic/news", "second");
  c->send("/topic/news", "headline");
  auto a = c->message();
  auto b = c->message();
  std::set<std::string> subs{a["subscription"], b["subscription"]};
  CHECK(subs == std::set<std::string>{"first", "second"});
  CHECK(a.body == "headline");
  CHECK(b.body == "headline");
  CHECK(a["message-id"] == b["message-id"]);  // one message, delivered twice
}

TEST_CASE("02 send/subscribe: a RECEIPT for every client frame that carries receipt, in order") {
  BrokerProcess broker;
  auto p = client(broker, "1.2");
  p->send("/queue/rcpt", "m1");
  p->send("/queue/rcpt", "m2");
  p->send("/queue/rcpt", "m3");

  RawStomp c(broker.port());
  c.connect("1.2");
  // Pipeline every frame type with a receipt in one write; receipts come back in order.
  std::string out;
  out += frame_bytes("SUBSCRIBE", {{"destination", "/queue/rcpt"}, {"id", "s"}, {"ack", "client-individual"},
                                   {"receipt", "r-subscribe"}});
  out += frame_bytes("SEND", {{"destination", "/topic/rcpt-other"}, {"receipt", "r-send"}}, "x");
  out += frame_bytes("BEGIN", {{"transaction", "t1"}, {"receipt", "r-begin"}});
  out += frame_bytes("COMMIT", {{"transaction", "t1"}, {"receipt", "r-commit"}});
  out += frame_bytes("BEGIN", {{"transaction", "t2"}, {"receipt", "r-begin2"}});
  out += frame_bytes("ABORT", {{"transaction", "t2"}, {"receipt", "r-abort"}});
  REQUIRE(c.send_raw(out));
  std::vector<std::string> receipts;
  std::vector<ReceivedFrame> msgs;
  while (receipts.size() < 6) {
    auto f = c.next_frame();
    REQUIRE_MESSAGE(f.has_value(), "receipts so far: " << receipts.size());
    if (f->command == "MESSAGE") {
      msgs.push_back(*f);
    } else {
      REQUIRE_MESSAGE(f->command == "RECEIPT", f->describe());
      receipts.push_back((*f)["receipt-id"]);
    }
  }
  CHECK(receipts == std::vector<std::string>{"r-subscribe", "r-send", "r-begin", "r-commit", "r-begin2", "r-abort"});
  while (msgs.size() < 3) msgs.push_back(c.message());
  // ACK and NACK with receipts.
  c.send_frame("ACK", {{"id", msgs[0]["ack"]}, {"receipt", "r-ack"}});
  CHECK(c.expect("RECEIPT")["receipt-id"] == "r-ack");
  c.send_frame("NACK", {{"id", msgs[1]["ack"]}, {"receipt", "r-nack"}});
  // The NACKed message may come straight back; the receipt must come either way.
  std::optional<std::string> rid;
  std::vector<ReceivedFrame> later;
  for (int i = 0; i < 3 && !rid; ++i) {
    auto f = c.next_frame();
    REQUIRE(f.has_value());
    if (f->command == "RECEIPT") rid = (*f)["receipt-id"];
    else later.push_back(*f);
  }
  CHECK(rid == "r-nack");
  c.send_frame("UNSUBSCRIBE", {{"id", "s"}, {"receipt", "r-unsubscribe"}});
  for (;;) {
    auto f = c.next_frame();
    REQUIRE(f.has_value());
    if (f->command == "MESSAGE") continue;  // a redelivery racing the UNSUBSCRIBE
    CHECK(f->command == "RECEIPT");
    CHECK((*f)["receipt-id"] == "r-unsubscribe");
    break;
  }
  c.send_frame("DISCONNECT", {{"receipt", "r-disconnect"}});
  CHECK(c.expect("RECEIPT")["receipt-id"] == "r-disconnect");
  CHECK(c.wait_closed());
}

TEST_CASE("02 send/subscribe: receipts work on STOMP 1.0 and 1.1 connections too") {
  BrokerProcess broker;
  for (std::string version : {"", "1.1"}) {
    RawStomp c(broker.port());
    c.connect(version);
    c.send_frame("SUBSCRIBE", {{"destination", "/queue/r10"}, {"id", "x"}, {"receipt", "r1"}});
    CHECK(c.expect("RECEIPT")["receipt-id"] == "r1");
    c.send_frame("SEND", {{"destination", "/queue/r10"}, {"receipt", "r2"}}, "b");
    // The MESSAGE and the RECEIPT may come in either order.
    auto f1 = c.next_frame();
    auto f2 = c.next_frame();
    REQUIRE(f1.has_value());
    REQUIRE(f2.has_value());
    std::set<std::string> commands{f1->command, f2->command};
    CHECK(commands == std::set<std::string>{"MESSAGE", "RECEIPT"});
  }
}

TEST_CASE("02 send/subscribe: a SEND with a body larger than the socket buffers arrives intact") {
  BrokerProcess broker;
  auto c = client(broker, "1.2");
  c->subscribe("/queue/big", "s");
  std::string body(3u << 20, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 7919) & 0xff);
  auto p = client(broker, "1.2");
  p->send("/queue/big", body);
  auto m = c->message(Ms(15'000));
  CHECK(m.body.size() == body.size());
  CHECK(m.body == body);
  CHECK(m["content-length"] == std::to_string(body.size()));
}
