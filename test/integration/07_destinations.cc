// 07 — destinations: queue load-balancing and prefetch, topic fan-out, expiry,
// priority, per-producer order, message ids.
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "common.h"

using namespace twinmq::test;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TEST_CASE("07 destinations: a queue load-balances round-robin among its subscribers") {
  BrokerProcess broker;
  auto a = client(broker, "1.2");
  auto b = client(broker, "1.2");
  auto c = client(broker, "1.1");
  a->subscribe("/queue/rr", "s");
  b->subscribe("/queue/rr", "s");
  c->subscribe("/queue/rr", "s");
  auto p = client(broker, "1.2");
  for (int i = 0; i < 30; ++i) p->send("/queue/rr", std::to_string(i));
  auto ga = a->messages(10);
  auto gb = b->messages(10);
  auto gc = c->messages(10);
  CHECK(a->sync().empty());
  CHECK(b->sync().empty());
  CHECK(c->sync().empty());
  std::set<std::string> all;
  for (auto* g : {&ga, &gb, &gc}) {
    for (auto& m : *g) all.insert(m.body);
  }
  CHECK(all.size() == 30);  // each message to exactly one consumer
}

TEST_CASE("07 destinations: activemq.prefetchSize=1 allows at most one unacked message") {
  BrokerProcess broker;
  auto c = client(broker, "1.2");
  c->subscribe("/queue/pf1", "s", "client-individual", {{"activemq.prefetchSize", "1"}});
  auto p = client(broker, "1.2");
  for (int i = 0; i < 3; ++i) p->send("/queue/pf1", "m" + std::to_string(i));
  for (int i = 0; i < 3; ++i) {
    INFO("message " << i);
    auto m = c->message();
    CHECK(m.body == "m" + std::to_string(i));
    CHECK_MESSAGE(c->sync().empty(), "a second message arrived while one was unacked");
    c->request("ACK", {{"id", m["ack"]}});
  }
  CHECK(c->sync().empty());
}

TEST_CASE("07 destinations: with prefetch 1 a busy consumer's share goes to the free one") {
  BrokerProcess broker;
  auto busy = client(broker, "1.2");
  auto free = client(broker, "1.2");
  busy->subscribe("/queue/pf.share", "s", "client-individual", {{"activemq.prefetchSize", "1"}});
  free->subscribe("/queue/pf.share", "s", "client-individual", {{"activemq.prefetchSize", "1"}});
  auto p = client(broker, "1.2");
  for (int i = 0; i < 6; ++i) p->send("/queue/pf.share", "m" + std::to_string(i));
  auto held = busy->message();  // never acked
  int free_got = 0;
  while (free_got < 5) {
    auto m = free->message();
    ++free_got;
    free->request("ACK", {{"id", m["ack"]}});
  }
  CHECK(busy->sync().empty());
  CHECK(free->sync().empty());
  CHECK(free_got == 5);
  (void)held;
}

TEST_CASE("07 destinations: client-ack prefetch window from the queue policy (queuePrefetch)") {
  BrokerConfig cfg;
  cfg.queue("queuePrefetch", "3");
  BrokerProcess broker(cfg);
  auto p = client(broker, "1.2");
  for (int i = 0; i < 5; ++i) p->send("/queue/pf3", "m" + std::to_string(i));
  auto c = client(broker, "1.2");
  c->subscribe("/queue/pf3", "s", "client");
  auto first = c->messages(3);
  CHECK_MESSAGE(c->sync().empty(), "more than queuePrefetch=3 unacked messages were dispatched");
  c->request("ACK", {{"id", first[2]["ack"]}});  // cumulative: frees the whole window
  auto rest = c->messages(2);
  CHECK(rest[0].body == "m3");
  CHECK(rest[1].body == "m4");
}

TEST_CASE("07 destinations: a queue keeps messages until a subscriber comes") {
  BrokerProcess broker;
  auto p = client(broker, "1.2");
  for (int i = 0; i < 5; ++i) p->send("/queue/waiting", "w" + std::to_string(i));
  auto c = client(broker, "1.2");
  c->subscribe("/queue/waiting", "s");
  CHECK(bodies(c->messages(5)) == std::vector<std::string>{"w0", "w1", "w2", "w3", "w4"});
}

