// 03 — acknowledgement: auto, client (cumulative), client-individual; ACK per
// version; NACK; redelivery on disconnect; dead-letter queue.
#include <set>

#include "common.h"

using namespace twinmq::test;

namespace {

// Puts n messages "<prefix>0".."<prefix>n-1" on `queue` from a fresh connection.
void produce(BrokerProcess& broker, const std::string& queue, int n, const std::string& prefix = "m") {
  auto p = client(broker, "1.2");
  for (int i = 0; i < n; ++i) p->send(queue, prefix + std::to_string(i));
}

}  // namespace

TEST_CASE("03 ack: auto — delivered messages are gone, nothing is redelivered after disconnect") {
  BrokerProcess broker;
  produce(broker, "/queue/auto", 3);
  {
    auto c = client(broker, "1.2");
    c->subscribe("/queue/auto", "s", "auto");
    CHECK(bodies(c->messages(3)) == std::vector<std::string>{"m0", "m1", "m2"});
  }
  produce(broker, "/queue/auto", 1, "after");
  auto c = client(broker, "1.2");
  c->subscribe("/queue/auto", "s", "auto");
  auto m = c->message();
  CHECK(m.body == "after0");
  CHECK(c->sync().empty());
}

TEST_CASE("03 ack: client (1.2) — ACK is cumulative; unacked messages are redelivered with redelivered:true") {
  BrokerProcess broker;
  produce(broker, "/queue/client", 4);
  {
    auto c = client(broker, "1.2");
    c->subscribe("/queue/client", "s", "client");
    auto ms = c->messages(4);
    for (auto& m : ms) {
      CHECK_MESSAGE(m.has("ack"), "1.2 client-ack MESSAGE must carry an ack header: " << m.describe());
      CHECK(m["redelivered"] != "true");
    }
    // ACK of the 2nd acknowledges the 1st as well.
    c->request("ACK", {{"id", ms[1]["ack"]}});
    // Disconnect without acking m2, m3 (abrupt close: the socket goes away).
  }
  auto c = client(broker, "1.2");
  c->subscribe("/queue/client", "s", "client");
  auto again = c->messages(2);
  CHECK(bodies(again) == std::vector<std::string>{"m2", "m3"});
  for (auto& m : again) CHECK_MESSAGE(m["redelivered"] == "true", m.describe());
  CHECK(c->sync().empty());
}

TEST_CASE("03 ack: client-individual (1.2) — ACK covers exactly one message") {
  BrokerProcess broker;
  produce(broker, "/queue/indiv", 3);
  std::set<std::string> ids;
  {
    auto c = client(broker, "1.2");
    c->subscribe("/queue/indiv", "s", "client-individual");
    auto ms = c->messages(3);
    for (auto& m : ms) ids.insert(m["message-id"]);
    c->request("ACK", {{"id", ms[1]["ack"]}});
    c->send_frame("DISCONNECT", {{"receipt", "bye"}});
    c->expect("RECEIPT");
  }
  auto c = client(broker, "1.2");
  c->subscribe("/queue/indiv", "s", "client-individual");
  auto again = c->messages(2);
  CHECK(bodies(again) == std::vector<std::string>{"m0", "m2"});
  for (auto& m : again) {
    CHECK(m["redelivered"] == "true");
    // A redelivery is the same message: same message-id.
    CHECK(ids.contains(m["message-id"]));
  }
  CHECK(c->sync().empty());
}

TEST_CASE("03 ack: STOMP 1.1 ACK uses message-id + subscription") {
  BrokerProcess broker;
  produce(broker, "/queue/v11ack", 2);
  {
    auto c = client(broker, "1.1");
    c->subscribe("/queue/v11ack", "s11", "client-individual");
    auto ms = c->messages(2);
    CHECK(ms[0]["subscription"] == "s11");
    c->request("ACK", {{"message-id", ms[0]["message-id"]}, {"subscription", "s11"}});
  }
  auto c = client(broker, "1.1");
  c->subscribe("/queue/v11ack", "s11", "client");
  auto m = c->message();
  CHECK(m.body == "m1");
  CHECK(m["redelivered"] == "true");
  c->request("ACK", {{"message-id", m["message-id"]}, {"subscription", "s11"}});
  CHECK(c->sync().empty());
}

TEST_CASE("03 ack: STOMP 1.0 ACK uses message-id") {
  BrokerProcess broker;
  produce(broker, "/queue/v10ack", 3);
  {
    RawStomp c(broker.port());
    c.connect("");
    c.request("SUBSCRIBE", {{"destination", "/queue/v10ack"}, {"ack", "client"}});
    auto ms = c.messages(3);
    c.request("ACK", {{"message-id", ms[1]["message-id"]}});  // cumulative: m0 and m1
  }
  RawStomp c(broker.port());
  c.connect("");
  c.request("SUBSCRIBE", {{"destination", "/queue/v10ack"}, {"ack", "client"}});
  auto m = c.message();
  CHECK(m.body == "m2");
  CHECK(m["redelivered"] == "true");
  CHECK(c.sync().empty());
}

