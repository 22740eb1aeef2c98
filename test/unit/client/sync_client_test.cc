// SyncClient against the in-process FakeBroker: what each call puts on the wire,
// how replies, errors and closes come back, and that every wait is bounded.
#include <doctest.h>

#include <chrono>
#include <string>

#include "fake_broker.h"
#include "twinmq/client.h"

using namespace std::chrono_literals;
using namespace std::string_literals;
using namespace twinmq;
using namespace twinmq::client;
using twinmq::test::FakeBehaviour;
using twinmq::test::FakeBroker;

namespace {

SyncClient connect_to(const FakeBroker& b, ConnectOptions o = {}) {
  auto c = SyncClient::connect("127.0.0.1", b.port(), std::move(o));
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().message));
  return std::move(*c);
}

Errc code_of(const Error& e) { return static_cast<Errc>(e.code); }

}  // namespace

TEST_CASE("connect negotiates the version and sends the CONNECT headers asked for") {
  FakeBroker b;
  auto c = connect_to(b, {.login = "user", .passcode = "secret", .client_id = "cid-1",
                          .headers = {{"x-extra", "1"}}});
  CHECK(c.version() == stomp::Version::v1_2);
  CHECK(c.session() == "fake-session-1");
  CHECK(c.server() == "fake/1.0");
  auto connects = b.frames(stomp::Command::connect);
  REQUIRE(connects.size() == 1);
  CHECK(connects[0].header("accept-version") == "1.0,1.1,1.2");
  CHECK(connects[0].header("host") == "127.0.0.1");
  CHECK(connects[0].header("login") == "user");
  CHECK(connects[0].header("passcode") == "secret");
  CHECK(connects[0].header("client-id") == "cid-1");
  CHECK(connects[0].header("x-extra") == "1");
  CHECK_FALSE(connects[0].header("heart-beat").has_value());  // none offered: none sent
}

TEST_CASE("a server without a version header is STOMP 1.0") {
  FakeBroker b({.version = ""});
  auto c = connect_to(b);
  CHECK(c.version() == stomp::Version::v1_0);
}

TEST_CASE("send writes destination, persistent, content-length and extra headers, and waits for its receipt") {
  FakeBroker b;
  auto c = connect_to(b);
  const std::string body("a\0b", 3);  // a NUL inside: only content-length can carry it
  REQUIRE(c.send("/queue/a", body, {.headers = {{"priority", "7"}}, .persistent = true}));
  auto sends = b.frames(stomp::Command::send);
  REQUIRE(sends.size() == 1);
  CHECK(sends[0].header("destination") == "/queue/a");
  CHECK(sends[0].header("persistent") == "true");
  CHECK(sends[0].header("content-length") == "3");
  CHECK(sends[0].header("priority") == "7");
  CHECK(sends[0].header("receipt").has_value());
  CHECK(sends[0].body == body);

  SUBCASE("fire-and-forget carries no receipt and is on the wire when send returns") {
    REQUIRE(c.send("/queue/a", "x", {.receipt = false}));
    REQUIRE(c.send("/queue/a", "y"));  // receipted: everything before it has arrived
    sends = b.frames(stomp::Command::send);
    REQUIRE(sends.size() == 3);
    CHECK_FALSE(sends[1].header("receipt").has_value());
    CHECK_FALSE(sends[1].header("persistent").has_value());
    CHECK(sends[1].header("content-length") == "1");
  }
}

TEST_CASE("subscribe, receive and ACK/NACK with the ids each version wants") {
  std::string version;
  SUBCASE("1.2") { version = "1.2"; }
  SUBCASE("1.1") { version = "1.1"; }
  SUBCASE("1.0") { version = ""; }
  CAPTURE(version);
  FakeBroker b({.version = version});
  auto c = connect_to(b);
  REQUIRE(c.subscribe("/queue/x", "s1", AckMode::client_individual, {{"activemq.prefetchSize", "5"}}));
  auto subs = b.frames(stomp::Command::subscribe);
  REQUIRE(subs.size() == 1);
  CHECK(subs[0].header("id") == "s1");
  CHECK(subs[0].header("ack") == "client-individual");
  CHECK(subs[0].header("activemq.prefetchSize") == "5");

  REQUIRE(c.send("/queue/x", "hello", {.headers = {{"color", "red"}}}));
  auto m = c.receive(5s);
  REQUIRE(m.has_value());
  CHECK(m->body == "hello");
  CHECK(m->destination == "/queue/x");
  CHECK(m->message_id == "m-1");
  CHECK(m->subscription == "s1");
  CHECK(m->header("color") == "red");
  CHECK_FALSE(m->redelivered);
  CHECK(m->ack_id == (version == "1.2" ? "a-1" : "m-1"));

  REQUIRE(c.ack(*m, {.receipt = true}));
  auto acks = b.frames(stomp::Command::ack);
  REQUIRE(acks.size() == 1);
  if (version == "1.2") {
    CHECK(acks[0].header("id") == "a-1");
    CHECK_FALSE(acks[0].header("message-id").has_value());
  } else if (version == "1.1") {
    CHECK(acks[0].header("message-id") == "m-1");
    CHECK(acks[0].header("subscription") == "s1");
  } else {
    CHECK(acks[0].header("message-id") == "m-1");
    CHECK_FALSE(acks[0].header("subscription").has_value());
  }

  auto nacked = c.nack(*m, {.transaction = "t1", .receipt = true});
  if (version.empty()) {
    REQUIRE_FALSE(nacked);
    CHECK(code_of(nacked.error()) == Errc::bad_argument);
  } else {
    REQUIRE(nacked);
    auto nacks = b.frames(stomp::Command::nack);
    REQUIRE(nacks.size() == 1);
    CHECK(nacks[0].header("transaction") == "t1");
  }
}