TEST_CASE("07 destinations: a topic fans out to every current subscriber") {
  BrokerProcess broker;
  std::vector<std::unique_ptr<RawStomp>> subs;
  for (std::string v : {"1.0", "1.1", "1.2", "1.2"}) {
    subs.push_back(client(broker, v == "1.0" ? "" : v));
    if (v == "1.0") {
      subs.back()->request("SUBSCRIBE", {{"destination", "/topic/fan"}});
    } else {
      subs.back()->subscribe("/topic/fan", "t");
    }
  }
  auto p = client(broker, "1.2");
  for (int i = 0; i < 10; ++i) p->send("/topic/fan", "f" + std::to_string(i));
  for (auto& s : subs) {
    auto ms = s->messages(10);
    for (int i = 0; i < 10; ++i) CHECK(ms[static_cast<std::size_t>(i)].body == "f" + std::to_string(i));
    CHECK(s->sync().empty());
  }
}

TEST_CASE("07 destinations: a topic drops messages when nobody subscribes, and does not replay them") {
  BrokerProcess broker;
  auto p = client(broker, "1.2");
  p->send("/topic/void", "nobody hears this");
  auto s = client(broker, "1.2");
  s->subscribe("/topic/void", "t");
  p->send("/topic/void", "heard");
  CHECK(s->message().body == "heard");
  CHECK(s->sync().empty());
  // After UNSUBSCRIBE the topic is empty again.
  s->request("UNSUBSCRIBE", {{"id", "t"}});
  p->send("/topic/void", "dropped again");
  s->subscribe("/topic/void", "t2");
  p->send("/topic/void", "heard again");
  CHECK(s->message().body == "heard again");
  CHECK(s->sync().empty());
}

TEST_CASE("07 destinations: queues and topics with the same name are distinct") {
  BrokerProcess broker;
  auto q = client(broker, "1.2");
  auto t = client(broker, "1.2");
  q->subscribe("/queue/same", "q");
  t->subscribe("/topic/same", "t");
  auto p = client(broker, "1.2");
  p->send("/queue/same", "to queue");
  p->send("/topic/same", "to topic");
  CHECK(q->message().body == "to queue");
  CHECK(t->message().body == "to topic");
  CHECK(q->sync().empty());
  CHECK(t->sync().empty());
}