TEST_CASE("03 ack: NACK (1.2) returns the message, redelivered with redelivered:true") {
  BrokerProcess broker;
  produce(broker, "/queue/nack", 2);
  auto c = client(broker, "1.2");
  c->subscribe("/queue/nack", "s", "client-individual");
  auto ms = c->messages(2);
  c->request("NACK", {{"id", ms[0]["ack"]}});
  auto again = c->message();
  CHECK(again.body == "m0");
  CHECK(again["redelivered"] == "true");
  CHECK(again["message-id"] == ms[0]["message-id"]);
  c->request("ACK", {{"id", again["ack"]}});
  c->request("ACK", {{"id", ms[1]["ack"]}});
  CHECK(c->sync().empty());
  c.reset();
  // Everything was acked: a new consumer gets nothing old.
  produce(broker, "/queue/nack", 1, "fresh");
  auto d = client(broker, "1.2");
  d->subscribe("/queue/nack", "s", "client-individual");
  CHECK(d->message().body == "fresh0");
}

TEST_CASE("03 ack: NACK (1.1) uses message-id + subscription") {
  BrokerProcess broker;
  produce(broker, "/queue/nack11", 1);
  auto c = client(broker, "1.1");
  c->subscribe("/queue/nack11", "s", "client-individual");
  auto m = c->message();
  c->request("NACK", {{"message-id", m["message-id"]}, {"subscription", "s"}});
  auto again = c->message();
  CHECK(again.body == "m0");
  CHECK(again["redelivered"] == "true");
}

TEST_CASE("03 ack: NACK in client mode is cumulative") {
  BrokerProcess broker;
  produce(broker, "/queue/nackcum", 3);
  auto c = client(broker, "1.2");
  c->subscribe("/queue/nackcum", "s", "client");
  auto ms = c->messages(3);
  c->request("NACK", {{"id", ms[1]["ack"]}});  // m0 and m1 go back
  auto again = c->messages(2);
  std::set<std::string> back{again[0].body, again[1].body};
  CHECK(back == std::set<std::string>{"m0", "m1"});
  for (auto& m : again) CHECK(m["redelivered"] == "true");
  CHECK(c->sync().empty());
}

TEST_CASE("03 ack: unacked messages of a consumer that disconnects go to the other consumer") {
  BrokerProcess broker;
  auto stays = client(broker, "1.2");
  stays->subscribe("/queue/handover", "s", "client-individual", {{"activemq.prefetchSize", "1"}});
  auto leaves = std::make_unique<RawStomp>(broker.port());
  leaves->connect("1.2");
  leaves->subscribe("/queue/handover", "s", "client-individual", {{"activemq.prefetchSize", "1"}});
  produce(broker, "/queue/handover", 2);
  auto a = stays->message();
  auto b = leaves->message();
  std::set<std::string> seen{a.body, b.body};
  CHECK(seen == std::set<std::string>{"m0", "m1"});
  leaves.reset();  // vanishes with `b` unacked
  stays->request("ACK", {{"id", a["ack"]}});
  auto again = stays->message();
  CHECK(again.body == b.body);
  CHECK(again["redelivered"] == "true");
}

TEST_CASE("03 ack: after maximumRedeliveries NACKs the message goes to the DLQ") {
  BrokerConfig cfg;
  cfg.queue("maximumRedeliveries", "2").queue("deadLetterQueue", "/queue/DLQ");
  BrokerProcess broker(cfg);
  auto dlq = client(broker, "1.2");
  dlq->subscribe("/queue/DLQ", "dlq", "client-individual");
  produce(broker, "/queue/poison", 1, "poison");
  produce(broker, "/queue/poison", 1, "good");

  auto c = client(broker, "1.2");
  c->subscribe("/queue/poison", "s", "client-individual", {{"activemq.prefetchSize", "1"}});
  // First delivery plus maximumRedeliveries (2) redeliveries: three times in all.
  for (int delivery = 1; delivery <= 3; ++delivery) {
    INFO("delivery " << delivery);
    auto m = c->message();
    CHECK(m.body == "poison0");
    CHECK((m["redelivered"] == "true") == (delivery > 1));
    c->request("NACK", {{"id", m["ack"]}});
  }
  // Past the limit: the next message is the good one, and the poison is in the DLQ.
  auto next = c->message();
  CHECK(next.body == "good0");
  auto dead = dlq->message();
  CHECK(dead.body == "poison0");
  CHECK(dead["destination"] == "/queue/DLQ");
  CHECK(c->sync().empty());
}

TEST_CASE("03 ack: redeliveries caused by disconnects also count towards the DLQ") {
  BrokerConfig cfg;
  cfg.queue("maximumRedeliveries", "1").queue("deadLetterQueue", "/queue/Dead.Letters");
  BrokerProcess broker(cfg);
  produce(broker, "/queue/crashy", 1);
  for (int delivery = 1; delivery <= 2; ++delivery) {
    INFO("delivery " << delivery);
    auto c = client(broker, "1.2");
    c->subscribe("/queue/crashy", "s", "client");
    CHECK(c->message().body == "m0");
  }  // each consumer disconnects without ACK
  auto c = client(broker, "1.2");
  c->subscribe("/queue/crashy", "s", "client");
  CHECK(c->sync().empty());
  auto dlq = client(broker, "1.2");
  dlq->subscribe("/queue/Dead.Letters", "d");
  CHECK(dlq->message().body == "m0");
}
