// 11 — the project's own client library (twinmq/client.h, SyncClient) against the
// real broker: the same features seen through the API applications use.
#include <twinmq/client.h>

#include "common.h"

using namespace twinmq::test;
namespace tc = twinmq::client;

namespace {

tc::SyncClient connect_client(BrokerProcess& broker, std::string accept = "1.0,1.1,1.2",
                              tc::ConnectOptions options = {}) {
  options.accept_version = std::move(accept);
  auto c = tc::SyncClient::connect("127.0.0.1", broker.port(), options);
  if (!c) throw StompFailure("SyncClient::connect: " + c.error().message);
  return std::move(*c);
}

}  // namespace

TEST_CASE("11 client library: connect negotiates each version and reports the session") {
  BrokerProcess broker;
  for (auto [accept, version] : {std::pair{"1.0", twinmq::stomp::Version::v1_0},
                                 std::pair{"1.1", twinmq::stomp::Version::v1_1},
                                 std::pair{"1.0,1.1,1.2", twinmq::stomp::Version::v1_2}}) {
    INFO("accept-version " << accept);
    auto c = connect_client(broker, accept);
    CHECK(c.version() == version);
    CHECK_FALSE(c.session().empty());
    CHECK(contains_ci(c.server(), "twinmq"));
    CHECK(c.disconnect().has_value());
  }
}

TEST_CASE("11 client library: send, subscribe, receive, unsubscribe") {
  BrokerProcess broker;
  auto consumer = connect_client(broker);
  auto producer = connect_client(broker, "1.1");
  REQUIRE(consumer.subscribe("/queue/lib", "s").has_value());
  REQUIRE(producer.send("/queue/lib", "hello", {.headers = {{"x-app", "demo"}}}).has_value());
  auto m = consumer.receive(kWait);
  REQUIRE(m.has_value());
  CHECK(m->body == "hello");
  CHECK(m->destination == "/queue/lib");
  CHECK(m->subscription == "s");
  CHECK(m->message_id.starts_with("ID:"));
  CHECK(m->header("x-app") == "demo");
  CHECK_FALSE(m->redelivered);
  REQUIRE(consumer.unsubscribe("s").has_value());
  REQUIRE(producer.send("/queue/lib", "stays queued").has_value());
  CHECK_FALSE(consumer.receive(Ms(200)).has_value());
  auto other = connect_client(broker);
  REQUIRE(other.subscribe("/queue/lib", "s2").has_value());
  auto later = other.receive(kWait);
  REQUIRE(later.has_value());
  CHECK(later->body == "stays queued");
}

TEST_CASE("11 client library: client-individual ack and nack in every version that has them") {
  BrokerProcess broker;
  for (std::string accept : {"1.1", "1.2"}) {
    INFO("version " << accept);
    const std::string q = "/queue/lib.ack." + accept;
    auto producer = connect_client(broker);
    REQUIRE(producer.send(q, "a").has_value());
    REQUIRE(producer.send(q, "b").has_value());
    auto c = connect_client(broker, accept);
    REQUIRE(c.subscribe(q, "s", tc::AckMode::client_individual).has_value());
    auto a = c.receive(kWait);
    auto b = c.receive(kWait);
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    REQUIRE(c.ack(*b, {.receipt = true}).has_value());
    REQUIRE(c.nack(*a, {.receipt = true}).has_value());
    auto again = c.receive(kWait);
    REQUIRE(again.has_value());
    CHECK(again->body == "a");
    CHECK(again->redelivered);
    REQUIRE(c.ack(*again, {.receipt = true}).has_value());
    CHECK(c.disconnect().has_value());
    auto d = connect_client(broker);
    REQUIRE(d.subscribe(q, "s", tc::AckMode::client_individual).has_value());
    CHECK_FALSE(d.receive(Ms(200)).has_value());
  }
}

TEST_CASE("11 client library: STOMP 1.0 client ack; NACK is refused locally") {
  BrokerProcess broker;
  auto producer = connect_client(broker);
  REQUIRE(producer.send("/queue/lib.10", "m").has_value());
  auto c = connect_client(broker, "1.0");
  REQUIRE(c.subscribe("/queue/lib.10", "s", tc::AckMode::client).has_value());
  auto m = c.receive(kWait);
  REQUIRE(m.has_value());
  auto nack = c.nack(*m);
  REQUIRE_FALSE(nack.has_value());
  CHECK(nack.error().code == static_cast<int>(tc::Errc::bad_argument));
  CHECK(c.ack(*m, {.receipt = true}).has_value());
}

TEST_CASE("11 client library: transactions commit and abort") {
  BrokerProcess broker;
  auto consumer = connect_client(broker);
  REQUIRE(consumer.subscribe("/queue/lib.tx", "s").has_value());
  auto p = connect_client(broker);
  REQUIRE(p.begin("t1").has_value());
  REQUIRE(p.send("/queue/lib.tx", "committed", {.transaction = "t1"}).has_value());
  REQUIRE(p.begin("t2").has_value());
  REQUIRE(p.send("/queue/lib.tx", "aborted", {.transaction = "t2"}).has_value());
  CHECK_FALSE(consumer.receive(Ms(200)).has_value());
  REQUIRE(p.abort("t2").has_value());
  REQUIRE(p.commit("t1").has_value());
  auto m = consumer.receive(kWait);
  REQUIRE(m.has_value());
  CHECK(m->body == "committed");
  CHECK_FALSE(consumer.receive(Ms(200)).has_value());
}

TEST_CASE("11 client library: a broker ERROR fails the call and ends the connection") {
  BrokerProcess broker;
  auto c = connect_client(broker);
  auto r = c.commit("no-such-transaction");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(tc::Errc::server_error));
  CHECK(contains_ci(r.error().message, "no-such-transaction"));
  CHECK(c.wait_closed(kWait));
  auto after = c.send("/queue/x", "too late");
  CHECK_FALSE(after.has_value());
  REQUIRE(c.last_error().has_value());
}

TEST_CASE("11 client library: authentication") {
  BrokerConfig cfg;
  cfg.user("app", "secret");
  BrokerProcess broker(cfg);
  auto ok = tc::SyncClient::connect("127.0.0.1", broker.port(), {.login = "app", .passcode = "secret"});
  CHECK(ok.has_value());
  auto bad = tc::SyncClient::connect("127.0.0.1", broker.port(), {.login = "app", .passcode = "wrong"});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == static_cast<int>(tc::Errc::server_error));
}

TEST_CASE("11 client library: raw frames through send_raw/read_frame") {
  BrokerProcess broker;
  auto c = connect_client(broker);
  REQUIRE(c.send_raw(frame_bytes("FROBNICATE", {{"receipt", "r"}})).has_value());
  auto f = c.read_frame(kWait);
  REQUIRE(f.has_value());
  CHECK(f->command == twinmq::stomp::Command::error);
  CHECK(f->header("receipt-id") == "r");
  CHECK(c.wait_closed(kWait));
}