TEST_CASE("07 destinations: expires in the past is never delivered; 0 and the future are") {
  BrokerProcess broker;
  auto p = client(broker, "1.2");
  auto t = client(broker, "1.2");
  t->subscribe("/topic/exp", "t");
  p->send("/queue/exp", "expired", {{"expires", "1"}});
  p->send("/queue/exp", "expired-recently", {{"expires", std::to_string(now_ms() - 1000)}});
  p->send("/queue/exp", "never-expires", {{"expires", "0"}});
  const std::string future = std::to_string(now_ms() + 600'000);
  p->send("/queue/exp", "future", {{"expires", future}});
  p->send("/topic/exp", "expired-topic", {{"expires", "1"}});
  p->send("/topic/exp", "live-topic");
  auto c = client(broker, "1.2");
  c->subscribe("/queue/exp", "s");
  auto got = c->messages(2);
  CHECK(bodies(got) == std::vector<std::string>{"never-expires", "future"});
  CHECK(got[1]["expires"] == future);  // passed on to the consumer, as ActiveMQ does
  CHECK(c->sync().empty());
  CHECK(t->message().body == "live-topic");
  CHECK(t->sync().empty());
}

TEST_CASE("07 destinations: a message that expires while queued is not delivered") {
  BrokerProcess broker;
  auto p = client(broker, "1.2");
  p->send("/queue/exp.later", "short-lived", {{"expires", std::to_string(now_ms() + 300)}});
  p->send("/queue/exp.later", "durable");
  std::this_thread::sleep_for(Ms(600));  // let the clock pass the expiry (not synchronisation)
  auto c = client(broker, "1.2");
  c->subscribe("/queue/exp.later", "s");
  CHECK(c->message().body == "durable");
  CHECK(c->sync().empty());
}

TEST_CASE("07 destinations: a message that expires while unacked is not redelivered") {
  BrokerProcess broker;
  auto p = client(broker, "1.2");
  p->send("/queue/exp.unacked", "short-lived", {{"expires", std::to_string(now_ms() + 400)}});
  {
    auto c = client(broker, "1.2");
    c->subscribe("/queue/exp.unacked", "s", "client");
    CHECK(c->message().body == "short-lived");
    std::this_thread::sleep_for(Ms(700));  // expire while held
  }
  p->send("/queue/exp.unacked", "marker");
  auto c = client(broker, "1.2");
  c->subscribe("/queue/exp.unacked", "s", "client");
  CHECK(c->message().body == "marker");
  CHECK(c->sync().empty());
}

TEST_CASE("07 destinations: priority — higher first, FIFO within a priority") {
  BrokerProcess broker;
  auto p = client(broker, "1.2");
  const std::vector<std::pair<int, std::string>> sent = {
      {1, "p1-a"}, {9, "p9-a"}, {4, "p4-a"}, {9, "p9-b"}, {0, "p0-a"}, {4, "p4-b"}, {1, "p1-b"}};
  for (auto& [prio, body] : sent) p->send("/queue/prio", body, {{"priority", std::to_string(prio)}});
  auto c = client(broker, "1.2");
  c->subscribe("/queue/prio", "s");
  auto got = c->messages(7);
  CHECK(bodies(got) == std::vector<std::string>{"p9-a", "p9-b", "p4-a", "p4-b", "p1-a", "p1-b", "p0-a"});
  CHECK(got[0]["priority"] == "9");
}

TEST_CASE("07 destinations: a message without priority ranks as the JMS default, 4") {
  BrokerProcess broker;
  auto p = client(broker, "1.2");
  p->send("/queue/prio.default", "p3", {{"priority", "3"}});
  p->send("/queue/prio.default", "none");
  p->send("/queue/prio.default", "p4", {{"priority", "4"}});
  p->send("/queue/prio.default", "p5", {{"priority", "5"}});
  auto c = client(broker, "1.2");
  c->subscribe("/queue/prio.default", "s");
  CHECK(bodies(c->messages(4)) == std::vector<std::string>{"p5", "none", "p4", "p3"});
}

TEST_CASE("07 destinations: per-producer order is kept on a queue") {
  BrokerProcess broker;
  constexpr int kPerProducer = 300;
  auto c = client(broker, "1.2");
  c->subscribe("/queue/order", "s");
  auto a = client(broker, "1.2");
  auto b = client(broker, "1.1");
  std::string wa, wb;
  for (int i = 0; i < kPerProducer; ++i) {
    wa += frame_bytes("SEND", {{"destination", "/queue/order"}, {"producer", "A"}}, std::to_string(i));
    wb += frame_bytes("SEND", {{"destination", "/queue/order"}, {"producer", "B"}}, std::to_string(i));
  }
  // Interleave the two producers' writes in chunks.
  for (std::size_t off = 0; off < wa.size() || off < wb.size(); off += 997) {
    if (off < wa.size()) REQUIRE(a->send_raw(std::string_view(wa).substr(off, 997)));
    if (off < wb.size()) REQUIRE(b->send_raw(std::string_view(wb).substr(off, 997)));
  }
  std::map<std::string, int> next{{"A", 0}, {"B", 0}};
  for (int n = 0; n < 2 * kPerProducer; ++n) {
    auto m = c->message();
    const std::string who = m["producer"];
    REQUIRE_MESSAGE(next.contains(who), m.describe());
    CHECK_MESSAGE(m.body == std::to_string(next[who]), "producer " << who << " out of order: " << m.describe());
    next[who] = std::stoi(m.body) + 1;
  }
  CHECK(next["A"] == kPerProducer);
  CHECK(next["B"] == kPerProducer);
}

TEST_CASE("07 destinations: message ids are unique across destinations and connections") {
  BrokerProcess broker;
  auto c = client(broker, "1.2");
  c->subscribe("/queue/ids.a", "a");
  c->subscribe("/queue/ids.b", "b");
  c->subscribe("/topic/ids.t", "t");
  auto p1 = client(broker, "1.2");
  auto p2 = client(broker, "1.1");
  std::string w1, w2;
  for (int i = 0; i < 100; ++i) {
    w1 += frame_bytes("SEND", {{"destination", "/queue/ids.a"}}, "x");
    w1 += frame_bytes("SEND", {{"destination", "/topic/ids.t"}}, "x");
    w2 += frame_bytes("SEND", {{"destination", "/queue/ids.b"}}, "x");
  }
  REQUIRE(p1->send_raw(w1));
  REQUIRE(p2->send_raw(w2));
  std::set<std::string> ids;
  for (int i = 0; i < 300; ++i) {
    auto m = c->message();
    CHECK(m["message-id"].starts_with("ID:"));
    CHECK_MESSAGE(ids.insert(m["message-id"]).second, "duplicate message-id " << m["message-id"]);
  }
  CHECK(ids.size() == 300);
}

TEST_CASE("07 destinations: a destination without /queue/ or /topic/ is refused") {
  BrokerProcess broker;
  auto other = client(broker, "1.2");
  RawStomp c(broker.port());
  c.connect("1.2");
  c.send_frame("SEND", {{"destination", "no-prefix"}, {"receipt", "r"}}, "b");
  auto f = c.next_frame();
  check_error(f, "destination", {"no-prefix"});
  CHECK(c.wait_closed());
  other->send("/queue/fine", "ok");
}
