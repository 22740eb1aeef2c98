// 01 — CONNECT / STOMP, version negotiation, CONNECTED headers, DISCONNECT,
// authentication.
#include "common.h"

using namespace twinmq::test;

TEST_CASE("01 connect: accept-version negotiates the highest common version") {
  BrokerProcess broker;
  struct Case {
    std::string accept;
    std::string expect;
  };
  for (const Case& c : {Case{"1.0", "1.0"}, Case{"1.1", "1.1"}, Case{"1.2", "1.2"}, Case{"1.0,1.1", "1.1"},
                        Case{"1.0,1.1,1.2", "1.2"}, Case{"1.2,1.0", "1.2"}, Case{"1.1,2.0", "1.1"}}) {
    INFO("accept-version:" << c.accept);
    RawStomp s(broker.port());
    auto connected = s.connect(c.accept);
    CHECK(connected["version"] == c.expect);
    // The negotiated version is in force: a SEND + SUBSCRIBE round trip works.
    s.subscribe("/queue/neg." + c.expect, "s1");
    s.send("/queue/neg." + c.expect, "hello " + c.accept);
    CHECK(s.message().body == "hello " + c.accept);
  }
}

TEST_CASE("01 connect: a CONNECT without accept-version is STOMP 1.0") {
  BrokerProcess broker;
  RawStomp s(broker.port());
  auto connected = s.connect("");  // a 1.0 client sends no accept-version
  CHECK(connected.header("version").value_or("1.0") == "1.0");
  CHECK_FALSE(connected["session"].empty());
  // 1.0 rules: SUBSCRIBE needs no id; the MESSAGE still names destination and message-id.
  s.request("SUBSCRIBE", {{"destination", "/queue/v10"}});
  s.send("/queue/v10", "one-oh");
  auto m = s.message();
  CHECK(m.body == "one-oh");
  CHECK(m["destination"] == "/queue/v10");
  CHECK(m["message-id"].starts_with("ID:"));
}

TEST_CASE("01 connect: no common version is an ERROR listing the supported ones, then close") {
  BrokerProcess broker;
  auto other = client(broker);  // an unrelated connection that must not be disturbed
  other->subscribe("/queue/undisturbed", "s");
  for (std::string accept : {"2.0", "0.9,3.1", "1.3"}) {
    INFO("accept-version:" << accept);
    RawStomp s(broker.port());
    auto f = s.try_connect(accept);
    check_error(f, "version", {"1.2"});
    // STOMP 1.2: the server's ERROR carries a version header listing what it supports.
    CHECK_MESSAGE(f->header("version").has_value(), "ERROR for a version mismatch should carry a version header");
    CHECK(s.wait_closed());
  }
  other->send("/queue/undisturbed", "still here");
  CHECK(other->message().body == "still here");
}

TEST_CASE("01 connect: STOMP frame works like CONNECT") {
  BrokerProcess broker;
  RawStomp s(broker.port());
  auto connected = s.connect("1.2", {}, "STOMP");
  CHECK(connected["version"] == "1.2");
  s.subscribe("/topic/stomp-frame", "t");
  s.send("/topic/stomp-frame", "via STOMP");
  CHECK(s.message().body == "via STOMP");
}

TEST_CASE("01 connect: CONNECTED carries version, server, session and heart-beat") {
  BrokerConfig cfg;
  cfg.set("transport.heartBeat", "4000");
  BrokerProcess broker(cfg);
  RawStomp a(broker.port());
  auto ca = a.connect("1.1,1.2", {{"login", "anyone"}, {"passcode", "x"}, {"heart-beat", "0,0"}});
  INFO(ca.describe());
  CHECK(ca["version"] == "1.2");
  CHECK_FALSE(ca["server"].empty());
  CHECK(contains_ci(ca["server"], "twinmq"));
  CHECK_FALSE(ca["session"].empty());
  CHECK(ca["heart-beat"] == "4000,4000");
  // Session ids are distinct per connection.
  RawStomp b(broker.port());
  auto cb = b.connect("1.1");
  CHECK(cb["version"] == "1.1");
  CHECK(cb["heart-beat"] == "4000,4000");
  CHECK(cb["session"] != ca["session"]);
}

