// 28 — who may connect and what they may do (README "Security"): wrong password, unknown
// user, hashed passwords (`twinmq hash-password`), the plain-text warning, anonymous
// access, listeners other hosts can reach, the authorization map (read, write, admin,
// wildcards), failed-login rate limiting, and the replication link's credentials and
// replicationGroup.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common.h"
#include "replication_support.h"

using namespace twinmq::test;

namespace {

// `printf 'PASSWORD\n' | twinmq hash-password`: the hash, or "" (the test then fails).
std::string hash_of(const std::string& password) {
  const std::string cmd = "printf '%s\\n' '" + password + "' | '" + twinmq_binary().string() + "' hash-password";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[512] = {};
  std::string out;
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  REQUIRE(::pclose(p) == 0);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::optional<ReceivedFrame> connect_as(BrokerProcess& b, const std::string& login, const std::string& passcode,
                                        std::unique_ptr<RawStomp>& c) {
  c = std::make_unique<RawStomp>(b.port());
  return c->try_connect("1.2", {{"login", login}, {"passcode", passcode}});
}

// alice reads orders, bob writes them, carol administers (creates) and writes; prices.*
// topics: alice reads, bob writes and creates.
BrokerConfig authorized_broker() {
  BrokerConfig cfg;
  cfg.users = {{"alice", "a-pw"}, {"bob", "b-pw"}, {"carol", "c-pw"}};
  cfg.user_groups = {{"alice", "consumers"}, {"bob", "producers"}, {"carol", "admins,producers"}};
  cfg.plugins_xml =
      "  <authorizationPlugin><map><authorizationMap><authorizationEntries>\n"
      "    <authorizationEntry queue=\"orders.>\" read=\"consumers\" write=\"producers\" admin=\"admins\"/>\n"
      "    <authorizationEntry topic=\"prices.*\" read=\"consumers\" write=\"producers\" admin=\"producers\"/>\n"
      "  </authorizationEntries></authorizationMap></map></authorizationPlugin>\n";
  return cfg;
}

}  // namespace

TEST_CASE("28 authentication: wrong password and unknown user get an ERROR; both are logged with user, peer, reason") {
  BrokerConfig cfg;
  cfg.users = {{"system", "manager"}};
  BrokerProcess b(cfg);
  std::unique_ptr<RawStomp> c;
  check_error(connect_as(b, "system", "wrong", c), "not authorized", {"user 'system'"});
  CHECK(c->wait_closed());
  check_error(connect_as(b, "nobody", "manager", c), "not authorized", {"user 'nobody'"});
  CHECK(c->wait_closed());
  CHECK(b.wait_for_output("[event=login_failed reason=wrong_password] connection", Ms(5000), true));
  CHECK(b.wait_for_output("login failed for user 'nobody'", Ms(5000), true));
  CHECK(b.wait_for_output("[event=login_failed reason=unknown_user]", Ms(5000), true));
  CHECK(b.wait_for_output("from 127.0.0.1:", Ms(5000), true));
  REQUIRE(connect_as(b, "system", "manager", c)->command == "CONNECTED");
}

TEST_CASE("28 authentication: a plain-text password works and logs a warning naming its user") {
  BrokerConfig cfg;
  cfg.users = {{"plainuser", "pw"}};
  BrokerProcess b(cfg);
  std::unique_ptr<RawStomp> c;
  REQUIRE(connect_as(b, "plainuser", "pw", c)->command == "CONNECTED");
  CHECK(b.wait_for_output("[event=plaintext_password] user 'plainuser'", Ms(5000), true));
}

TEST_CASE("28 authentication: a hashed password from `twinmq hash-password` logs in; frames sent with the CONNECT wait for it") {
  const std::string hash = hash_of("s3cret");
  REQUIRE(hash.starts_with("$y$"));
  BrokerConfig cfg;
  cfg.users = {{"hashed", hash}};
  BrokerProcess b(cfg);
  CHECK(b.log_text().find("[event=plaintext_password]") == std::string::npos);
  std::unique_ptr<RawStomp> c;
  check_error(connect_as(b, "hashed", "S3cret", c), "not authorized", {"user 'hashed'"});
  check_error(connect_as(b, "hashed", hash, c), "not authorized", {});  // the hash itself is not the password
  REQUIRE(connect_as(b, "hashed", "s3cret", c)->command == "CONNECTED");
  c->send("/queue/h", "one");  // waits for its RECEIPT
  // CONNECT, SEND and SUBSCRIBE in one write: the check runs on a worker, and what came
  // after the CONNECT is parsed once it is done.
  RawStomp p(b.port());
  p.send_raw(std::string("CONNECT\naccept-version:1.2\nhost:x\nlogin:hashed\npasscode:s3cret\n\n") + '\0' +
             "SUBSCRIBE\ndestination:/queue/h\nid:s1\n\n" + '\0' + "SEND\ndestination:/queue/h\nreceipt:r2\n\ntwo" +
             '\0');
  CHECK(p.expect("CONNECTED")["version"] == "1.2");
  const ReceivedFrame m = p.expect("MESSAGE");
  CHECK(m.body == "one");
  CHECK(m["subscription"] == "s1");
  bool receipt = false, two = false;
  for (int i = 0; i < 2; ++i) {
    const auto f = p.next_frame();
    REQUIRE(f.has_value());
    receipt = receipt || (f->command == "RECEIPT" && (*f)["receipt-id"] == "r2");
    two = two || (f->command == "MESSAGE" && f->body == "two");
  }
  CHECK(receipt);
  CHECK(two);
}

TEST_CASE("28 authentication: with users, a CONNECT without login is refused unless anonymousAccessAllowed") {
  BrokerConfig cfg;
  cfg.users = {{"system", "manager"}};
  {
    BrokerProcess b(cfg);
    RawStomp c(b.port());
    check_error(c.try_connect("1.2"), "not authorized", {"requires a login"});
    CHECK(b.wait_for_output("[event=login_failed reason=no_credentials]", Ms(5000), true));
  }
  cfg.auth_attributes = {{"anonymousAccessAllowed", "true"}};
  BrokerProcess b(cfg);
  RawStomp c(b.port());
  REQUIRE(c.try_connect("1.2")->command == "CONNECTED");
  CHECK(b.wait_for_output("connected as user 'anonymous'", Ms(5000), true));
  std::unique_ptr<RawStomp> wrong;
  check_error(connect_as(b, "system", "nope", wrong), "not authorized", {});  // a login given is still checked
}

TEST_CASE("28 authentication: a connector other hosts can reach, with no users, stops the start (exit 2, file:line)") {
  TempDir dir("auth-open");
  const auto file = dir.path() / "open.xml";
  auto write = [&](const std::string& plugins) {
    std::ofstream(file) << "<broker brokerName=\"open\" persistent=\"false\" dataDirectory=\"" << dir.path().string()
                        << "\">\n<transportConnectors>\n<transportConnector name=\"stomp\" uri=\"stomp://0.0.0.0:0\"/>\n"
                        << "</transportConnectors>\n" << plugins << "</broker>\n";
  };
  // 0.0.0.0 is every interface: refused by the configuration check, before anything binds.
  write("");
  auto p = BrokerProcess::spawn({"--config", file.string()});
  auto e = p->wait_exit(Ms(10'000));
  REQUIRE(e.has_value());
  CHECK(e->code == 2);
  p->wait_output_eof(Ms(2000));
  CHECK(p->log_text().find("open.xml:3: transportConnector 'stomp' listens on 0.0.0.0 (not loopback) and no "
                           "<authenticationUser> is configured") != std::string::npos);
  CHECK(p->stdout_text().find("listening") == std::string::npos);
  // Said explicitly, it is allowed (checked without starting, so nothing listens on every interface).
  write("<plugins><simpleAuthenticationPlugin anonymousAccessAllowed=\"true\"/></plugins>\n");
  auto ok = BrokerProcess::spawn({"--check-config", file.string()});
  auto e2 = ok->wait_exit(Ms(10'000));
  REQUIRE(e2.has_value());
  CHECK(e2->code == 0);
}

TEST_CASE("28 authorization: read, write and admin, granted and denied, with wildcards; refusals logged") {
  BrokerProcess b(authorized_broker());
  std::unique_ptr<RawStomp> alice, bob, carol;
  REQUIRE(connect_as(b, "alice", "a-pw", alice)->command == "CONNECTED");
  REQUIRE(connect_as(b, "bob", "b-pw", bob)->command == "CONNECTED");
  REQUIRE(connect_as(b, "carol", "c-pw", carol)->command == "CONNECTED");

  // bob may write orders but not create the queue; carol (admins) may.
  bob->send_frame("SEND", {{"destination", "/queue/orders.eu"}, {"receipt", "r"}}, "x");
  check_error(bob->next_frame(), "access denied", {"no admin right", "/queue/orders.eu", "user 'bob'"});
  CHECK(bob->wait_closed());
  carol->send("/queue/orders.eu", "first");  // waits for its RECEIPT
  REQUIRE(connect_as(b, "bob", "b-pw", bob)->command == "CONNECTED");
  bob->send("/queue/orders.eu", "second");  // waits for its RECEIPT

  // alice reads orders, may not write them; bob may not read them.
  alice->subscribe("/queue/orders.eu", "1");
  CHECK(alice->message().body == "first");
  CHECK(alice->message().body == "second");
  alice->send_frame("SEND", {{"destination", "/queue/orders.eu"}}, "no");
  check_error(alice->next_frame(), "access denied", {"no write right", "/queue/orders.eu", "user 'alice'"});
  bob->send_frame("SUBSCRIBE", {{"destination", "/queue/orders.eu"}, {"id", "1"}});
  check_error(bob->next_frame(), "access denied", {"no read right", "/queue/orders.eu"});

  // Wildcards: orders.> covers every depth; prices.* exactly one segment; nothing else is granted.
  REQUIRE(connect_as(b, "carol", "c-pw", carol)->command == "CONNECTED");
  carol->send("/queue/orders.eu.fr.paris", "deep");  // waits for its RECEIPT
  REQUIRE(connect_as(b, "bob", "b-pw", bob)->command == "CONNECTED");
  bob->send("/topic/prices.eur", "1.08");  // waits for its RECEIPT
  bob->send_frame("SEND", {{"destination", "/topic/prices.eur.usd"}}, "x");
  check_error(bob->next_frame(), "access denied", {"no write right", "/topic/prices.eur.usd"});
  REQUIRE(connect_as(b, "alice", "a-pw", alice)->command == "CONNECTED");
  alice->send_frame("SUBSCRIBE", {{"destination", "/queue/billing"}, {"id", "1"}});
  check_error(alice->next_frame(), "access denied", {"no read right", "/queue/billing"});

  // The log lines may trail the ERROR frames the clients saw: wait (bounded) for each one.
  CHECK(b.wait_for_output("user 'bob' may not send to /queue/orders.eu: no admin right", Ms(5000), true));
  CHECK(b.wait_for_output("[event=access_denied right=read]", Ms(5000), true));
  CHECK(b.wait_for_output("user 'alice' may not subscribe to /queue/billing", Ms(5000), true));
}

TEST_CASE("28 authentication: failed logins are rate-limited per address; the password is not even checked") {
  BrokerConfig cfg;
  cfg.users = {{"system", "manager"}};
  cfg.auth_attributes = {{"maximumFailedLogins", "3"}, {"failedLoginWindow", "60000"}};
  BrokerProcess b(cfg);
  std::unique_ptr<RawStomp> c;
  for (int i = 0; i < 3; ++i) check_error(connect_as(b, "system", "guess" + std::to_string(i), c), "not authorized", {});
  const auto refused = connect_as(b, "system", "manager", c);  // right, but too late
  check_error(refused, "too many failed logins", {"retry in"});
  CHECK(b.wait_for_output("[event=login_failed reason=rate_limited]", Ms(5000), true));
  CHECK(b.wait_for_output("too many failed logins from 127.0.0.1", Ms(5000), true));
}

TEST_CASE("28 replication: the slave proves its password with the master's challenge; the password never crosses the link") {
  const std::string password = "Pr00f-never-sent";
  for (const bool hashed : {true, false}) {
    CAPTURE(hashed);
    PairSpec spec;
    spec.users = {{"replica", hashed ? hash_of(password) : password}};
    spec.slave_credentials = std::pair<std::string, std::string>{"replica", password};
    ReplicaPair pair(spec);
    pair.start_master();
    // Every byte the slave sends goes through a proxy that keeps a copy.
    LinkProxy proxy(pair.replication_port());
    pair.start_slave("slave", proxy.port());  // accepted: waits for IN SYNC
    const std::string sent = proxy.sent_by_client();
    CHECK(sent.find("replica") != std::string::npos);  // the Hello went this way
    CHECK(sent.find(password) == std::string::npos);
    CHECK_FALSE(pair.master().wait_for_output("plaintext_replication_password", Ms(200), true));
  }
  // A wrong password, plain or hashed, proves nothing: 21 "wrong credentials" and the
  // case below (every slave answers the challenge now).
}

TEST_CASE("28 replication: a slave with a wrong (hashed) password, and one outside replicationGroup, are refused") {
  const std::string hash = hash_of("right");
  {
    PairSpec spec;
    spec.users = {{"replica", hash}};
    spec.user_groups = {{"replica", "replicas"}};
    spec.master_attrs = {{"replicationGroup", "replicas"}};
    spec.slave_credentials = std::pair<std::string, std::string>{"replica", "wrong"};
    ReplicaPair pair(spec);
    pair.start_master();
    BrokerProcess& s = pair.start_slave("slave", std::nullopt, false);
    auto e = s.wait_exit(Ms(10'000));
    REQUIRE_MESSAGE(e.has_value(), s.log_tail());
    CHECK(e->code == 5);
    s.wait_output_eof(Ms(2000));
    CHECK(s.wait_for_output("does not accept user 'replica'", Ms(5000), true));
    CHECK(pair.master().wait_for_output("[event=slave_refused]", Ms(5000), true));
  }
  {
    PairSpec spec;
    spec.users = {{"system", hash}, {"replica", hash}};
    spec.user_groups = {{"system", "admins"}, {"replica", "replicas"}};
    spec.master_attrs = {{"replicationGroup", "replicas"}};
    spec.slave_credentials = std::pair<std::string, std::string>{"system", "right"};
    ReplicaPair pair(spec);
    pair.start_master();
    BrokerProcess& s = pair.start_slave("slave", std::nullopt, false);
    auto e = s.wait_exit(Ms(10'000));
    REQUIRE_MESSAGE(e.has_value(), s.log_tail());
    CHECK(e->code == 5);
    s.wait_output_eof(Ms(2000));
    CHECK(s.wait_for_output("accepts only members of group 'replicas'", Ms(5000), true));
    CHECK(pair.master().wait_for_output("user 'system' is not one", Ms(5000), true));
  }
  {
    PairSpec spec;
    spec.users = {{"replica", hash}};
    spec.user_groups = {{"replica", "replicas"}};
    spec.master_attrs = {{"replicationGroup", "replicas"}};
    spec.slave_credentials = std::pair<std::string, std::string>{"replica", "right"};
    ReplicaPair pair(spec);
    pair.start_master();
    pair.start_slave();  // a member with the right password: waits for IN SYNC
  }
}
