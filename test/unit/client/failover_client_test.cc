// FailoverClient against in-process FakeBrokers: a broker "dies" when its FakeBroker
// is destroyed (every socket closes). What the next broker sees on the wire tells
// what was restored and re-sent. initialReconnectDelay=1 keeps the back-off short;
// nothing here waits on a clock.
#include <doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../../support/wait_until.h"
#include "fake_broker.h"
#include "twinmq/failover.h"

using namespace std::chrono_literals;
using namespace twinmq;
using namespace twinmq::client;
using twinmq::test::FakeBehaviour;
using twinmq::test::FakeBroker;

namespace {

std::string member(std::uint16_t port) { return "tcp://127.0.0.1:" + std::to_string(port); }

std::string pair_uri(std::uint16_t a, std::uint16_t b, std::string_view options = "") {
  return "failover:(" + member(a) + "," + member(b) + ")?randomize=false&initialReconnectDelay=1" +
         std::string(options);
}

struct Events {
  std::vector<FailoverEvent> all;
  FailoverListener listener() {
    return [this](const FailoverEvent& e) { all.push_back(e); };
  }
  std::size_t count(FailoverEventKind k) const {
    return static_cast<std::size_t>(std::count_if(all.begin(), all.end(), [&](auto& e) { return e.kind == k; }));
  }
  const FailoverEvent* last(FailoverEventKind k) const {
    for (auto it = all.rbegin(); it != all.rend(); ++it)
      if (it->kind == k) return &*it;
    return nullptr;
  }
};

FailoverClient connect_ok(const std::string& uri, Events& ev, ConnectOptions o = {}) {
  o.timeout = 5000ms;
  auto c = FailoverClient::connect(uri, std::move(o), ev.listener());
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().message));
  return std::move(*c);
}

Errc code_of(const Error& e) { return static_cast<Errc>(e.code); }

std::vector<std::string> bodies(const std::vector<twinmq::test::RecordedFrame>& frames) {
  std::vector<std::string> out;
  for (const auto& f : frames) out.push_back(f.body);
  return out;
}

}  // namespace

TEST_CASE("a lost connection moves to the next broker, re-subscribes and re-sends unreceipted sends in order") {
  auto a = std::make_unique<FakeBroker>(FakeBehaviour{.answer_send = false});
  FakeBroker b;
  Events ev;
  auto c = connect_ok(pair_uri(a->port(), b.port()), ev, {.login = "app", .passcode = "pw"});
  CHECK(c.broker() == member(a->port()));
  CHECK(c.connection_number() == 1);
  REQUIRE(c.subscribe("/queue/x", "s1", AckMode::client_individual, {{"selector", "k = 1"}}));
  for (std::string body : {"one", "two", "three"}) REQUIRE(c.send("/queue/x", body, {.receipt = false}));
  CHECK(c.unconfirmed_sends() == 3);  // a never answers SENDs
  const std::string first = member(a->port());
  a.reset();                          // the broker dies

  REQUIRE(c.send("/queue/x", "four"));  // receipted by b
  CHECK(c.broker() == member(b.port()));
  CHECK(c.connection_number() == 2);
  CHECK(c.unconfirmed_sends() == 0);

  auto connects = b.frames(stomp::Command::connect);
  REQUIRE(connects.size() == 1);
  CHECK(connects[0].header("login") == "app");
  CHECK(connects[0].header("passcode") == "pw");
  auto subs = b.frames(stomp::Command::subscribe);
  REQUIRE(subs.size() == 1);
  CHECK(subs[0].header("id") == "s1");
  CHECK(subs[0].header("ack") == "client-individual");
  CHECK(subs[0].header("selector") == "k = 1");
  CHECK(bodies(b.frames(stomp::Command::send)) == std::vector<std::string>{"one", "two", "three", "four"});
  // Subscriptions were restored before anything was re-sent.
  const auto all = b.frames();
  const auto first_send = std::find_if(all.begin(), all.end(), [](auto& f) { return f.command == stomp::Command::send; });
  const auto the_sub = std::find_if(all.begin(), all.end(), [](auto& f) { return f.command == stomp::Command::subscribe; });
  CHECK(the_sub < first_send);

  REQUIRE(ev.all.size() >= 3);
  CHECK(ev.all.front().kind == FailoverEventKind::connected);
  REQUIRE(ev.last(FailoverEventKind::connection_lost));
  CHECK(ev.last(FailoverEventKind::connection_lost)->broker == first);
  CHECK(ev.all.front().broker == first);
  const FailoverEvent* re = ev.last(FailoverEventKind::reconnected);
  REQUIRE(re);
  CHECK(re->broker == member(b.port()));
  CHECK(re->resubscribed == 1);
  CHECK(re->resent == 4);
  CHECK(re->attempts >= 1);

  // b delivers to the restored subscription; the message says which connection.
  auto m = c.receive(2000ms);
  REQUIRE(m.has_value());
  CHECK(m->body == "one");
  CHECK(m->connection == 2);
  REQUIRE(c.ack(*m, {.receipt = true}));
  CHECK(b.frames(stomp::Command::ack).size() == 1);
  REQUIRE(c.disconnect());
  CHECK(c.is_finished());
}