TEST_CASE("an ERROR fails the waiting call with its message and body; the broker then closes") {
  FakeBroker b;
  auto c = connect_to(b);
  auto sent = c.send("/queue/error", "x");
  REQUIRE_FALSE(sent);
  CHECK(code_of(sent.error()) == Errc::server_error);
  CHECK(sent.error().message.find("destination refused") != std::string::npos);
  CHECK(sent.error().message.find("you sent to /queue/error") != std::string::npos);
  REQUIRE(c.last_error().has_value());
  CHECK(c.last_error()->message == sent.error().message);
  CHECK(c.wait_closed(5s));
  auto f = c.read_frame(0ms);  // the ERROR stays readable for protocol tests
  REQUIRE(f.has_value());
  CHECK(f->command == stomp::Command::error);
  CHECK(f->header("message") == "destination refused");
  auto again = c.send("/queue/a", "y");
  REQUIRE_FALSE(again);
  CHECK(code_of(again.error()) == Errc::server_error);
}

TEST_CASE("a refused CONNECT is an Error carrying the broker's message") {
  FakeBroker b({.connect_error = "bad credentials"});
  auto c = SyncClient::connect("127.0.0.1", b.port());
  REQUIRE_FALSE(c);
  CHECK(code_of(c.error()) == Errc::server_error);
  CHECK(c.error().message.find("bad credentials") != std::string::npos);
}