TEST_CASE("01 connect: host header and login/passcode are accepted without authentication configured") {
  BrokerProcess broker;
  RawStomp s(broker.port());
  auto c = s.connect("1.2", {{"host", "some-virtual-host"}, {"login", "guest"}, {"passcode", "guest"}});
  CHECK(c["version"] == "1.2");
}

TEST_CASE("01 connect: DISCONNECT with a receipt gets the RECEIPT, then the broker closes") {
  BrokerProcess broker;
  for (std::string version : {"", "1.1", "1.2"}) {
    INFO("version " << (version.empty() ? "1.0" : version));
    RawStomp s(broker.port());
    s.connect(version);
    s.send_frame("DISCONNECT", {{"receipt", "bye-77"}});
    auto r = s.expect("RECEIPT");
    CHECK(r["receipt-id"] == "bye-77");
    CHECK(s.wait_closed());
  }
}

TEST_CASE("01 connect: messages sent before DISCONNECT are all delivered") {
  BrokerProcess broker;
  {
    RawStomp p(broker.port());
    p.connect("1.2");
    // No receipts on the SENDs: only the DISCONNECT receipt says they were processed.
    for (int i = 0; i < 50; ++i) p.send_frame("SEND", {{"destination", "/queue/before-bye"}}, std::to_string(i));
    p.send_frame("DISCONNECT", {{"receipt", "bye"}});
    CHECK(p.expect("RECEIPT")["receipt-id"] == "bye");
  }
  auto c = client(broker);
  c->subscribe("/queue/before-bye", "s");
  auto got = c->messages(50);
  for (int i = 0; i < 50; ++i) CHECK(got[static_cast<std::size_t>(i)].body == std::to_string(i));
}

TEST_CASE("01 connect: authentication when users are configured") {
  BrokerConfig cfg;
  cfg.user("alice", "secret").user("bob", "hunter2");
  BrokerProcess broker(cfg);

  auto ok = std::make_unique<RawStomp>(broker.port());
  CHECK(ok->connect("1.2", {{"login", "alice"}, {"passcode", "secret"}})["version"] == "1.2");
  ok->subscribe("/queue/auth", "s");

  struct Bad {
    std::string what;
    KeyValues headers;
  };
  for (const Bad& bad : {Bad{"no credentials", {}}, Bad{"wrong password", {{"login", "alice"}, {"passcode", "nope"}}},
                         Bad{"unknown user", {{"login", "mallory"}, {"passcode", "secret"}}},
                         Bad{"another user's password", {{"login", "bob"}, {"passcode", "secret"}}}}) {
    INFO(bad.what);
    RawStomp s(broker.port());
    auto f = s.try_connect("1.2", bad.headers);
    REQUIRE(f.has_value());
    CHECK(f->command == "ERROR");
    CHECK_FALSE((*f)["message"].empty());
    CHECK_FALSE(f->body.empty());
    CHECK(s.wait_closed());
  }
  // The good session was not disturbed.
  RawStomp b(broker.port());
  b.connect("1.1", {{"login", "bob"}, {"passcode", "hunter2"}});
  b.send("/queue/auth", "from bob");
  CHECK(ok->message().body == "from bob");
}

TEST_CASE("01 connect: CONNECT headers are not unescaped (login with a backslash)") {
  // STOMP 1.2: CONNECT and CONNECTED frames never use escaping, so "a\cb" is literally
  // those four characters and must match a user configured with that name.
  BrokerConfig cfg;
  cfg.user("a\\cb", "p\\\\w");
  BrokerProcess broker(cfg);
  RawStomp s(broker.port());
  CHECK(s.connect("1.2", {{"login", "a\\cb"}, {"passcode", "p\\\\w"}})["version"] == "1.2");
  RawStomp t(broker.port());
  auto f = t.try_connect("1.2", {{"login", "a:b"}, {"passcode", "p\\w"}});
  REQUIRE(f.has_value());
  CHECK(f->command == "ERROR");
}