TEST_CASE("an ack for a message delivered before the failover is not sent to the new broker") {
  auto a = std::make_unique<FakeBroker>();
  FakeBroker b;
  Events ev;
  auto c = connect_ok(pair_uri(a->port(), b.port()), ev);
  REQUIRE(c.subscribe("/queue/y", "s", AckMode::client));
  REQUIRE(c.send("/queue/y", "m1"));  // the fake delivers before it receipts
  REQUIRE(c.send("/queue/y", "m2"));
  auto m = c.receive(2000ms);
  REQUIRE(m.has_value());
  CHECK(m->connection == 1);
  a.reset();
  REQUIRE(c.send("/queue/elsewhere", "noticed"));  // fails over to b
  CHECK(c.connection_number() == 2);
  // m2 was still in the client (client ack): dropped at the failover, counted.
  REQUIRE(ev.last(FailoverEventKind::connection_lost));
  CHECK(ev.last(FailoverEventKind::connection_lost)->dropped == 1);
  CHECK(c.ack(*m).has_value());  // nothing to acknowledge any more: ok, but reported
  REQUIRE(ev.last(FailoverEventKind::ack_dropped));
  CHECK(ev.last(FailoverEventKind::ack_dropped)->reason.find("redelivers") != std::string::npos);
  CHECK_FALSE(c.receive(50ms).has_value());  // nothing stale comes out
  CHECK(b.frames(stomp::Command::ack).empty());
  CHECK(b.frames(stomp::Command::subscribe).size() == 1);
}

TEST_CASE("a transaction open at the failover fails its next call; abort of it is ok") {
  auto a = std::make_unique<FakeBroker>();
  FakeBroker b;
  Events ev;
  auto c = connect_ok(pair_uri(a->port(), b.port()), ev);
  REQUIRE(c.begin("tx1"));
  REQUIRE(c.send("/queue/t", "in-tx", {.transaction = "tx1"}));
  REQUIRE(c.begin("tx2"));
  a.reset();
  auto sent = c.send("/queue/t", "more", {.transaction = "tx1"});
  REQUIRE_FALSE(sent.has_value());
  CHECK(code_of(sent.error()) == Errc::transaction_rolled_back);
  CHECK(sent.error().message.find("'tx1' was rolled back") != std::string::npos);
  auto committed = c.commit("tx1");
  REQUIRE_FALSE(committed.has_value());
  CHECK(code_of(committed.error()) == Errc::transaction_rolled_back);
  CHECK(c.abort("tx2").has_value());
  // Nothing of either transaction reached the new broker.
  CHECK(b.frames(stomp::Command::send).empty());
  CHECK(b.frames(stomp::Command::commit).empty());
  CHECK(b.frames(stomp::Command::abort).empty());
  // A new transaction works as usual.
  REQUIRE(c.begin("tx3"));
  REQUIRE(c.send("/queue/t", "again", {.transaction = "tx3"}));
  REQUIRE(c.commit("tx3"));
  CHECK(b.frames(stomp::Command::commit).size() == 1);
}