TEST_CASE("nothing listening: connect_failed names the address") {
  const std::uint16_t port = twinmq::test::closed_port();
  auto c = SyncClient::connect("127.0.0.1", port);
  REQUIRE_FALSE(c);
  CHECK(code_of(c.error()) == Errc::connect_failed);
  CHECK(c.error().message.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

TEST_CASE("an unresolvable host is resolve_failed") {
  auto c = SyncClient::connect("no-such-host.invalid", 61613);
  REQUIRE_FALSE(c);
  CHECK(code_of(c.error()) == Errc::resolve_failed);
}

TEST_CASE("a CONNECT left unanswered times out at the deadline") {
  FakeBroker b({.answer_connect = false});
  auto c = SyncClient::connect("127.0.0.1", b.port(), {.timeout = 200ms});
  REQUIRE_FALSE(c);
  CHECK(code_of(c.error()) == Errc::timeout);
  CHECK(c.error().message.find("CONNECTED") != std::string::npos);
}

TEST_CASE("transactions: BEGIN, SEND in it, COMMIT and ABORT are each receipted") {
  FakeBroker b;
  auto c = connect_to(b);
  REQUIRE(c.begin("tx1"));
  REQUIRE(c.send("/queue/t", "in tx", {.transaction = "tx1"}));
  REQUIRE(c.commit("tx1"));
  REQUIRE(c.begin("tx2"));
  REQUIRE(c.abort("tx2"));
  auto begins = b.frames(stomp::Command::begin);
  REQUIRE(begins.size() == 2);
  CHECK(begins[0].header("transaction") == "tx1");
  CHECK(begins[0].header("receipt").has_value());
  CHECK(b.frames(stomp::Command::send)[0].header("transaction") == "tx1");
  CHECK(b.frames(stomp::Command::commit)[0].header("transaction") == "tx1");
  CHECK(b.frames(stomp::Command::abort)[0].header("transaction") == "tx2");
}

TEST_CASE("unsubscribe is receipted; the subscription then gets nothing") {
  FakeBroker b;
  auto c = connect_to(b);
  REQUIRE(c.subscribe("/topic/news", "n1"));
  REQUIRE(c.unsubscribe("n1"));
  CHECK(b.frames(stomp::Command::unsubscribe)[0].header("id") == "n1");
  REQUIRE(c.send("/topic/news", "nobody listens"));
  CHECK_FALSE(c.receive(50ms).has_value());
}

TEST_CASE("heart-beats flow both ways at the negotiated interval") {
  FakeBroker b({.heart_beat = "50,50", .beat_every_ms = 50});
  auto c = connect_to(b, {.heart_beat_send_ms = 50, .heart_beat_recv_ms = 50});
  CHECK(c.heart_beat_send_ms() == 50);
  CHECK(c.heart_beat_expect_ms() == 50);
  CHECK(b.frames(stomp::Command::connect)[0].header("heart-beat") == "50,50");
  // Idle for a while (bounded): our beats reach the broker, and its beats keep us open.
  for (int i = 0; i < 100 && b.heart_beats_received() < 4; ++i) c.receive(20ms);
  CHECK(b.heart_beats_received() >= 4);
  CHECK_FALSE(c.is_closed());
}

TEST_CASE("a broker that promised heart-beats and fell silent is dropped") {
  FakeBroker b({.heart_beat = "40,0"});  // promises a beat every 40 ms, sends none
  auto c = connect_to(b, {.heart_beat_recv_ms = 40});
  CHECK(c.heart_beat_expect_ms() == 40);
  CHECK(c.heart_beat_send_ms() == 0);
  REQUIRE(c.wait_closed(5s));
  REQUIRE(c.last_error().has_value());
  CHECK(c.last_error()->message.find("heart-beat") != std::string::npos);
}

TEST_CASE("disconnect waits for its receipt, then the connection is closed") {
  FakeBroker b;
  auto c = connect_to(b);
  REQUIRE(c.disconnect());
  CHECK(c.is_closed());
  CHECK_FALSE(c.last_error().has_value());
  auto d = b.frames(stomp::Command::disconnect);
  REQUIRE(d.size() == 1);
  CHECK(d[0].header("receipt").has_value());
  CHECK(c.disconnect());  // again: nothing to do
  auto after = c.send("/queue/a", "late");
  REQUIRE_FALSE(after);
  CHECK(code_of(after.error()) == Errc::connection_closed);
}

TEST_CASE("send_raw and read_frame: frames the client did not ask for stay readable") {
  FakeBroker b;
  auto c = connect_to(b);
  REQUIRE(c.send_raw("SUBSCRIBE\nid:raw\ndestination:/queue/r\nreceipt:mine\n\n\0"s));
  auto f = c.read_frame(5s);
  REQUIRE(f.has_value());
  CHECK(f->command == stomp::Command::receipt);
  CHECK(f->header("receipt-id") == "mine");
  CHECK_FALSE(c.read_frame(20ms).has_value());
}

TEST_CASE("receive gives up at its timeout") {
  FakeBroker b;
  auto c = connect_to(b);
  CHECK_FALSE(c.receive(30ms).has_value());
  CHECK_FALSE(c.is_closed());
}

TEST_CASE("bytes that are not STOMP close the connection as a protocol error") {
  FakeBroker b({.garbage_after_connect = true});
  auto c = SyncClient::connect("127.0.0.1", b.port());
  if (!c) {  // the garbage may arrive in the same read as CONNECTED
    CHECK(code_of(c.error()) == Errc::protocol_error);
    return;
  }
  REQUIRE(c->wait_closed(5s));
  REQUIRE(c->last_error().has_value());
  CHECK(code_of(*c->last_error()) == Errc::protocol_error);
}

TEST_CASE("a moved-from client can be replaced by another") {
  FakeBroker b;
  auto c = connect_to(b);
  SyncClient d = std::move(c);
  REQUIRE(d.send("/queue/m", "moved"));
  d = connect_to(b);
  REQUIRE(d.send("/queue/m", "replaced"));
  CHECK(b.connections_accepted() == 2);
}

TEST_CASE("receive with a zero timeout returns at once when nothing is there") {
  // The deadline timer fires inside the non-blocking turn; run_until must not block after it.
  FakeBroker b;
  auto c = connect_to(b);
  REQUIRE(c.subscribe("/queue/empty", "s"));
  CHECK_FALSE(c.receive(0ms).has_value());
  CHECK_FALSE(c.read_frame(0ms).has_value());
}

TEST_CASE("duplicate_ids: a SyncClient numbers its SENDs with _AMQ_DUPL_ID only when asked") {
  FakeBroker b;
  {
    auto plain = connect_to(b);
    REQUIRE(plain.send("/queue/a", "no id"));
  }
  auto c = connect_to(b, {.duplicate_ids = true});
  REQUIRE(c.send("/queue/a", "1"));
  REQUIRE(c.send("/queue/a", "2"));
  REQUIRE(c.send("/queue/a", "3", {.headers = {{"_AMQ_DUPL_ID", "business-key"}}}));
  const auto sends = b.frames(stomp::Command::send);
  REQUIRE(sends.size() == 4);
  CHECK_FALSE(sends[0].header(kDuplicateIdHeader).has_value());
  const std::string one(*sends[1].header(kDuplicateIdHeader)), two(*sends[2].header(kDuplicateIdHeader));
  CHECK(one.ends_with(":1"));
  CHECK(two.ends_with(":2"));
  CHECK(one.substr(0, 32) == two.substr(0, 32));
  CHECK(sends[3].header(kDuplicateIdHeader) == "business-key");
}