TEST_CASE("maxReconnectAttempts exhausted gives a clear error and finishes the client") {
  auto a = std::make_unique<FakeBroker>();
  const std::uint16_t nobody = twinmq::test::closed_port();
  Events ev;
  auto c = connect_ok(pair_uri(a->port(), nobody, "&maxReconnectAttempts=2"), ev);
  a.reset();
  auto r = c.send("/queue/z", "x");
  REQUIRE_FALSE(r.has_value());
  CHECK(code_of(r.error()) == Errc::reconnect_exhausted);
  CHECK(r.error().message.find("maxReconnectAttempts=2") != std::string::npos);
  CHECK(r.error().message.find("will not be re-sent") != std::string::npos);
  CHECK(c.is_finished());
  CHECK(ev.count(FailoverEventKind::attempt_failed) == 4);  // 2 passes x 2 brokers
  CHECK(ev.count(FailoverEventKind::gave_up) == 1);
  CHECK(code_of(c.send("/queue/z", "y").error()) == Errc::reconnect_exhausted);
}

TEST_CASE("maxReconnectAttempts=0 never reconnects; a plain URI neither") {
  auto a = std::make_unique<FakeBroker>();
  FakeBroker b;
  Events ev;
  SUBCASE("failover with 0") {
    auto c = connect_ok(pair_uri(a->port(), b.port(), "&maxReconnectAttempts=0"), ev);
    a.reset();
    auto r = c.send("/queue/z", "x");
    REQUIRE_FALSE(r.has_value());
    CHECK(code_of(r.error()) == Errc::reconnect_exhausted);
    CHECK(r.error().message.find("maxReconnectAttempts=0") != std::string::npos);
  }
  SUBCASE("plain URI") {
    auto c = connect_ok(member(a->port()), ev);
    a.reset();
    auto r = c.send("/queue/z", "x");
    REQUIRE_FALSE(r.has_value());
    CHECK(code_of(r.error()) == Errc::connection_closed);
    CHECK(r.error().message.find("does not reconnect") != std::string::npos);
  }
  CHECK(b.connections_accepted() == 0);
}

TEST_CASE("the first connection: startupMaxReconnectAttempts bounds it, and it falls through to the second broker") {
  FakeBroker b;
  const std::uint16_t nobody = twinmq::test::closed_port();
  Events ev;
  auto c = connect_ok(pair_uri(nobody, b.port()), ev);
  CHECK(c.broker() == member(b.port()));
  CHECK(ev.count(FailoverEventKind::attempt_failed) == 1);

  auto none = FailoverClient::connect(pair_uri(nobody, nobody, "&startupMaxReconnectAttempts=1"));
  REQUIRE_FALSE(none.has_value());
  CHECK(code_of(none.error()) == Errc::reconnect_exhausted);
  CHECK(none.error().message.find("startupMaxReconnectAttempts=1") != std::string::npos);
  CHECK(none.error().message.find("127.0.0.1:" + std::to_string(nobody)) != std::string::npos);

  auto plain = FailoverClient::connect(member(nobody));
  REQUIRE_FALSE(plain.has_value());
  CHECK(code_of(plain.error()) == Errc::connect_failed);
}

TEST_CASE("timeout=N fails a send when no broker comes back, and the client keeps trying") {
  auto a = std::make_unique<FakeBroker>();
  const std::uint16_t nobody = twinmq::test::closed_port();
  Events ev;
  auto c = connect_ok(pair_uri(a->port(), nobody, "&timeout=100&maxReconnectDelay=20"), ev);
  a.reset();
  auto r = c.send("/queue/z", "x");
  REQUIRE_FALSE(r.has_value());
  CHECK(code_of(r.error()) == Errc::timeout);
  CHECK(r.error().message.find("timeout=100") != std::string::npos);
  CHECK_FALSE(c.is_finished());
  CHECK(c.unconfirmed_sends() == 0);  // a failed send is not re-sent later
  auto again = c.send("/queue/z", "y");
  CHECK(code_of(again.error()) == Errc::timeout);
}

TEST_CASE("an ERROR to CONNECT or to a SEND ends the client; it is not a failover") {
  FakeBroker b;
  SUBCASE("CONNECT refused") {
    FakeBroker refusing({.connect_error = "bad credentials"});
    auto c = FailoverClient::connect(pair_uri(refusing.port(), b.port()));
    REQUIRE_FALSE(c.has_value());
    CHECK(code_of(c.error()) == Errc::server_error);
    CHECK(c.error().message.find("refused CONNECT: bad credentials") != std::string::npos);
    CHECK(b.connections_accepted() == 0);
  }
  SUBCASE("SEND refused") {
    FakeBroker a;
    Events ev;
    auto c = connect_ok(pair_uri(a.port(), b.port()), ev);
    auto r = c.send("/queue/error", "x");
    REQUIRE_FALSE(r.has_value());
    CHECK(code_of(r.error()) == Errc::server_error);
    CHECK(r.error().message.find("destination refused") != std::string::npos);
    CHECK(c.is_finished());
    CHECK(b.connections_accepted() == 0);
  }
}

TEST_CASE("the ERROR 'not serving' of a fenced broker is a failover: the send goes to the other broker") {
  FakeBroker a({.fence_on_send = true});
  FakeBroker b;
  Events ev;
  auto c = connect_ok(pair_uri(a.port(), b.port()), ev);
  // The broker fences itself while this SEND waits for its receipt: it answers with the
  // ERROR and closes; the client moves on and the SEND is confirmed by b.
  REQUIRE(c.send("/queue/x", "x"));
  CHECK_FALSE(c.is_finished());
  CHECK(c.broker() == member(b.port()));
  CHECK(bodies(b.frames(stomp::Command::send)) == std::vector<std::string>{"x"});
  const FailoverEvent* lost = ev.last(FailoverEventKind::connection_lost);
  REQUIRE(lost);
  CHECK(lost->reason.find("not serving") != std::string::npos);
}

TEST_CASE("unsubscribe across a failover does not restore the subscription") {
  auto a = std::make_unique<FakeBroker>();
  FakeBroker b;
  Events ev;
  auto c = connect_ok(pair_uri(a->port(), b.port()), ev);
  REQUIRE(c.subscribe("/queue/u", "keep"));
  REQUIRE(c.subscribe("/queue/v", "gone"));
  a.reset();
  REQUIRE(c.unsubscribe("gone"));
  auto subs = b.frames(stomp::Command::subscribe);
  REQUIRE(subs.size() == 1);
  CHECK(subs[0].header("id") == "keep");
  CHECK(b.frames(stomp::Command::unsubscribe).empty());
}

TEST_CASE("silence past the heart-beat interval is a lost connection too") {
  // a promises beats every 50 ms and sends none; b keeps its promise.
  FakeBroker a({.heart_beat = "50,0"});
  FakeBroker b({.heart_beat = "20,0", .beat_every_ms = 20});
  Events ev;
  auto c = connect_ok(pair_uri(a.port(), b.port()), ev, {.heart_beat_recv_ms = 50});
  REQUIRE(c.subscribe("/queue/hb", "s"));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (c.connection_number() < 2 && std::chrono::steady_clock::now() < deadline) (void)c.receive(100ms);
  REQUIRE(c.connection_number() == 2);
  REQUIRE(ev.last(FailoverEventKind::connection_lost));
  CHECK(ev.last(FailoverEventKind::connection_lost)->reason.find("heart-beat") != std::string::npos);
  CHECK(c.broker() == member(b.port()));
  CHECK(b.frames(stomp::Command::subscribe).size() == 1);
}

TEST_CASE("every SEND carries an _AMQ_DUPL_ID, and its re-send after a failover carries the same one") {
  auto a = std::make_unique<FakeBroker>(FakeBehaviour{.answer_send = false});
  FakeBroker b;
  Events ev;
  auto c = connect_ok(pair_uri(a->port(), b.port()), ev);
  for (std::string body : {"one", "two"}) REQUIRE(c.send("/queue/x", body, {.receipt = false}));
  // An application's own id (a business key) is kept as it is.
  REQUIRE(c.send("/queue/x", "mine", {.headers = {{"_AMQ_DUPL_ID", "order-17"}}, .receipt = false}));
  REQUIRE(twinmq::test::wait_until(5s, [&] { return a->frames(stomp::Command::send).size() == 3; },
                                   "the three SENDs on the first broker"));
  const auto before = a->frames(stomp::Command::send);
  a.reset();
  REQUIRE(c.send("/queue/x", "three"));

  const auto after = b.frames(stomp::Command::send);
  REQUIRE(after.size() == 4);
  for (std::size_t i = 0; i < 3; ++i) {
    REQUIRE(before[i].header(kDuplicateIdHeader).has_value());
    CHECK(after[i].header(kDuplicateIdHeader) == before[i].header(kDuplicateIdHeader));
  }
  CHECK(after[2].header(kDuplicateIdHeader) == "order-17");
  std::string one(*after[0].header(kDuplicateIdHeader)), two(*after[1].header(kDuplicateIdHeader)),
      three(*after[3].header(kDuplicateIdHeader));
  // "<prefix>:<n>": one prefix per client, a new number per SEND.
  CHECK(one.substr(0, one.find(':')) == three.substr(0, three.find(':')));
  CHECK(one.size() == 32 + 2);
  CHECK(one != two);
  CHECK(two != three);
  // Exactly one _AMQ_DUPL_ID header per frame.
  for (const auto& f : after)
    CHECK(std::count_if(f.headers.begin(), f.headers.end(), [](auto& h) { return h.first == kDuplicateIdHeader; }) ==
          1);
  // Another client has another prefix.
  Events ev2;
  auto d = connect_ok(pair_uri(b.port(), b.port()), ev2);
  REQUIRE(d.send("/queue/x", "other client"));
  const std::string other(*b.frames(stomp::Command::send).back().header(kDuplicateIdHeader));
  CHECK(other.substr(0, other.find(':')) != one.substr(0, one.find(':')));
}

TEST_CASE("duplicate_ids = false: a FailoverClient sends no _AMQ_DUPL_ID") {
  FakeBroker b;
  Events ev;
  auto c = connect_ok(pair_uri(b.port(), b.port()), ev, {.duplicate_ids = false});
  REQUIRE(c.send("/queue/x", "plain"));
  CHECK_FALSE(b.frames(stomp::Command::send).at(0).header(kDuplicateIdHeader).has_value());
}

TEST_CASE("a broker lost while DISCONNECT waits for its receipt: the client fails over and disconnects there") {
  auto a = std::make_unique<FakeBroker>(FakeBehaviour{.answer_send = false, .answer_disconnect = false});
  FakeBroker b;
  Events ev;
  auto c = connect_ok(pair_uri(a->port(), b.port()), ev);
  REQUIRE(c.send("/queue/x", "unconfirmed", {.receipt = false}));
  REQUIRE(twinmq::test::wait_until(5s, [&] { return a->frames(stomp::Command::disconnect).size() == 0 &&
                                                    a->frames(stomp::Command::send).size() == 1; },
                                   "the SEND on the first broker"));
  // DISCONNECT goes to a, which never answers; a dies meanwhile (from another thread,
  // as a crash would).
  std::thread killer([&] {
    twinmq::test::wait_until(5s, [&] { return a->frames(stomp::Command::disconnect).size() == 1; },
                             "DISCONNECT on the first broker");
    a.reset();
  });
  auto r = c.disconnect();
  killer.join();
  REQUIRE_MESSAGE(r.has_value(), r.error().message);
  CHECK(bodies(b.frames(stomp::Command::send)) == std::vector<std::string>{"unconfirmed"});
  CHECK(b.frames(stomp::Command::disconnect).size() == 1);
  CHECK(c.is_finished());
}
